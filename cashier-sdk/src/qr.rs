//! Reading the payment code off a picture of the customer's phone: a QR
//! code in an image file (a webcam snapshot, a screenshot), decoded with
//! rqrr. Only PNG is read, the one codec the workspace builds `image` with.
//!
//! The payload is returned exactly as the symbol holds it: payloads are
//! never trimmed (`docs/protocol.md`, section 13), and judging whether it is
//! a valid Tillcode code is the server's job, which answers
//! `malformed-code` with a reason.

use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageReader, Limits};

/// Larger than any camera frame a till takes; a bigger image is refused
/// before it is decoded rather than filling memory.
const MAX_SIDE_PX: u32 = 8192;
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum QrDecodeError {
    #[error("cannot read the image {}: {source}", path.display())]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("cannot open the image {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no QR code found in the image")]
    NotFound,
    #[error("a QR code was found but could not be read ({0}); take a sharper picture")]
    Unreadable(String),
    #[error("the image holds {0} different QR codes; show only the customer's")]
    Several(usize),
}

/// The text of the one QR code in the image file at `path`.
pub fn decode_file(path: &Path) -> Result<String, QrDecodeError> {
    let image_error = |source| QrDecodeError::Image {
        path: path.to_owned(),
        source,
    };
    let mut reader = ImageReader::open(path)
        .map_err(|source| QrDecodeError::Open {
            path: path.to_owned(),
            source,
        })?
        // By content, not by file name: a snapshot tool may name a PNG .img.
        .with_guessed_format()
        .map_err(|source| QrDecodeError::Open {
            path: path.to_owned(),
            source,
        })?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(image_error)?;
    decode_image(&image)
}

/// The text of the one QR code in `image`. The same code found twice (a
/// reflection, say) counts once; two different codes are refused, since
/// charging the wrong one cannot be undone by the cashier.
pub fn decode_image(image: &DynamicImage) -> Result<String, QrDecodeError> {
    let mut prepared = rqrr::PreparedImage::prepare(image.to_luma8());
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(QrDecodeError::NotFound);
    }
    let mut found: Vec<String> = Vec::new();
    let mut last_error = None;
    for grid in &grids {
        match grid.decode() {
            Ok((_, text)) => {
                if !found.contains(&text) {
                    found.push(text);
                }
            }
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    match found.len() {
        0 => Err(QrDecodeError::Unreadable(
            last_error.unwrap_or_else(|| "no detail".into()),
        )),
        1 => Ok(found.remove(0)),
        n => Err(QrDecodeError::Several(n)),
    }
}

#[cfg(test)]
mod tests {
    use image::{GenericImage, GrayImage, ImageFormat, Luma};
    use qrcode::QrCode;
    use tillcode_sdk_common::test_dir::TestDir;

    use super::*;

    /// The shared offline-token vector (139 characters, QR version 6) and an
    /// online key (30 characters, version 2).
    const OFFLINE: &str = "TC1FRU7ADJ6ELOPSAAAAAGQ64VS6POQ3FQ6U7QGH5Z6YF6KMGIHYBJ3VIOL3TIDURHA76VIME6LS6J5DTEEUBA3SUBMOLTAWQZPPUYJNOCFOSQFJNF4QONQR4LYGJJMGLGXMVORJECI";
    const ONLINE: &str = "TC1KAAISEM2EKVTHPCEZVK54ZXPO74";

    fn qr_image(payload: &str) -> GrayImage {
        QrCode::new(payload.as_bytes())
            .unwrap()
            .render::<Luma<u8>>()
            .module_dimensions(6, 6)
            .build()
    }

    fn save_png(dir: &TestDir, name: &str, image: &GrayImage) -> PathBuf {
        let path = dir.path(name);
        image.save_with_format(&path, ImageFormat::Png).unwrap();
        path
    }

    #[test]
    fn a_png_of_an_offline_token_decodes_to_the_exact_payload() {
        let dir = TestDir::new();
        let path = save_png(&dir, "offline.png", &qr_image(OFFLINE));
        assert_eq!(decode_file(&path).unwrap(), OFFLINE);
    }

    #[test]
    fn a_png_with_another_extension_is_recognised_by_its_content() {
        let dir = TestDir::new();
        let path = save_png(&dir, "snapshot.img", &qr_image(ONLINE));
        assert_eq!(decode_file(&path).unwrap(), ONLINE);
    }

    #[test]
    fn a_code_on_a_larger_busy_frame_is_still_found() {
        let code = qr_image(ONLINE);
        let mut frame = GrayImage::from_fn(code.width() * 3, code.height() * 2, |x, y| {
            // A soft grey gradient, as a counter top under a lamp would be.
            Luma([200 - ((x + y) % 40) as u8])
        });
        frame
            .copy_from(&code, code.width(), code.height() / 2)
            .unwrap();
        let image = DynamicImage::ImageLuma8(frame);
        assert_eq!(decode_image(&image).unwrap(), ONLINE);
    }

    #[test]
    fn an_image_without_a_code_says_none_was_found() {
        let blank = DynamicImage::ImageLuma8(GrayImage::from_pixel(200, 200, Luma([255])));
        assert!(matches!(decode_image(&blank), Err(QrDecodeError::NotFound)));
    }

    #[test]
    fn an_image_with_two_different_codes_is_refused() {
        let a = qr_image(ONLINE);
        let b = qr_image("TC1KAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let mut both = GrayImage::from_pixel(
            a.width() + b.width(),
            a.height().max(b.height()),
            Luma([255]),
        );
        both.copy_from(&a, 0, 0).unwrap();
        both.copy_from(&b, a.width(), 0).unwrap();
        let image = DynamicImage::ImageLuma8(both);
        assert!(matches!(
            decode_image(&image),
            Err(QrDecodeError::Several(2))
        ));
    }

    #[test]
    fn a_file_that_is_not_an_image_or_is_missing_names_the_path() {
        let dir = TestDir::new();
        let text = dir.path("code.png");
        std::fs::write(&text, OFFLINE).unwrap();
        let err = decode_file(&text).unwrap_err();
        assert!(matches!(err, QrDecodeError::Image { .. }), "{err}");
        assert!(err.to_string().contains("code.png"), "{err}");

        let err = decode_file(&dir.path("absent.png")).unwrap_err();
        assert!(matches!(err, QrDecodeError::Open { .. }), "{err}");
        assert!(err.to_string().contains("absent.png"), "{err}");
    }
}
