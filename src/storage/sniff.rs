//! What a file is, from its bytes (never from its name or the client's MIME type).

/// The broad kind of a media file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// A still image.
    Image,
    /// A video.
    Video,
    /// A recording.
    Audio,
}

impl MediaKind {
    /// Every value, in order.
    pub const ALL: [Self; 3] = [Self::Image, Self::Video, Self::Audio];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
        }
    }
}

/// A recognised file type that we accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniffed {
    /// Image, video or audio.
    pub kind: MediaKind,
    /// Its MIME type.
    pub mime: &'static str,
    /// The extension we store it under.
    pub ext: &'static str,
}

/// The type of `bytes` if it is one we take: JPEG, PNG, GIF, WebP, BMP, MP4, MOV, MP3, M4A, AAC.
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    let found = infer::get(bytes)?;
    let (kind, mime, ext) = match found.mime_type() {
        "image/jpeg" => (MediaKind::Image, "image/jpeg", "jpg"),
        "image/png" => (MediaKind::Image, "image/png", "png"),
        "image/gif" => (MediaKind::Image, "image/gif", "gif"),
        "image/webp" => (MediaKind::Image, "image/webp", "webp"),
        "image/bmp" => (MediaKind::Image, "image/bmp", "bmp"),
        "video/mp4" => (MediaKind::Video, "video/mp4", "mp4"),
        "video/quicktime" => (MediaKind::Video, "video/quicktime", "mov"),
        "audio/mpeg" => (MediaKind::Audio, "audio/mpeg", "mp3"),
        "audio/m4a" | "audio/x-m4a" | "audio/mp4" => (MediaKind::Audio, "audio/mp4", "m4a"),
        "audio/aac" => (MediaKind::Audio, "audio/aac", "aac"),
        _ => return None,
    };
    Some(Sniffed { kind, mime, ext })
}

/// The MIME type of a stored file by the extension [`sniff`] gave it.
pub fn mime_of_ext(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "jpg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_magic_bytes() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
        ];
        assert_eq!(sniff(&png).map(|s| s.mime), Some("image/png"));
        assert_eq!(
            sniff(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F']).map(|s| s.ext),
            Some("jpg")
        );
    }

    #[test]
    fn text_is_not_media_whatever_its_name() {
        assert_eq!(sniff(b"hello, this is a text file renamed to .jpg"), None);
        assert_eq!(sniff(b""), None);
    }
}
