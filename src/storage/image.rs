//! Images: size checks without decompression bombs, decodes within a memory budget, and
//! metadata (location above all) removed.

use std::io::Cursor;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use image::{ImageReader, Limits};
use img_parts::{DynImage, ImageEXIF};
use tokio::sync::Semaphore;

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
    /// Other uploads hold the image memory budget for longer than a check may wait.
    #[error("图片处理繁忙，请稍后重试")]
    Busy,
}

/// A checked image, ready to store.
#[derive(Debug)]
pub struct CheckedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The file without metadata (so without GPS location, comments or the camera's notes).
    pub bytes: Bytes,
}

/// Decoder slack over the pixel buffer (row buffers, palettes, a decoder's own state).
const DECODE_SLACK: u64 = 16 * 1024 * 1024;

fn limits(decoded: u64) -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(decoded + DECODE_SLACK);
    limits
}

/// The memory a decode of `bytes` takes, from its header alone, with its dimensions.
fn decoded_size(bytes: &[u8]) -> Result<(u32, u32, u64), ImageError> {
    use image::ImageDecoder;
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    let decoder = reader
        .into_decoder()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooLarge { width, height });
    }
    Ok((width, height, decoder.total_bytes() + DECODE_SLACK))
}

/// Reads the dimensions from the header first (no pixel buffer), refuses oversized images,
/// decodes within limits to prove the file is whole, and strips every metadata block without
/// re-encoding. Use [`DecodeBudget::check`] to bound the memory of concurrent checks.
pub fn check(bytes: Bytes) -> Result<CheckedImage, ImageError> {
    let (width, height, decoded) = decoded_size(&bytes)?;
    decode(bytes, width, height, decoded)
}

fn decode(bytes: Bytes, width: u32, height: u32, decoded: u64) -> Result<CheckedImage, ImageError> {
    let mut reader = ImageReader::new(Cursor::new(&bytes[..]))
        .with_guessed_format()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    reader.limits(limits(decoded));
    reader
        .decode()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    Ok(CheckedImage {
        width,
        height,
        bytes: strip_metadata(bytes),
    })
}

/// The memory all image decodes together may take: each check reserves its decode's size
/// (read from the header) before decoding, and waits while others hold the budget.
#[derive(Clone)]
pub struct DecodeBudget {
    permits: Arc<Semaphore>,
    mebibytes: u32,
    wait: Duration,
}

const MIB: u64 = 1024 * 1024;

impl DecodeBudget {
    /// A budget of `bytes`; a check waits at most `wait` for its share.
    pub fn new(bytes: u64, wait: Duration) -> Self {
        let mebibytes = u32::try_from(bytes / MIB).unwrap_or(u32::MAX).max(1);
        Self {
            permits: Arc::new(Semaphore::new(mebibytes as usize)),
            mebibytes,
            wait,
        }
    }

    /// [`check`] on a blocking thread, within the budget: an image whose decode alone needs
    /// more than the whole budget is `TooLarge`; one that cannot get its share in time `Busy`.
    pub async fn check(&self, bytes: Bytes) -> Result<CheckedImage, ImageError> {
        let (width, height, decoded) = decoded_size(&bytes)?;
        let needed = u32::try_from(decoded.div_ceil(MIB)).unwrap_or(u32::MAX);
        if needed > self.mebibytes {
            return Err(ImageError::TooLarge { width, height });
        }
        let permit =
            tokio::time::timeout(self.wait, self.permits.clone().acquire_many_owned(needed))
                .await
                .map_err(|_| ImageError::Busy)?
                .map_err(|_| ImageError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            decode(bytes, width, height, decoded)
        })
        .await
        .map_err(|e| ImageError::Unreadable(format!("decoder failed: {e}")))?
    }
}

