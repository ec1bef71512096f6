//! A scanner or a person that changes, drops or adds one character never
//! turns a valid code into another code that works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use tillcode_protocol::{
    DeviceHandle, LinkCode, MerchantId, NumericCode, NumericHandle, OfflineToken, OnlineKey,
    PaymentCode,
};
use uuid::Uuid;

fn merchant() -> MerchantId {
    MerchantId::from_uuid(Uuid::from_u128(0x0190_f3c2_6a8e_7b3d_9c41_5e2a_7d1b_8f00))
}

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&std::array::from_fn(|i| i as u8))
}

fn offline_payload() -> String {
    OfflineToken::sign(
        &signing_key(),
        merchant(),
        DeviceHandle([0x8d; 8]),
        1_795_000_000_123,
        [1, 2, 3, 4],
    )
    .payload()
}

#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, char),
    Delete(usize),
    Insert(usize, char),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Characters a scanner or a keyboard could plausibly produce.
    let ch = prop_oneof![
        proptest::char::range('A', 'Z'),
        proptest::char::range('a', 'z'),
        proptest::char::range('0', '9'),
        Just(' '),
        Just('='),
        Just('\n'),
        Just('\u{a0}'),
        Just('é'),
    ];
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), ch).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// Applies `edit` to ASCII `text` (positions taken modulo its length).
fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    match *edit {
        Edit::Replace(i, c) => chars[i % n] = c,
        Edit::Delete(i) => {
            chars.remove(i % n);
        }
        Edit::Insert(i, c) => chars.insert(i % (n + 1), c),
        Edit::Truncate(i) => chars.truncate(i % n),
    }
    chars.into_iter().collect()
}

proptest! {
    #[test]
    fn an_edited_offline_token_is_refused_or_fails_verification(edit in edit()) {
        let original = offline_payload();
        let edited = apply(&original, &edit);
        prop_assume!(edited != original);
        let key = signing_key().verifying_key();
        let outcome = OfflineToken::parse(&edited).and_then(|t| t.verify(merchant(), &key));
        prop_assert!(outcome.is_err(), "{edit:?} gave a verifying token");
    }

    #[test]
    fn an_edited_online_key_is_refused_or_is_another_key(edit in edit()) {
        let key = OnlineKey::from_bytes([0x5a; 16]);
        let original = key.payload();
        let edited = apply(&original, &edit);
        prop_assume!(edited != original);
        // Another well-formed key is possible (its fingerprint is simply not
        // stored); the original key must never come back.
        match PaymentCode::parse(&edited) {
            Ok(PaymentCode::Online(other)) => prop_assert_ne!(other, key),
            Ok(other) => prop_assert!(false, "{edit:?} gave {other:?}"),
            Err(_) => {}
        }
    }

    #[test]
    fn an_edited_link_code_is_refused_or_is_another_code(edit in edit()) {
        let link = LinkCode::from_bytes([0xa5; 16]);
        let original = link.payload();
        let edited = apply(&original, &edit);
        prop_assume!(edited != original);
        if let Ok(other) = LinkCode::parse(&edited) {
            prop_assert_ne!(other, link);
        }
    }

    #[test]
    fn a_numeric_code_with_one_digit_changed_dropped_or_added_is_refused(
        position in 0usize..18,
        digit in 0u32..10,
        kind in 0u8..3,
    ) {
        let handle = NumericHandle::new(123_456_789).unwrap();
        let digits = NumericCode::generate(handle, &[9; 32], 1_795_000_000).digits();
        let mut edited: Vec<char> = digits.chars().collect();
        let d = char::from_digit(digit, 10).unwrap();
        match kind {
            0 => edited[position] = d,
            1 => { edited.remove(position); }
            _ => edited.insert(position, d),
        }
        let edited: String = edited.into_iter().collect();
        prop_assume!(edited != digits);
        prop_assert!(PaymentCode::parse(&edited).is_err(), "{edited}");
    }

    #[test]
    fn a_numeric_code_with_adjacent_digits_swapped_is_refused_unless_they_are_0_and_9(
        secret in any::<[u8; 32]>(),
        position in 0usize..17,
    ) {
        let handle = NumericHandle::new(987_654_321).unwrap();
        let digits = NumericCode::generate(handle, &secret, 1_795_000_000).digits();
        let mut edited = digits.clone().into_bytes();
        edited.swap(position, position + 1);
        let pair = [digits.as_bytes()[position], digits.as_bytes()[position + 1]];
        prop_assume!(pair[0] != pair[1] && pair != *b"09" && pair != *b"90");
        let edited = String::from_utf8(edited).unwrap();
        prop_assert!(PaymentCode::parse(&edited).is_err(), "{edited}");
    }
}
