//! Durations of audio and video files, read from their containers without decoding.
//!
//! Crates, chosen as the cheapest correct ones to build (both small, pure Rust, few deps):
//! - `mp4` for MP4, MOV and M4A: the movie header (`mvhd`) holds the duration; 0.14 bounds every
//!   table by its box size, so a lying entry count cannot make it allocate. `symphonia` would
//!   cover everything but pulls in a decoder framework we never use.
//! - `mp3-duration` for MP3: trusts a Xing/Info frame count when present, else sums every frame
//!   (VBR files without a Xing header are still right).
//! - AAC in ADTS has no container header at all: its frames are walked here (7-byte headers).
//!
//! The parsers see untrusted bytes: callers run them on a blocking thread, where a panic in a
//! third-party parser becomes an error instead of taking the server down.

use std::{
    io::{Cursor, Read, Seek},
    time::Duration,
};

/// Longest duration believed; anything longer is a corrupt or hostile header.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Why a duration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("无法读取{what}的时长：{reason}")]
pub struct ProbeError {
    /// "视频" or "音频", for the user's message.
    what: &'static str,
    /// What was wrong, in the parser's words.
    reason: String,
}

impl ProbeError {
    fn new(what: &'static str, reason: impl ToString) -> Self {
        Self {
            what,
            reason: reason.to_string(),
        }
    }
}

/// The duration of a file of this sniffed MIME type (`video/mp4`, `video/quicktime`,
/// `audio/mp4`, `audio/mpeg`, `audio/aac`).
pub fn duration(mime: &str, bytes: &[u8]) -> Result<Duration, ProbeError> {
    duration_of(mime, Cursor::new(bytes), bytes.len() as u64)
}

/// As [`duration`], reading a file of `size` bytes (a large video stays on disk).
pub fn duration_of(
    mime: &str,
    mut reader: impl Read + Seek,
    size: u64,
) -> Result<Duration, ProbeError> {
    let (what, found) = match mime {
        "video/mp4" | "video/quicktime" => ("视频", mp4_duration_of(reader, size)),
        "audio/mp4" => ("音频", mp4_duration_of(reader, size)),
        "audio/mpeg" => ("音频", mp3_duration_of(&mut reader)),
        "audio/aac" => {
            // ADTS has no index to seek by; audio files are capped well below memory limits.
            let mut bytes = Vec::new();
            let read = reader.read_to_end(&mut bytes).map_err(|e| e.to_string());
            ("音频", read.and_then(|_| adts_duration(&bytes)))
        }
        other => ("文件", Err(format!("不支持的类型 {other}"))),
    };
    let found = found.map_err(|reason| ProbeError::new(what, reason))?;
    if found.is_zero() {
        return Err(ProbeError::new(what, "时长为零"));
    }
    if found > MAX_DURATION {
        return Err(ProbeError::new(what, "时长超出合理范围"));
    }
    Ok(found)
}

/// The movie duration of an MP4/MOV/M4A file: `mvhd`, or the fragment duration (`mehd`) of a
/// fragmented file whose `mvhd` says 0.
pub fn mp4_duration(bytes: &[u8]) -> Result<Duration, String> {
    mp4_duration_of(Cursor::new(bytes), bytes.len() as u64)
}

/// As [`mp4_duration`], from a reader of `size` bytes.
fn mp4_duration_of(reader: impl Read + Seek, size: u64) -> Result<Duration, String> {
    let reader = mp4::Mp4Reader::read_header(reader, size).map_err(|e| e.to_string())?;
    let mvhd = &reader.moov.mvhd;
    let units = match mvhd.duration {
        0 => reader
            .moov
            .mvex
            .as_ref()
            .and_then(|mvex| mvex.mehd.as_ref())
            .map_or(0, |mehd| mehd.fragment_duration),
        units => units,
    };
    // Not `Mp4Reader::duration()`: it divides by a timescale that a hostile file may set to 0.
    scaled(units, mvhd.timescale).ok_or_else(|| "时间刻度为零".to_owned())
}

