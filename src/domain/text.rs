//! Counting characters as a reader counts them.

use unicode_segmentation::UnicodeSegmentation;

/// User-perceived characters (grapheme clusters) of `text` after trimming whitespace:
/// punctuation counts, an emoji with modifiers counts once.
pub fn char_count(text: &str) -> u32 {
    let count = text.trim().graphemes(true).count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::char_count;

    #[test]
    fn characters_are_counted_as_a_person_counts_them() {
        assert_eq!(char_count("  网聚职工正能量！  "), 8);
        assert_eq!(char_count("👍🏽"), 1, "skin-tone modifier joins the emoji");
        assert_eq!(char_count("👨‍👩‍👧"), 1, "a ZWJ family is one character");
        assert_eq!(char_count("e\u{301}"), 1, "combining accent");
        assert_eq!(
            char_count("　全角空格　"),
            4,
            "ideographic spaces are trimmed"
        );
        assert_eq!(char_count(""), 0);
    }
}
