//! QR renderings of a payload: PNG, SVG and text for a terminal.
//!
//! Every Tillcode payload is uppercase base32 behind a `TC1x` prefix (or the
//! 18 bare digits of a numeric code, without the spaces people read it
//! with: keyboard-wedge scanners mangle spaces), all inside the QR
//! alphanumeric set, so it is encoded as one alphanumeric segment (5.5 bits
//! a character) at error-correction level M (15 % of the symbol can be
//! damaged): the smallest version that holds it, 1 for a numeric code, 2 for
//! an online key and 6 for an offline token. Text outside that set is not a Tillcode payload; it is still
//! rendered, with the encoder's automatic segmentation, so the `qr` debugging
//! command works on anything.

use std::io::Cursor;

use image::{ImageFormat, Luma};
use qrcode::bits::Bits;
use qrcode::render::{svg, unicode};
use qrcode::types::QrError as EncodeError;
use qrcode::{EcLevel, QrCode, Version};

const EC_LEVEL: EcLevel = EcLevel::M;
/// Pixels per module in the PNG: a version-6 code with its quiet zone is
/// (41 + 8) * 8 = 392 px wide, easy for a phone or a webcam.
const PNG_MODULE_PX: u32 = 8;
const SVG_MODULE_PX: u32 = 8;

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the payload does not fit in a QR code: {0}")]
    Encode(EncodeError),
    #[error("cannot encode the QR code as PNG: {0}")]
    Png(#[from] image::ImageError),
}

/// The QR code of `payload`, built as the module documentation says.
pub fn encode(payload: &str) -> Result<QrCode, QrError> {
    let data = payload.as_bytes();
    if !data.iter().all(|&b| is_alphanumeric(b)) {
        return QrCode::with_error_correction_level(data, EC_LEVEL).map_err(QrError::Encode);
    }
    for version in 1..=40 {
        let mut bits = Bits::new(Version::Normal(version));
        match bits
            .push_alphanumeric_data(data)
            .and_then(|()| bits.push_terminator(EC_LEVEL))
        {
            Ok(()) => return QrCode::with_bits(bits, EC_LEVEL).map_err(QrError::Encode),
            Err(EncodeError::DataTooLong) => continue,
            Err(e) => return Err(QrError::Encode(e)),
        }
    }
    Err(QrError::Encode(EncodeError::DataTooLong))
}

/// The QR version (1 to 40) `payload` is rendered at, for reports.
pub fn qr_version(payload: &str) -> Result<i16, QrError> {
    match encode(payload)?.version() {
        Version::Normal(v) | Version::Micro(v) => Ok(v),
    }
}

/// A black-on-white PNG with the standard 4-module quiet zone.
pub fn render_png(payload: &str) -> Result<Vec<u8>, QrError> {
    let image = encode(payload)?
        .render::<Luma<u8>>()
        .module_dimensions(PNG_MODULE_PX, PNG_MODULE_PX)
        .build();
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, ImageFormat::Png)?;
    Ok(png.into_inner())
}

/// A standalone SVG document, black on white, with the quiet zone.
pub fn render_svg(payload: &str) -> Result<String, QrError> {
    Ok(encode(payload)?
        .render::<svg::Color<'_>>()
        .module_dimensions(SVG_MODULE_PX, SVG_MODULE_PX)
        .build())
}

/// Text for a terminal, two modules a line with half-block characters.
///
/// Drawn for a dark terminal background: the QR's light modules (quiet
/// zone included) are the printed blocks, as `qrencode -t UTF8` does, so a
/// phone sees dark modules on a light field.
pub fn render_terminal(payload: &str) -> Result<String, QrError> {
    Ok(encode(payload)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .build())
}

