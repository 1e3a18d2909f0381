//! MP4, MOV and M4A files without their user data: phones write the place a video was shot in
//! `moov/udta` (`©xyz`, `loci`) and `moov/meta` (Apple's `com.apple.quicktime.location.ISO6709`),
//! also per track. Those boxes become zero-filled `free` boxes in place: same sizes, so no
//! offset in the file changes and a player skips them; the pictures and sound are untouched.

use std::io::{Read, Seek, SeekFrom, Write};

/// Box types whose contents are metadata, inside `moov` and inside each `trak`.
const METADATA: [&[u8; 4]; 2] = [b"udta", b"meta"];
/// How deep containers are followed (moov → trak → udta is as deep as location goes).
const CONTAINERS: [&[u8; 4]; 2] = [b"moov", b"trak"];

/// One box header: where it starts, its whole size and its type.
struct BoxHeader {
    start: u64,
    size: u64,
    header_len: u64,
    kind: [u8; 4],
}

fn read_header(
    file: &mut (impl Read + Seek),
    start: u64,
    end: u64,
) -> std::io::Result<Option<BoxHeader>> {
    if start + 8 > end {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(start))?;
    let mut head = [0u8; 8];
    file.read_exact(&mut head)?;
    let small = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
    let kind = [head[4], head[5], head[6], head[7]];
    let (size, header_len) = match small {
        // To the end of the enclosing box (or file).
        0 => (end - start, 8),
        // A 64-bit size follows the type.
        1 => {
            let mut large = [0u8; 8];
            file.read_exact(&mut large)?;
            (u64::from_be_bytes(large), 16)
        }
        n => (n, 8),
    };
    if size < header_len || start + size > end {
        return Ok(None);
    }
    Ok(Some(BoxHeader {
        start,
        size,
        header_len,
        kind,
    }))
}

/// Renames every metadata box in `[start, end)` to `free`, following `moov` and `trak`;
/// returns how many were renamed.
fn blank_in(
    file: &mut (impl Read + Write + Seek),
    start: u64,
    end: u64,
    depth: u8,
) -> std::io::Result<usize> {
    let mut renamed = 0;
    let mut at = start;
    while let Some(header) = read_header(file, at, end)? {
        if METADATA.contains(&&header.kind) && depth > 0 {
            file.seek(SeekFrom::Start(header.start + 4))?;
            file.write_all(b"free")?;
            // A `free` box's bytes are skipped by players but still in the file: zero them.
            let zeros = [0u8; 4096];
            let mut left = header.size - header.header_len;
            file.seek(SeekFrom::Start(header.start + header.header_len))?;
            while left > 0 {
                let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
                file.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            renamed += 1;
        } else if CONTAINERS.contains(&&header.kind) && depth < 2 {
            renamed += blank_in(
                file,
                header.start + 8,
                header.start + header.size,
                depth + 1,
            )?;
        }
        at = header.start + header.size;
    }
    Ok(renamed)
}

/// Blanks the user-data and metadata boxes of an MP4/MOV/M4A file of `size` bytes in place;
/// returns how many boxes were blanked. A file whose boxes do not add up is left as it is
/// (the duration probe has refused anything unreadable by then).
pub fn blank_metadata(file: &mut (impl Read + Write + Seek), size: u64) -> std::io::Result<usize> {
    blank_in(file, 0, size, 0)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::blank_metadata;
    use crate::storage::media::{fixtures::mp4_box, mp4_duration};

    fn movie_with_location(with_track: bool) -> Vec<u8> {
        let mvhd = crate::storage::media::fixtures::mp4(b"isom", 1000, 5000);
        // `mp4()` is ftyp + moov(mvhd); put user data with a location into the moov and a track.
        let location = mp4_box(b"\xa9xyz", b"\x00\x12\x15\xc7+31.2304+121.4737/");
        let udta = mp4_box(b"udta", &location);
        let meta = mp4_box(
            b"meta",
            b"com.apple.quicktime.location.ISO6709 +31.2304+121.4737",
        );
        let trak = mp4_box(b"trak", &mp4_box(b"udta", &location));
        let ftyp_len = u32::from_be_bytes([mvhd[0], mvhd[1], mvhd[2], mvhd[3]]) as usize;
        let moov = &mvhd[ftyp_len..];
        let mut children = moov[8..].to_vec();
        children.extend_from_slice(&udta);
        children.extend_from_slice(&meta);
        if with_track {
            children.extend_from_slice(&trak);
        }
        let mut file = mvhd[..ftyp_len].to_vec();
        file.extend_from_slice(&mp4_box(b"moov", &children));
        file
    }

    fn blank(original: &[u8]) -> (usize, Vec<u8>) {
        let mut file = Cursor::new(original.to_vec());
        let renamed = blank_metadata(&mut file, original.len() as u64).unwrap();
        (renamed, file.into_inner())
    }

    #[test]
    fn location_boxes_become_free_and_the_movie_still_reads() {
        let original = movie_with_location(false);
        let (renamed, blanked) = blank(&original);
        assert_eq!(renamed, 2, "moov/udta and moov/meta");
        assert_eq!(blanked.len(), original.len(), "no size changed");
        for gone in [b"udta".as_slice(), b"meta", b"+31.2304"] {
            assert!(!blanked.windows(gone.len()).any(|w| w == gone));
        }
        // 5,000 units at 1,000 a second, as the fixture's mvhd says.
        assert_eq!(
            mp4_duration(&blanked).unwrap(),
            std::time::Duration::from_secs(5)
        );
    }

    #[test]
    fn a_tracks_user_data_is_blanked_too() {
        let original = movie_with_location(true);
        let (renamed, blanked) = blank(&original);
        assert_eq!(renamed, 3, "moov/udta, moov/meta and trak/udta");
        assert!(!blanked.windows(4).any(|w| w == b"udta"));
        assert!(blanked.windows(4).any(|w| w == b"trak"), "the track stays");
    }

    #[test]
    fn a_file_whose_boxes_do_not_add_up_is_left_alone() {
        let mut junk = Cursor::new(b"\x00\x00\x10\x00moovudta".to_vec());
        assert_eq!(blank_metadata(&mut junk, 12).unwrap(), 0);
        assert_eq!(junk.into_inner(), b"\x00\x00\x10\x00moovudta");
    }
}