/// `units / timescale` seconds, or `None` for a zero timescale.
fn scaled(units: u64, timescale: u32) -> Option<Duration> {
    if timescale == 0 {
        return None;
    }
    let nanos = u128::from(units) * 1_000_000_000 / u128::from(timescale);
    Some(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

/// The duration of an MP3 stream (ID3 tags skipped). A cut-off last frame keeps the duration
/// measured up to it, as players do.
pub fn mp3_duration(bytes: &[u8]) -> Result<Duration, String> {
    mp3_duration_of(&mut Cursor::new(bytes))
}

fn mp3_duration_of(reader: &mut impl Read) -> Result<Duration, String> {
    match mp3_duration::from_read(reader) {
        Ok(found) => Ok(found),
        Err(err) if matches!(err.kind, mp3_duration::ErrorKind::UnexpectedEOF) => {
            Ok(err.at_duration)
        }
        Err(err) => Err(err.to_string()),
    }
}

/// ADTS sampling rates by their 4-bit index (ISO/IEC 14496-3, 1.6.3.4).
const ADTS_RATES: [u64; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// The duration of an AAC ADTS stream: every frame carries 1024 samples per raw data block.
/// A truncated last frame is tolerated (uploads cut short by a byte are common); garbage
/// between frames is not.
pub fn adts_duration(bytes: &[u8]) -> Result<Duration, String> {
    let mut rest = bytes;
    let mut nanos: u128 = 0;
    let mut frames = 0u64;
    while rest.len() >= 7 {
        let h = &rest[..7];
        if h[0] != 0xFF || h[1] & 0xF6 != 0xF0 {
            return Err(format!("第 {} 帧不是 ADTS 帧", frames + 1));
        }
        let rate = ADTS_RATES
            .get(usize::from((h[2] >> 2) & 0x0F))
            .copied()
            .ok_or_else(|| "采样率无效".to_owned())?;
        let length =
            (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | (usize::from(h[5]) >> 5);
        if length < 7 {
            return Err("帧长度无效".to_owned());
        }
        let samples = (u128::from(h[6] & 0x03) + 1) * 1024;
        nanos += samples * 1_000_000_000 / u128::from(rate);
        frames += 1;
        if length > rest.len() {
            break;
        }
        rest = &rest[length..];
    }
    if frames == 0 {
        return Err("没有 ADTS 帧".to_owned());
    }
    Ok(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

/// Test media built in code, so that no binary fixture is needed.
#[cfg(test)]
pub(crate) mod fixtures {
    /// One ISO box: size, type, payload.
    pub fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 8);
        out.extend_from_slice(&u32::try_from(payload.len() + 8).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    /// A minimal MP4: `ftyp` (brand `brand`) and a `moov` holding only an `mvhd` (version 0).
    pub fn mp4(brand: &[u8; 4], timescale: u32, duration: u32) -> Vec<u8> {
        let mut ftyp = Vec::new();
        ftyp.extend_from_slice(brand);
        ftyp.extend_from_slice(&0u32.to_be_bytes());
        ftyp.extend_from_slice(brand);
        ftyp.extend_from_slice(b"mp41");
        let mut mvhd = vec![0u8; 4]; // version 0, flags 0
        mvhd.extend_from_slice(&0u32.to_be_bytes()); // creation time
        mvhd.extend_from_slice(&0u32.to_be_bytes()); // modification time
        mvhd.extend_from_slice(&timescale.to_be_bytes());
        mvhd.extend_from_slice(&duration.to_be_bytes());
        mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
        mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
        mvhd.extend_from_slice(&[0u8; 10]); // reserved
        for m in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            mvhd.extend_from_slice(&m.to_be_bytes()); // unity matrix
        }
        mvhd.extend_from_slice(&[0u8; 24]); // pre-defined
        mvhd.extend_from_slice(&2u32.to_be_bytes()); // next track id
        let mut out = mp4_box(b"ftyp", &ftyp);
        out.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &mvhd)));
        out
    }

    /// `frames` silent MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz, stereo (417 bytes each,
    /// 1152 samples each).
    pub fn mp3(frames: usize) -> Vec<u8> {
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
        frame.repeat(frames)
    }

    /// `frames` ADTS frames (AAC LC, 44.1 kHz, stereo, one raw block each), 16 bytes each.
    pub fn adts(frames: usize) -> Vec<u8> {
        let len = 16u16;
        let mut frame = vec![0u8; usize::from(len)];
        frame[0] = 0xFF;
        frame[1] = 0xF1; // MPEG-4, layer 0, no CRC
        frame[2] = (1 << 6) | (4 << 2); // AAC LC, 44.1 kHz
        frame[3] = (2 << 6) | ((len >> 11) as u8 & 0x03); // stereo
        frame[4] = (len >> 3) as u8;
        frame[5] = ((len & 0x07) as u8) << 5 | 0x1F;
        frame[6] = 0xFC; // one raw data block
        frame.repeat(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::{fixtures::*, *};

    #[test]
    fn an_mp4_movie_header_gives_the_duration() {
        let four_minutes = mp4(b"isom", 1000, 240_000);
        assert_eq!(
            crate::storage::sniff::sniff(&four_minutes).map(|s| s.mime),
            Some("video/mp4")
        );
        assert_eq!(
            duration("video/mp4", &four_minutes).expect("readable"),
            Duration::from_secs(240)
        );
        assert_eq!(
            duration("video/mp4", &mp4(b"isom", 600, 72_000)).expect("readable"),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn quicktime_and_m4a_use_the_same_reader() {
        let mov = mp4(b"qt  ", 600, 1_800);
        assert_eq!(
            crate::storage::sniff::sniff(&mov).map(|s| s.mime),
            Some("video/quicktime")
        );
        assert_eq!(
            duration("video/quicktime", &mov).expect("readable"),
            Duration::from_secs(3)
        );
        let m4a = mp4(b"M4A ", 44_100, 441_000);
        assert_eq!(
            crate::storage::sniff::sniff(&m4a).map(|s| s.mime),
            Some("audio/mp4")
        );
        assert_eq!(
            duration("audio/mp4", &m4a).expect("readable"),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn a_zero_timescale_or_a_missing_movie_header_is_unreadable() {
        assert!(duration("video/mp4", &mp4(b"isom", 0, 1_000)).is_err());
        let ftyp_only = mp4_box(b"ftyp", b"isom\0\0\0\0isom");
        let err = duration("video/mp4", &ftyp_only).expect_err("no moov");
        assert!(err.to_string().starts_with("无法读取视频的时长"), "{err}");
        assert!(duration("video/mp4", b"\0\0\0\x18ftypisom garbage").is_err());
    }

    #[test]
    fn an_absurd_duration_is_refused() {
        assert!(duration("video/mp4", &mp4(b"isom", 1, u32::MAX)).is_err());
        assert!(duration("video/mp4", &mp4(b"isom", 1000, 0)).is_err());
    }

    #[test]
    fn mp3_frames_add_up() {
        // 1152 samples at 44.1 kHz per frame: 383 frames ≈ 10.005 s.
        let ten_seconds = mp3(383);
        assert_eq!(
            crate::storage::sniff::sniff(&ten_seconds).map(|s| s.mime),
            Some("audio/mpeg")
        );
        let found = duration("audio/mpeg", &ten_seconds).expect("readable");
        assert_eq!(found.as_millis(), 383 * 1152 * 1000 / 44_100);
        assert!(duration("audio/mpeg", b"ID3 not really an mp3").is_err());
        // A cut-off last frame still counts what came before it.
        let mut cut = mp3(10);
        cut.truncate(cut.len() - 100);
        assert_eq!(
            duration("audio/mpeg", &cut).expect("readable").as_millis(),
            9 * 1152 * 1000 / 44_100
        );
    }

    #[test]
    fn adts_frames_add_up_and_garbage_is_refused() {
        // 1024 samples at 44.1 kHz per frame: 431 frames ≈ 10.008 s.
        let stream = adts(431);
        assert_eq!(
            crate::storage::sniff::sniff(&stream).map(|s| s.mime),
            Some("audio/aac")
        );
        let found = duration("audio/aac", &stream).expect("readable");
        assert_eq!(found.as_millis(), 431 * 1024 * 1000 / 44_100);
        let mut broken = adts(3);
        broken.extend_from_slice(b"garbage!");
        assert!(duration("audio/aac", &broken).is_err());
        assert!(duration("audio/aac", &[0xFF, 0xF1]).is_err());
    }
}