/// ISO/IEC 18004 alphanumeric mode: `0-9 A-Z space $ % * + - . / :`.
fn is_alphanumeric(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase() || b" $%*+-./:".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcode_protocol::LinkCode;

    const ONLINE_KEY: &str = "TC1KAAISEM2EKVTHPCEZVK54ZXPO74";
    /// The "valid token" vector of `protocol-vectors.json`.
    const OFFLINE_TOKEN: &str = "TC1FRU7ADJ6ELOPSAAAAAGQ64VS6POQ3FQ6U7QGH5Z6YF6KMGIHYBJ3VIOL3TIDURHA76VIME6LS6J5DTEEUBA3SUBMOLTAWQZPPUYJNOCFOSQFJNF4QONQR4LYGJJMGLGXMVORJECI";

    fn decode_png(png: &[u8]) -> Vec<String> {
        let image = image::load_from_memory_with_format(png, ImageFormat::Png)
            .unwrap()
            .to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        prepared
            .detect_grids()
            .into_iter()
            .map(|grid| grid.decode().unwrap().1)
            .collect()
    }

    fn link_payload() -> String {
        LinkCode::from_bytes(*b"0123456789abcdef").payload()
    }

    #[test]
    fn a_png_decodes_back_to_the_same_payload_for_every_kind_of_code() {
        for payload in [ONLINE_KEY, OFFLINE_TOKEN, &link_payload()] {
            let png = render_png(payload).unwrap();
            assert_eq!(decode_png(&png), [payload], "{payload}");
        }
    }

    #[test]
    fn an_online_key_fits_version_2_and_an_offline_token_version_6() {
        assert_eq!(ONLINE_KEY.len(), 30);
        assert_eq!(OFFLINE_TOKEN.len(), 139);
        assert_eq!(qr_version(ONLINE_KEY).unwrap(), 2);
        assert_eq!(qr_version(OFFLINE_TOKEN).unwrap(), 6);
        assert_eq!(qr_version(&link_payload()).unwrap(), 2);
    }

    #[test]
    fn payloads_are_encoded_at_level_m() {
        assert_eq!(
            encode(OFFLINE_TOKEN).unwrap().error_correction_level(),
            EcLevel::M
        );
    }

    #[test]
    fn a_numeric_code_s_bare_digits_fit_version_1_and_decode() {
        let digits = "123456789938022008";
        assert_eq!(qr_version(digits).unwrap(), 1);
        assert_eq!(decode_png(&render_png(digits).unwrap()), [digits]);
        // The grouped form people read would need version 2.
        assert_eq!(qr_version("1234 5678 9938 0220 08").unwrap(), 2);
    }

    #[test]
    fn text_outside_the_alphanumeric_set_still_renders() {
        let text = "tc1k lowercase?";
        assert_eq!(decode_png(&render_png(text).unwrap()), [text]);
    }

    #[test]
    fn an_svg_is_a_standalone_document_sized_by_the_version() {
        let svg = render_svg(OFFLINE_TOKEN).unwrap();
        assert!(svg.starts_with("<?xml"), "{svg}");
        // Version 6 is 41 modules, plus 4 of quiet zone on each side.
        let px = (41 + 8) * SVG_MODULE_PX;
        assert!(
            svg.contains(&format!(r#"width="{px}" height="{px}""#)),
            "{svg}"
        );
    }

    #[test]
    fn the_terminal_rendering_is_two_modules_a_line() {
        let text = render_terminal(ONLINE_KEY).unwrap();
        let lines: Vec<_> = text.lines().collect();
        // Version 2 is 25 modules, plus 8 of quiet zone: 33 wide, 17 lines.
        assert_eq!(lines.len(), 17);
        assert!(lines.iter().all(|l| l.chars().count() == 33));
        // The quiet zone is drawn as full blocks on a dark terminal.
        assert!(lines[0].chars().all(|c| c == '\u{2588}'), "{}", lines[0]);
    }

    #[test]
    fn text_too_long_for_any_qr_code_is_an_error() {
        let huge = "A".repeat(5000);
        assert!(matches!(
            qr_version(&huge),
            Err(QrError::Encode(EncodeError::DataTooLong))
        ));
    }
}
