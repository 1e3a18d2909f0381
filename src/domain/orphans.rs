//! Which stored media files are orphans: files we named whose `uploads` row never came (the
//! process died between storing the file and writing its row).

use std::collections::HashSet;

use chrono::{DateTime, Utc};

/// Whether `key` has the shape the server gives stored files, `<yyyy>/<mm>/<32 hex>.<ext>`:
/// anything else in the bucket or directory was put there by someone else and is left alone.
/// (Another wangju sharing the store would make keys of this shape: one store per deployment.)
pub fn is_media_key(key: &str) -> bool {
    let mut parts = key.split('/');
    let (Some(year), Some(month), Some(file), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some((stem, ext)) = file.split_once('.') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && month.len() == 2
        && month.bytes().all(|b| b.is_ascii_digit())
        && stem.len() == 32
        && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && (1..=5).contains(&ext.len())
        && ext
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The keys among `stored` (key, last written) to delete: ours by shape, written before
/// `cutoff`, and not `recorded` in `uploads`. The cutoff keeps a file whose row is still being
/// written (it was stored a moment ago).
pub fn orphans<'a>(
    stored: impl IntoIterator<Item = (&'a str, DateTime<Utc>)>,
    recorded: &HashSet<String>,
    cutoff: DateTime<Utc>,
) -> Vec<&'a str> {
    stored
        .into_iter()
        .filter(|(key, written)| *written < cutoff && is_media_key(key) && !recorded.contains(*key))
        .map(|(key, _)| key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "2026/11/0123456789abcdef0123456789abcdef.png";
    const RECORDED: &str = "2026/11/fedcba9876543210fedcba9876543210.mp4";

    fn at(hour: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 27, hour, 0, 0).unwrap()
    }

    #[test]
    fn keys_the_server_makes_are_recognised_and_others_are_not() {
        for ext in [
            "jpg", "png", "gif", "webp", "bmp", "mp4", "mov", "mp3", "m4a", "aac",
        ] {
            let key = crate::storage::new_key(ext, at(12));
            assert!(is_media_key(&key), "{key}");
        }
        for foreign in [
            "backup.tar",
            "2026/11/notes.txt",
            "2026/11/0123456789ABCDEF0123456789ABCDEF.png",
            "2026/11/0123456789abcdef0123456789abcdef",
            "x/2026/11/0123456789abcdef0123456789abcdef.png",
            "2026/1/0123456789abcdef0123456789abcdef.png",
            "2026/11/0123456789abcdef0123456789abcdef.png#1",
        ] {
            assert!(!is_media_key(foreign), "{foreign}");
        }
    }

    #[test]
    fn only_old_unrecorded_files_of_ours_are_orphans() {
        let recorded = HashSet::from([RECORDED.to_owned()]);
        let fresh = "2026/11/11111111111111111111111111111111.jpg";
        let stored = [
            (OURS, at(9)),
            (RECORDED, at(9)),
            (fresh, at(11)),
            ("backups/db.sql", at(1)),
        ];
        assert_eq!(orphans(stored, &recorded, at(10)), vec![OURS]);
    }

    #[test]
    fn a_file_written_exactly_at_the_cutoff_is_kept() {
        assert!(orphans([(OURS, at(10))], &HashSet::new(), at(10)).is_empty());
    }
}
