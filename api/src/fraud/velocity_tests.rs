//! The velocity check straight against Redis: a refusal leaves no count
//! behind, whichever window refused, since the windows are checked in two
//! steps (one per Redis Cluster slot).

use uuid::Uuid;

use super::settings::Settings;
use super::velocity::{Subjects, admit};
use crate::testing::spawn_app;

fn who(customer: Uuid, terminal: Uuid) -> Subjects {
    Subjects {
        customer,
        // One device per customer here: its limit is not under test.
        device: customer,
        terminal,
    }
}

fn refused_by(result: Result<(), crate::error::ApiError>) -> String {
    match result {
        Ok(()) => "admitted".to_owned(),
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
    admit(&state, &settings, &who(ana, till_1), 5)
        .await
        .unwrap();
    let second = refused_by(admit(&state, &settings, &who(ana, till_1), 5).await);
    assert!(second.contains("terminal"), "{second}");
    // Had the refused one stayed in Ana's window, this would be her third.
    admit(&state, &settings, &who(ana, till_2), 5)
        .await
        .unwrap();
    let fourth = refused_by(admit(&state, &settings, &who(ana, Uuid::new_v4()), 5).await);
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
    admit(&state, &settings, &who(ana, till), 5).await.unwrap();
    let again = refused_by(admit(&state, &settings, &who(ana, till), 5).await);
    assert!(again.contains("customer"), "{again}");
    // The till's second admitted redemption, not its third.
    admit(&state, &settings, &who(bo, till), 5).await.unwrap();
    let full = refused_by(admit(&state, &settings, &who(Uuid::new_v4(), till), 5).await);
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
    admit(&state, &settings, &who(ana, till_1), 60)
        .await
        .unwrap();
    // Refused by the till; its 30 must not count towards Ana's 100.
    let refused = refused_by(admit(&state, &settings, &who(ana, till_1), 30).await);
    assert!(refused.contains("terminal"), "{refused}");
    admit(&state, &settings, &who(ana, Uuid::new_v4()), 40)
        .await
        .unwrap();
    let over = refused_by(admit(&state, &settings, &who(ana, Uuid::new_v4()), 1).await);
    assert!(over.contains("customer"), "{over}");
}
