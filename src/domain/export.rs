//! Spreadsheet safety of exported text.

use std::borrow::Cow;

/// Text that Excel would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the start) gets a
/// leading apostrophe: exports carry what users typed, and opening one must not execute it.
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_are_defused_and_plain_text_is_left_alone() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("网聚正能量"), "网聚正能量");
        assert_eq!(spreadsheet_safe(""), "");
    }
}