/// Removes every metadata block without touching the pixels: JPEG APP1-APP13 and APP15
/// (EXIF, XMP, IPTC, ...) and comments; PNG text, EXIF and time chunks; WebP EXIF and XMP;
/// GIF comments and application blocks other than looping. Colour data (ICC profiles, Adobe's
/// APP14) stays: it changes how the picture looks and says nothing of who took it where.
pub fn strip_metadata(bytes: Bytes) -> Bytes {
    match DynImage::from_bytes(bytes.clone()) {
        Ok(Some(DynImage::Jpeg(mut jpeg))) => {
            jpeg.segments_mut()
                .retain(|segment| keeps_jpeg(segment.marker()));
            jpeg.encoder().bytes()
        }
        Ok(Some(DynImage::Png(mut png))) => {
            png.chunks_mut().retain(|chunk| keeps_png(chunk.kind()));
            png.encoder().bytes()
        }
        Ok(Some(DynImage::WebP(mut webp))) => {
            webp.remove_chunks_by_id(*b"XMP ");
            // Also sets the header's flags to the chunks that remain.
            webp.set_exif(None);
            webp.encoder().bytes()
        }
        _ if bytes.starts_with(b"GIF8") => strip_gif(&bytes).map_or(bytes, Bytes::from),
        _ => bytes,
    }
}

fn keeps_jpeg(marker: u8) -> bool {
    const APP1: u8 = 0xE1;
    const APP2_ICC: u8 = 0xE2;
    const APP14_ADOBE: u8 = 0xEE;
    const APP15: u8 = 0xEF;
    const COMMENT: u8 = 0xFE;
    marker != COMMENT
        && !((APP1..=APP15).contains(&marker) && marker != APP2_ICC && marker != APP14_ADOBE)
}

