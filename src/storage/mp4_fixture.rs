//! MP4, MOV and M4A files built in code for tests, so that no binary fixture is needed.
//!
//! One source for the unit tests (`storage::media::fixtures`) and the API tests, which include
//! this file by `#[path]`; hence only `std` here. Each track carries every box the `mp4` crate
//! requires (tkhd, mdia/mdhd/hdlr, minf/dinf/dref, stbl/stsd/stts/stsc/stsz/stco), all empty.

#![allow(dead_code)] // each includer uses a part

/// A video track's media handler.
pub const VIDEO: &[u8; 4] = b"vide";
/// A sound track's media handler.
pub const SOUND: &[u8; 4] = b"soun";
/// A subtitle track's media handler.
pub const SUBTITLE: &[u8; 4] = b"sbtl";

/// One ISO box: size, type, payload.
pub fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let size = u32::try_from(payload.len() + 8).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// A full box: version 0, `flags`, then `body`.
fn full_box(kind: &[u8; 4], flags: u32, body: &[u8]) -> Vec<u8> {
    let mut payload = flags.to_be_bytes().to_vec();
    payload.extend_from_slice(body);
    mp4_box(kind, &payload)
}

const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

fn matrix() -> Vec<u8> {
    UNITY_MATRIX.iter().flat_map(|m| m.to_be_bytes()).collect()
}

/// The movie header (version 0): `duration` units of `timescale` a second.
fn mvhd(timescale: u32, duration: u32, next_track: u32) -> Vec<u8> {
    let mut body = vec![0u8; 8]; // creation and modification times
    body.extend_from_slice(&timescale.to_be_bytes());
    body.extend_from_slice(&duration.to_be_bytes());
    body.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    body.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    body.extend_from_slice(&[0u8; 10]); // reserved
    body.extend(matrix());
    body.extend_from_slice(&[0u8; 24]); // pre-defined
    body.extend_from_slice(&next_track.to_be_bytes());
    full_box(b"mvhd", 0, &body)
}

/// A track `id` whose media handler is `handler` (`vide`, `soun`, ...), with no samples.
pub fn trak(id: u32, handler: &[u8; 4], timescale: u32, duration: u32) -> Vec<u8> {
    let mut tkhd = vec![0u8; 8]; // creation and modification times
    tkhd.extend_from_slice(&id.to_be_bytes());
    tkhd.extend_from_slice(&[0u8; 4]); // reserved
    tkhd.extend_from_slice(&duration.to_be_bytes());
    tkhd.extend_from_slice(&[0u8; 8]); // reserved
    tkhd.extend_from_slice(&[0u8; 4]); // layer, alternate group
    let volume: u16 = if handler == SOUND { 0x0100 } else { 0 };
    tkhd.extend_from_slice(&volume.to_be_bytes());
    tkhd.extend_from_slice(&[0u8; 2]); // reserved
    tkhd.extend(matrix());
    let (width, height): (u32, u32) = if handler == VIDEO { (640, 360) } else { (0, 0) };
    tkhd.extend_from_slice(&(width << 16).to_be_bytes());
    tkhd.extend_from_slice(&(height << 16).to_be_bytes());

    let mut mdhd = vec![0u8; 8];
    mdhd.extend_from_slice(&timescale.to_be_bytes());
    mdhd.extend_from_slice(&duration.to_be_bytes());
    mdhd.extend_from_slice(&0x55c4u16.to_be_bytes()); // "und"
    mdhd.extend_from_slice(&[0u8; 2]); // pre-defined

    let mut hdlr = vec![0u8; 4]; // pre-defined
    hdlr.extend_from_slice(handler);
    hdlr.extend_from_slice(&[0u8; 12]); // reserved
    hdlr.extend_from_slice(b"fixture\0");

    let empty_table = 0u32.to_be_bytes(); // entry count 0
    // stsd's entry count is followed by one sample entry; an unknown kind is skipped.
    let mut stsd = 1u32.to_be_bytes().to_vec();
    stsd.extend(mp4_box(b"none", &[]));
    let stbl = [
        full_box(b"stsd", 0, &stsd),
        full_box(b"stts", 0, &empty_table),
        full_box(b"stsc", 0, &empty_table),
        full_box(b"stsz", 0, &[0u8; 8]), // sample size 0, sample count 0
        full_box(b"stco", 0, &empty_table),
    ]
    .concat();
    let minf = [
        mp4_box(b"dinf", &full_box(b"dref", 0, &empty_table)),
        mp4_box(b"stbl", &stbl),
    ]
    .concat();
    let mdia = [
        full_box(b"mdhd", 0, &mdhd),
        full_box(b"hdlr", 0, &hdlr),
        mp4_box(b"minf", &minf),
    ]
    .concat();
    let trak = [full_box(b"tkhd", 3, &tkhd), mp4_box(b"mdia", &mdia)].concat();
    mp4_box(b"trak", &trak)
}

/// `ftyp` (brand `brand`), a `moov` with the movie header, one track per handler and
/// `moov_extra` appended (user data, say), then, if asked, an `mdat` of that many zero bytes.
pub fn movie(
    brand: &[u8; 4],
    timescale: u32,
    duration: u32,
    handlers: &[&[u8; 4]],
    moov_extra: &[u8],
    mdat: Option<usize>,
) -> Vec<u8> {
    let mut ftyp = brand.to_vec();
    ftyp.extend_from_slice(&0u32.to_be_bytes());
    ftyp.extend_from_slice(brand);
    ftyp.extend_from_slice(b"mp41");
    let next_track = u32::try_from(handlers.len() + 1).unwrap_or(u32::MAX);
    let mut moov = mvhd(timescale, duration, next_track);
    for (id, handler) in (1u32..).zip(handlers) {
        moov.extend(trak(id, handler, timescale, duration));
    }
    moov.extend_from_slice(moov_extra);
    let mut out = mp4_box(b"ftyp", &ftyp);
    out.extend(mp4_box(b"moov", &moov));
    if let Some(len) = mdat {
        out.extend(mp4_box(b"mdat", &vec![0u8; len]));
    }
    out
}
