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

/// Why a media file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The container could not be read or its duration is absurd.
    #[error("无法读取{what}的时长：{reason}")]
    Unreadable {
        /// "视频" or "音频", for the user's message.
        what: &'static str,
        /// What was wrong, in the parser's words.
        reason: String,
    },
    /// The container reads but holds no track of its kind (a "video" of sound only, say).
    #[error("{what}文件里没有{track}轨道")]
    NoTrack {
        /// "视频" or "音频".
        what: &'static str,
        /// The track that is missing: "视频" (picture) or "音频" (sound).
        track: &'static str,
    },
}

impl ProbeError {
    fn new(what: &'static str, reason: impl ToString) -> Self {
        Self::Unreadable {
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
        "video/mp4" | "video/quicktime" => {
            let movie = mp4_summary(reader, size).map_err(|r| ProbeError::new("视频", r))?;
            if !movie.video {
                return Err(ProbeError::NoTrack {
                    what: "视频",
                    track: "视频",
                });
            }
            ("视频", Ok(movie.duration))
        }
        "audio/mp4" => {
            let movie = mp4_summary(reader, size).map_err(|r| ProbeError::new("音频", r))?;
            if !movie.audio {
                return Err(ProbeError::NoTrack {
                    what: "音频",
                    track: "音频",
                });
            }
            ("音频", Ok(movie.duration))
        }
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

/// What an MP4/MOV/M4A file's header says: the movie's duration and its kinds of track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mp4Summary {
    /// The movie duration: `mvhd`, or the fragment duration (`mehd`) of a fragmented file
    /// whose `mvhd` says 0.
    pub duration: Duration,
    /// A track with the `vide` handler (a picture).
    pub video: bool,
    /// A track with the `soun` handler (sound).
    pub audio: bool,
}

/// The movie duration of an MP4/MOV/M4A file (see [`Mp4Summary::duration`]).
pub fn mp4_duration(bytes: &[u8]) -> Result<Duration, String> {
    mp4_summary(Cursor::new(bytes), bytes.len() as u64).map(|movie| movie.duration)
}

/// Reads the header of an MP4/MOV/M4A file of `size` bytes.
fn mp4_summary(reader: impl Read + Seek, size: u64) -> Result<Mp4Summary, String> {
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
    let duration = scaled(units, mvhd.timescale).ok_or_else(|| "时间刻度为零".to_owned())?;
    let has = |kind: mp4::TrackType| {
        reader
            .tracks()
            .values()
            .any(|track| track.track_type().is_ok_and(|found| found == kind))
    };
    Ok(Mp4Summary {
        duration,
        video: has(mp4::TrackType::Video),
        audio: has(mp4::TrackType::Audio),
    })
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
    pub use crate::storage::mp4_fixture::{SOUND, SUBTITLE, VIDEO, movie, mp4_box};

    /// A minimal file of brand `brand` with one track: sound for `M4A `, else a picture.
    pub fn mp4(brand: &[u8; 4], timescale: u32, duration: u32) -> Vec<u8> {
        let track = if brand == b"M4A " { SOUND } else { VIDEO };
        movie(brand, timescale, duration, &[track], &[], None)
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
    fn a_video_needs_a_picture_track_and_an_m4a_a_sound_track() {
        let no_tracks = movie(b"isom", 1000, 240_000, &[], &[], None);
        let err = duration("video/mp4", &no_tracks).expect_err("no tracks");
        assert!(
            matches!(err, ProbeError::NoTrack { what: "视频", .. }),
            "{err}"
        );
        assert_eq!(err.to_string(), "视频文件里没有视频轨道");
        let sound_only = movie(b"isom", 1000, 240_000, &[SOUND], &[], None);
        assert!(duration("video/mp4", &sound_only).is_err());
        assert!(
            duration(
                "video/quicktime",
                &movie(b"qt  ", 600, 600, &[SUBTITLE], &[], None)
            )
            .is_err()
        );
        let with_sound = movie(b"isom", 1000, 240_000, &[VIDEO, SOUND], &[], None);
        assert_eq!(
            duration("video/mp4", &with_sound).ok(),
            Some(Duration::from_secs(240))
        );
        let silent = movie(b"isom", 1000, 5_000, &[VIDEO], &[], None);
        assert_eq!(
            duration("video/mp4", &silent).ok(),
            Some(Duration::from_secs(5))
        );

        let pictures_only = movie(b"M4A ", 44_100, 441_000, &[VIDEO], &[], None);
        let err = duration("audio/mp4", &pictures_only).expect_err("no sound");
        assert_eq!(err.to_string(), "音频文件里没有音频轨道");
        assert!(
            duration(
                "audio/mp4",
                &movie(b"M4A ", 44_100, 441_000, &[], &[], None)
            )
            .is_err()
        );
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
