//! `Signature-Input` and `Signature` as RFC 9651 structured fields, read and
//! written with `sfv`: the `tc` member of each, and the serialization of
//! the signature parameters that goes into the signature base.

use sfv::{
    BareItem, DictSerializer, Dictionary, Integer, Item, KeyRef, ListEntry, ListSerializer,
    Parameters, Parser, StringRef, key_ref,
};

use super::{HttpSignatureError, SIGNATURE_LABEL};

pub(super) const LABEL: &KeyRef = key_ref(SIGNATURE_LABEL);
pub(super) const CREATED: &KeyRef = key_ref("created");
pub(super) const KEYID: &KeyRef = key_ref("keyid");
pub(super) const ALG: &KeyRef = key_ref("alg");
pub(super) const NONCE: &KeyRef = key_ref("nonce");
pub(super) const TAG: &KeyRef = key_ref("tag");

/// The `tc` members of the two headers: the covered components with their
/// parameters, and the signature bytes (not yet length-checked).
pub(super) fn tc_members(
    signature_input: &str,
    signature: &str,
) -> Result<(sfv::InnerList, Vec<u8>), HttpSignatureError> {
    let inputs = parse_dictionary(signature_input, "Signature-Input is not a dictionary")?;
    let signatures = parse_dictionary(signature, "Signature is not a dictionary")?;
    let (Some(input), Some(signature)) = (inputs.get(LABEL), signatures.get(LABEL)) else {
        return Err(HttpSignatureError::Missing);
    };
    let ListEntry::InnerList(input) = input else {
        return Err(HttpSignatureError::Malformed(
            "the tc signature input is not an inner list",
        ));
    };
    let bytes = match signature {
        ListEntry::Item(Item { bare_item, params }) if params.is_empty() => {
            bare_item.as_byte_sequence()
        }
        _ => None,
    }
    .ok_or(HttpSignatureError::Malformed(
        "the tc signature is not a byte sequence without parameters",
    ))?;
    Ok((input.clone(), bytes.to_vec()))
}

fn parse_dictionary(text: &str, reason: &'static str) -> Result<Dictionary, HttpSignatureError> {
    Parser::new(text)
        .parse()
        .map_err(|_| HttpSignatureError::Malformed(reason))
}

/// The RFC 9651 serialization of an inner list with its parameters: the
/// `@signature-params` value, and the `tc` member of `Signature-Input`.
pub(super) fn serialize_inner_list(inner: &sfv::InnerList) -> Result<String, HttpSignatureError> {
    let mut list = ListSerializer::new();
    {
        let mut items = list.inner_list();
        items.items(&inner.items);
        let _ = items.finish().parameters(&inner.params);
    }
    list.finish().ok_or(HttpSignatureError::Malformed(
        "the signature input does not serialize",
    ))
}

/// The `Signature` header: `tc=:<base64>:`.
pub(super) fn serialize_signature(signature: &[u8]) -> Result<String, HttpSignatureError> {
    let mut dict = DictSerializer::new();
    let _ = dict.bare_item(LABEL, signature);
    dict.finish().ok_or(HttpSignatureError::Malformed(
        "the signature does not serialize",
    ))
}

/// An inner list of strings, for the covered components.
pub(super) fn string_items(names: &[&str]) -> Result<Vec<Item>, HttpSignatureError> {
    names
        .iter()
        .map(|name| Ok(Item::new(sf_string(name)?)))
        .collect()
}

/// A string parameter value; refuses what a structured-field string cannot
/// hold (anything but printable ASCII).
pub(super) fn sf_string(text: &str) -> Result<BareItem, HttpSignatureError> {
    StringRef::from_str(text)
        .map(BareItem::from)
        .map_err(|_| HttpSignatureError::Malformed("a parameter is not printable ASCII"))
}

/// An integer parameter value; refuses one beyond the 15 digits of a
/// structured-field integer.
pub(super) fn sf_integer(value: u64) -> Result<BareItem, HttpSignatureError> {
    Integer::try_from(value)
        .map(BareItem::from)
        .map_err(|_| HttpSignatureError::Malformed("created is beyond 15 digits"))
}

/// The parameters, in the order they are sent.
pub(super) fn parameters(
    entries: impl IntoIterator<Item = (&'static KeyRef, BareItem)>,
) -> Parameters {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inner_list_serializes_in_canonical_form_keeping_parameter_order() {
        let inner = sfv::InnerList::with_params(
            string_items(&["@method", "@path"]).unwrap(),
            parameters([
                (CREATED, sf_integer(7).unwrap()),
                (ALG, sf_string("ed25519").unwrap()),
            ]),
        );
        assert_eq!(
            serialize_inner_list(&inner).unwrap(),
            r#"("@method" "@path");created=7;alg="ed25519""#
        );
    }

    #[test]
    fn the_signature_header_is_a_byte_sequence_under_tc() {
        assert_eq!(serialize_signature(&[0, 1, 2]).unwrap(), "tc=:AAEC:");
    }

    #[test]
    fn values_a_structured_field_cannot_hold_are_refused() {
        assert!(sf_string("é").is_err());
        assert!(sf_string("a\nb").is_err());
        assert!(sf_integer(999_999_999_999_999).is_ok());
        assert!(sf_integer(1_000_000_000_000_000).is_err());
        assert!(sf_integer(u64::MAX).is_err());
    }

    #[test]
    fn the_tc_members_are_found_among_other_labels() {
        let (inner, bytes) = tc_members(
            r#"sig1=("@method");created=1, tc=("@path");created=2"#,
            "tc=:AAEC:, sig1=:AA==:",
        )
        .unwrap();
        assert_eq!(
            serialize_inner_list(&inner).unwrap(),
            r#"("@path");created=2"#
        );
        assert_eq!(bytes, [0, 1, 2]);
    }

    #[test]
    fn a_label_other_than_tc_is_no_signature() {
        for (input, signature) in [
            (r#"sig1=("@method");created=1"#, "sig1=:AA==:"),
            (r#"tc=("@method");created=1"#, "sig1=:AA==:"),
            (r#"sig1=("@method");created=1"#, "tc=:AA==:"),
            ("", ""),
        ] {
            assert_eq!(
                tc_members(input, signature),
                Err(HttpSignatureError::Missing),
                "{input} / {signature}"
            );
        }
    }

    /// RFC 9651 (section 4.2.7) asks parsers to accept base64 without its
    /// padding; the bytes, which are what is verified, are the same.
    #[test]
    fn an_unpadded_signature_decodes_to_the_same_bytes() {
        let input = r#"tc=("@method");created=1"#;
        let (_, padded) = tc_members(input, "tc=:AAEC:").unwrap();
        let (_, unpadded) = tc_members(input, "tc=:AAE:").unwrap();
        assert_eq!(padded, [0, 1, 2]);
        assert_eq!(unpadded, [0, 1]);
    }

    #[test]
    fn members_of_the_wrong_type_are_malformed() {
        let input = r#"tc=("@method");created=1"#;
        for (input, signature) in [
            ("tc=1", "tc=:AA==:"),
            (r#"tc="@method""#, "tc=:AA==:"),
            (input, "tc=(:AA==:)"),
            (input, "tc=\"AA==\""),
            (input, "tc=:AA==:;x=1"),
            (input, "tc=:!!:"),
            (r#"tc=("@method""#, "tc=:AA==:"),
            (input, "tc=:AA==:,"),
        ] {
            assert!(
                matches!(
                    tc_members(input, signature),
                    Err(HttpSignatureError::Malformed(_))
                ),
                "{input} / {signature}"
            );
        }
    }
}