fn keeps_png(kind: [u8; 4]) -> bool {
    !matches!(&kind, b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME")
}

/// A GIF without comment blocks and without application blocks other than the looping ones;
/// `None` if the file is not a GIF we can walk (it is then kept as decoded and checked).
fn strip_gif(bytes: &[u8]) -> Option<Vec<u8>> {
    /// The sub-blocks from `at`: their end (after the terminator).
    fn sub_blocks_end(bytes: &[u8], mut at: usize) -> Option<usize> {
        loop {
            let len = usize::from(*bytes.get(at)?);
            at += 1;
            if len == 0 {
                return Some(at);
            }
            at += len;
        }
    }
    let colour_table = |flags: u8| {
        if flags & 0x80 != 0 {
            3 * (1usize << ((flags & 0x07) + 1))
        } else {
            0
        }
    };
    let header_end = 13 + colour_table(*bytes.get(10)?);
    let mut out = bytes.get(..header_end)?.to_vec();
    let mut at = header_end;
    loop {
        match *bytes.get(at)? {
            0x3B => {
                out.push(0x3B);
                return Some(out);
            }
            0x2C => {
                let flags = *bytes.get(at + 9)?;
                let data = at + 10 + colour_table(flags) + 1;
                let end = sub_blocks_end(bytes, data)?;
                out.extend_from_slice(bytes.get(at..end)?);
                at = end;
            }
            0x21 => {
                let label = *bytes.get(at + 1)?;
                let end = sub_blocks_end(bytes, at + 2)?;
                let looping = label == 0xFF
                    && matches!(
                        bytes.get(at + 3..at + 14),
                        Some(b"NETSCAPE2.0" | b"ANIMEXTS1.0")
                    );
                let keep = match label {
                    0xFE => false,
                    0xFF => looping,
                    _ => true,
                };
                if keep {
                    out.extend_from_slice(bytes.get(at..end)?);
                }
                at = end;
            }
            _ => return None,
        }
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

    /// Location written the way XMP writes it.
    const XMP_GPS: &[u8] =
        b"<x:xmpmeta><rdf:Description exif:GPSLatitude=\"31,13.8N\"/></x:xmpmeta>";

    fn has(bytes: &[u8], needle: &[u8]) -> bool {
        bytes.windows(needle.len()).any(|w| w == needle)
    }

    fn encoded(format: ImageFormat) -> Bytes {
        let mut out = Cursor::new(Vec::new());
        RgbImage::new(8, 8)
            .write_to(&mut out, format)
            .expect("encode");
        Bytes::from(out.into_inner())
    }

    #[test]
    fn jpeg_xmp_iptc_and_comments_are_removed_and_colour_stays() {
        use img_parts::jpeg::{Jpeg, JpegSegment, markers};
        let mut jpeg = Jpeg::from_bytes(encoded(ImageFormat::Jpeg)).expect("jpeg");
        let xmp = [b"http://ns.adobe.com/xap/1.0/\0".as_slice(), XMP_GPS].concat();
        let segments = jpeg.segments_mut();
        segments.insert(
            1,
            JpegSegment::new_with_contents(markers::APP1, Bytes::from(xmp)),
        );
        segments.insert(
            1,
            JpegSegment::new_with_contents(
                markers::APP13,
                Bytes::from_static(b"Photoshop 3.0\0IPTC city"),
            ),
        );
        segments.insert(
            1,
            JpegSegment::new_with_contents(markers::COM, Bytes::from_static(b"taken at home")),
        );
        segments.insert(
            1,
            JpegSegment::new_with_contents(
                markers::APP2,
                Bytes::from_static(b"ICC_PROFILE\0colour"),
            ),
        );
        let doctored = jpeg.encoder().bytes();
        let checked = check(doctored).expect("valid");
        for gone in [b"GPSLatitude".as_slice(), b"IPTC city", b"taken at home"] {
            assert!(
                !has(&checked.bytes, gone),
                "{}",
                String::from_utf8_lossy(gone)
            );
        }
        assert!(has(&checked.bytes, b"ICC_PROFILE"), "colour profile kept");
    }

    #[test]
    fn png_text_chunks_are_removed() {
        use img_parts::png::{Png, PngChunk};
        let mut png = Png::from_bytes(encoded(ImageFormat::Png)).expect("png");
        let chunks = png.chunks_mut();
        let at = chunks.len() - 1;
        chunks.insert(
            at,
            PngChunk::new(
                *b"iTXt",
                Bytes::from([b"XML:com.adobe.xmp\0\0\0\0\0".as_slice(), XMP_GPS].concat()),
            ),
        );
        chunks.insert(
            at,
            PngChunk::new(*b"tEXt", Bytes::from_static(b"Comment\0taken at home")),
        );
        chunks.insert(
            at,
            PngChunk::new(*b"zTXt", Bytes::from_static(b"Raw profile\0\0x")),
        );
        let checked = check(png.encoder().bytes()).expect("valid");
        assert!(!has(&checked.bytes, b"GPSLatitude"));
        assert!(!has(&checked.bytes, b"taken at home"));
        assert!(!has(&checked.bytes, b"zTXt"));
    }

    #[test]
    fn webp_xmp_and_exif_are_removed() {
        use img_parts::{
            ImageEXIF,
            riff::{RiffChunk, RiffContent},
            webp::WebP,
        };
        let mut webp = WebP::from_bytes(encoded(ImageFormat::WebP)).expect("webp");
        webp.set_exif(Some(Bytes::from_static(b"MM\0*\0\0\0\x08GPS-31.23N")));
        webp.chunks_mut().push(RiffChunk::new(
            *b"XMP ",
            RiffContent::Data(Bytes::from_static(XMP_GPS)),
        ));
        let doctored = webp.encoder().bytes();
        assert!(has(&doctored, b"GPSLatitude"));
        let checked = check(doctored).expect("valid");
        assert!(!has(&checked.bytes, b"GPSLatitude"));
        assert!(!has(&checked.bytes, b"GPS-31"));
        check(checked.bytes).expect("still a valid WebP");
    }

    #[test]
    fn gif_comments_and_foreign_application_blocks_are_removed_and_looping_stays() {
        let plain = encoded(ImageFormat::Gif);
        let at = plain
            .iter()
            .position(|&b| b == 0x2C)
            .expect("an image descriptor");
        let mut doctored = plain[..at].to_vec();
        doctored.extend_from_slice(b"\x21\xFE\x0Dtaken at home\x00");
        doctored.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x05GPS!!\x00");
        doctored.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
        doctored.extend_from_slice(&plain[at..]);
        let checked = check(Bytes::from(doctored)).expect("valid");
        assert!(!has(&checked.bytes, b"taken at home"));
        assert!(!has(&checked.bytes, b"XMP DataXMP"));
        assert!(has(&checked.bytes, b"NETSCAPE2.0"));
        check(checked.bytes).expect("still a valid GIF");
    }
}
