//! The velocity check straight against Redis: a refusal leaves no count
//! behind, whichever window refused, since the windows are checked in two
//! steps (one per Redis Cluster slot).

use uuid::Uuid;

use super::settings::Settings;
use super::velocity::{Admitted, Subjects, admit};
use crate::codes::Claimant;
use crate::error::ApiError;
use crate::state::AppState;
use crate::testing::spawn_app;

fn who(customer: Uuid, terminal: Uuid) -> Subjects {
    Subjects {
        customer: customer.into(),
        // One device per customer here: its limit is not under test.
        device: customer.into(),
        terminal: terminal.into(),
    }
}

/// A redemption of its own, no copy of another.
async fn admit_one(
    state: &AppState,
    settings: &Settings,
    who: &Subjects,
    amount: i64,
) -> Result<Admitted, ApiError> {
    admit(state, settings, who, amount, Claimant::unique()).await
}

fn refused_by(result: Result<Admitted, ApiError>) -> String {
    match result {
        Ok(_) => "admitted".to_owned(),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_redemption_the_terminal_refuses_is_not_counted_against_the_customer() {
    let app = spawn_app().await;
    let state = app.state();
    let settings = Settings {
        customer_max_count: 2,
        terminal_max_count: 1,
        ..Settings::default()
    };
    let (ana, till_1, till_2) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    admit_one(&state, &settings, &who(ana, till_1), 5)
        .await
        .unwrap();
    let second = refused_by(admit_one(&state, &settings, &who(ana, till_1), 5).await);
    assert!(second.contains("terminal"), "{second}");
    // Had the refused one stayed in Ana's window, this would be her third.
    admit_one(&state, &settings, &who(ana, till_2), 5)
        .await
        .unwrap();
    let fourth = refused_by(admit_one(&state, &settings, &who(ana, Uuid::new_v4()), 5).await);
    assert!(fourth.contains("customer"), "{fourth}");
}

#[tokio::test]
async fn a_redemption_the_customer_limit_refuses_is_not_counted_against_the_terminal() {
    let app = spawn_app().await;
    let state = app.state();
    let settings = Settings {
        customer_max_count: 1,
        terminal_max_count: 2,
        ..Settings::default()
    };
    let (ana, bo, till) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    admit_one(&state, &settings, &who(ana, till), 5)
        .await
        .unwrap();
    let again = refused_by(admit_one(&state, &settings, &who(ana, till), 5).await);
    assert!(again.contains("customer"), "{again}");
    // The till's second admitted redemption, not its third.
    admit_one(&state, &settings, &who(bo, till), 5)
        .await
        .unwrap();
    let full = refused_by(admit_one(&state, &settings, &who(Uuid::new_v4(), till), 5).await);
    assert!(full.contains("terminal"), "{full}");
}

#[tokio::test]
async fn the_amount_limit_counts_only_admitted_redemptions() {
    let app = spawn_app().await;
    let state = app.state();
    let settings = Settings {
        customer_max_amount: 100,
        terminal_max_count: 1,
        ..Settings::default()
    };
    let (ana, till_1) = (Uuid::new_v4(), Uuid::new_v4());
    admit_one(&state, &settings, &who(ana, till_1), 60)
        .await
        .unwrap();
    // Refused by the till; its 30 must not count towards Ana's 100.
    let refused = refused_by(admit_one(&state, &settings, &who(ana, till_1), 30).await);
    assert!(refused.contains("terminal"), "{refused}");
    admit_one(&state, &settings, &who(ana, Uuid::new_v4()), 40)
        .await
        .unwrap();
    let over = refused_by(admit_one(&state, &settings, &who(ana, Uuid::new_v4()), 1).await);
    assert!(over.contains("customer"), "{over}");
}

#[tokio::test]
async fn a_copy_of_an_admitted_request_is_admitted_again_without_being_counted_twice() {
    let app = spawn_app().await;
    let state = app.state();
    let settings = Settings {
        device_max_count: 1,
        ..Settings::default()
    };
    let (ana, till) = (Uuid::new_v4(), Uuid::new_v4());
    let sale = Claimant::unique();
    admit(&state, &settings, &who(ana, till), 5, sale)
        .await
        .unwrap();
    // The same sale again (a till's retry) is still the one redemption.
    admit(&state, &settings, &who(ana, till), 5, sale)
        .await
        .unwrap();
    let another = refused_by(admit_one(&state, &settings, &who(ana, till), 5).await);
    assert!(another.contains("this device"), "{another}");
}

#[tokio::test]
async fn a_redemption_taken_back_frees_its_place_in_every_window() {
    let app = spawn_app().await;
    let state = app.state();
    let settings = Settings {
        device_max_count: 1,
        terminal_max_count: 1,
        ..Settings::default()
    };
    let (ana, till) = (Uuid::new_v4(), Uuid::new_v4());
    admit_one(&state, &settings, &who(ana, till), 5)
        .await
        .unwrap()
        .take_back(&state)
        .await;
    admit_one(&state, &settings, &who(ana, till), 5)
        .await
        .unwrap();
}
