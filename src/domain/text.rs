//! Counting characters as a reader counts them, and the bounds every stored text keeps.

use unicode_segmentation::UnicodeSegmentation;

/// Longest grapheme cluster accepted, in bytes: a ZWJ family emoji with skin tones takes about
/// 40; more is a pile of combining marks that counts as one character but not to the column.
pub const MAX_GRAPHEME_BYTES: usize = 64;

/// Why a text cannot be stored, whatever its field's own length rule says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfit {
    /// NUL or another control character (newline and tab are allowed in multi-line fields).
    Control,
    /// A character built of an absurd number of combining marks.
    Malformed,
    /// More code points than the column holds.
    TooLong {
        /// The column's size in code points.
        max_chars: usize,
    },
}

impl Unfit {
    /// The problem in words for the person who typed `label`.
    pub fn message(self, label: &str) -> String {
        match self {
            Self::Control => format!("{label}含有不允许的控制字符"),
            Self::Malformed => format!("{label}含有无法正常显示的字符"),
            Self::TooLong { max_chars } => format!("{label}过长（最多{max_chars}个字符）"),
        }
    }
}

/// Checks what every stored text must hold: no control characters (but newline, carriage
/// return and tab when `multiline`), no oversized grapheme, and at most `max_chars` code points
/// (PostgreSQL's `varchar(n)` counts code points, not what a reader sees).
pub fn check_stored(text: &str, max_chars: usize, multiline: bool) -> Result<(), Unfit> {
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(Unfit::Control);
    }
    if text.chars().count() > max_chars {
        return Err(Unfit::TooLong { max_chars });
    }
    if text.graphemes(true).any(|g| g.len() > MAX_GRAPHEME_BYTES) {
        return Err(Unfit::Malformed);
    }
    Ok(())
}

/// One text field's declared bound: what people read (graphemes) and what its column holds.
#[derive(Debug, Clone, Copy)]
pub struct TextBound {
    /// The field's name for people (`昵称`).
    pub label: &'static str,
    /// Readable characters allowed.
    pub max_graphemes: u32,
    /// Code points the column holds.
    pub max_chars: usize,
    /// Whether newlines and tabs belong in it.
    pub multiline: bool,
}

/// How a text broke its field's bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// It cannot be stored at all (control characters, piled marks, too many code points).
    Unfit(String),
    /// It is longer than people may write there.
    TooLong(String),
}

impl TextBound {
    /// Checks `text` (already trimmed by the caller if it trims) against both limits; each
    /// error carries a message for the person.
    pub fn check(&self, text: &str) -> Result<(), TextError> {
        check_stored(text, self.max_chars, self.multiline)
            .map_err(|e| TextError::Unfit(e.message(self.label)))?;
        let n = char_count(text);
        if n > self.max_graphemes {
            return Err(TextError::TooLong(format!(
                "{}不能超过{}字，现在{n}字",
                self.label, self.max_graphemes
            )));
        }
        Ok(())
    }
}

/// User-perceived characters (grapheme clusters) of `text` after trimming whitespace:
/// punctuation counts, an emoji with modifiers counts once.
pub fn char_count(text: &str) -> u32 {
    let count = text.trim().graphemes(true).count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::{TextBound, TextError, Unfit, char_count, check_stored};

    #[test]
    fn control_characters_are_refused_but_newlines_where_text_runs_over_lines() {
        assert_eq!(check_stored("a\u{0}b", 10, true), Err(Unfit::Control));
        assert_eq!(check_stored("a\u{7}b", 10, true), Err(Unfit::Control));
        assert_eq!(check_stored("a\nb", 10, false), Err(Unfit::Control));
        assert_eq!(check_stored("a\r\n\tb", 10, true), Ok(()));
        assert_eq!(check_stored("网聚 👨‍👩‍👧", 10, false), Ok(()));
    }

    #[test]
    fn combining_marks_count_against_the_column_and_the_grapheme() {
        let piled = format!("e{}", "\u{301}".repeat(40));
        assert_eq!(char_count(&piled), 1, "one character for a reader");
        assert_eq!(check_stored(&piled, 200, false), Err(Unfit::Malformed));
        let many = "e\u{301}".repeat(150);
        assert_eq!(char_count(&many), 150);
        assert_eq!(
            check_stored(&many, 200, false),
            Err(Unfit::TooLong { max_chars: 200 })
        );
    }

    #[test]
    fn a_bound_names_its_field_in_every_message() {
        let bound = TextBound {
            label: "昵称",
            max_graphemes: 3,
            max_chars: 8,
            multiline: false,
        };
        assert!(bound.check("小王").is_ok());
        assert!(matches!(bound.check("小王\u{0}"), Err(TextError::Unfit(m)) if m.contains("昵称")));
        assert!(
            matches!(bound.check("小王王王"), Err(TextError::TooLong(m)) if m.contains("不能超过3字"))
        );
        assert!(bound.check(&"e\u{301}".repeat(3)).is_ok());
    }

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
