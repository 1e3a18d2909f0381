//! Images: size checks without decompression bombs, and location data removed.

use std::io::Cursor;

use bytes::Bytes;
use image::{ImageReader, Limits};
use img_parts::{DynImage, ImageEXIF};

/// Largest accepted image, in pixels (a 100-megapixel photo is already generous).
pub const MAX_PIXELS: u64 = 100_000_000;
/// Largest accepted side, in pixels.
pub const MAX_SIDE: u32 = 20_000;

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The header declares more pixels than we decode.
    #[error("图片尺寸过大（{width}×{height}）")]
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// The bytes are not a readable image.
    #[error("无法读取图片：{0}")]
    Unreadable(String),
}

/// A checked image, ready to store.
#[derive(Debug)]
pub struct CheckedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The file without EXIF (so without GPS location).
    pub bytes: Bytes,
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // RGBA8 of the largest accepted image, plus decoder slack.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    limits
}

/// Reads the dimensions from the header first (no pixel buffer), refuses oversized images,
/// decodes within limits to prove the file is whole, and strips EXIF without re-encoding.
pub fn check(bytes: Bytes) -> Result<CheckedImage, ImageError> {
    let reader = ImageReader::new(Cursor::new(&bytes[..]))
        .with_guessed_format()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooLarge { width, height });
    }
    let mut reader = ImageReader::new(Cursor::new(&bytes[..]))
        .with_guessed_format()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    reader.limits(limits());
    reader
        .decode()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    Ok(CheckedImage {
        width,
        height,
        bytes: strip_exif(bytes),
    })
}

/// Removes EXIF from JPEG, PNG and WebP files; other formats carry none and pass unchanged.
pub fn strip_exif(bytes: Bytes) -> Bytes {
    match DynImage::from_bytes(bytes.clone()) {
        Ok(Some(mut parsed)) => {
            if parsed.exif().is_none() {
                return bytes;
            }
            parsed.set_exif(None);
            parsed.encoder().bytes()
        }
        _ => bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, RgbImage};

    fn png(width: u32, height: u32) -> Bytes {
        let mut out = Cursor::new(Vec::new());
        RgbImage::new(width, height)
            .write_to(&mut out, ImageFormat::Png)
            .expect("encode");
        Bytes::from(out.into_inner())
    }

    fn jpeg_with_gps() -> Bytes {
        let mut out = Cursor::new(Vec::new());
        RgbImage::new(8, 8)
            .write_to(&mut out, ImageFormat::Jpeg)
            .expect("encode");
        let mut jpeg =
            img_parts::jpeg::Jpeg::from_bytes(Bytes::from(out.into_inner())).expect("parse");
        // A minimal EXIF block whose payload names a GPS IFD.
        jpeg.set_exif(Some(Bytes::from_static(
            b"MM\0*\0\0\0\x08\0\x01\x88\x25\0\x04\0\0\0\x01\0\0\0\x1aGPS-31.2304N-121.4737E",
        )));
        jpeg.encoder().bytes()
    }

    /// PNG's CRC-32, so that the doctored header is otherwise valid.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_normal_image_passes_with_its_size() {
        let checked = check(png(64, 32)).expect("valid");
        assert_eq!((checked.width, checked.height), (64, 32));
    }

    #[test]
    fn a_huge_declared_size_is_refused_from_the_header_alone() {
        // A PNG header claiming 30,000 × 30,000 pixels, with no pixel data behind it.
        let mut header = png(1, 1).to_vec();
        header[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        header[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32(&header[12..29]);
        header[29..33].copy_from_slice(&crc.to_be_bytes());
        match check(Bytes::from(header)) {
            Err(ImageError::TooLarge { width, height }) => {
                assert_eq!((width, height), (30_000, 30_000))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exif_with_location_is_removed() {
        let with_gps = jpeg_with_gps();
        assert!(with_gps.windows(3).any(|w| w == b"GPS"));
        let checked = check(with_gps).expect("valid");
        assert!(!checked.bytes.windows(3).any(|w| w == b"GPS"));
        assert!(
            img_parts::jpeg::Jpeg::from_bytes(checked.bytes)
                .expect("still a jpeg")
                .exif()
                .is_none()
        );
    }

    #[test]
    fn garbage_is_unreadable() {
        assert!(matches!(
            check(Bytes::from_static(b"\x89PNG\r\n\x1a\nnot really")),
            Err(ImageError::Unreadable(_))
        ));
    }
}
