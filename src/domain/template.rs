//! Subscribe-message data checked as WeChat checks it, so that 47003 is caught here: each
//! value's rules come from its key's type prefix (`thing1`, `phrase2`, `time3`, ...).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// The value types of subscribe-message keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// Any text, at most 20 characters.
    Thing,
    /// A number, at most 32 digits, decimals allowed.
    Number,
    /// Letters, at most 32.
    Letter,
    /// Symbols, at most 5.
    Symbol,
    /// Digits, letters and symbols, at most 32.
    CharacterString,
    /// A 24-hour time or date, or a range joined by `~`.
    Time,
    /// A date, or a range joined by `~`.
    Date,
    /// A currency sign and at most 10 digits, optionally `元`.
    Amount,
    /// A phone number, at most 17 characters.
    PhoneNumber,
    /// A car plate, at most 8 characters.
    CarNumber,
    /// A name: at most 10 CJK characters or 20 letters.
    Name,
    /// At most 5 CJK characters only.
    Phrase,
}

impl ValueType {
    /// The type named by a key such as `thing1` or `character_string12`.
    pub fn of_key(key: &str) -> Option<Self> {
        let prefix = key.trim_end_matches(|c: char| c.is_ascii_digit());
        if prefix.len() == key.len() {
            return None;
        }
        Some(match prefix {
            "thing" => Self::Thing,
            "number" => Self::Number,
            "letter" => Self::Letter,
            "symbol" => Self::Symbol,
            "character_string" => Self::CharacterString,
            "time" => Self::Time,
            "date" => Self::Date,
            "amount" => Self::Amount,
            "phone_number" => Self::PhoneNumber,
            "car_number" => Self::CarNumber,
            "name" => Self::Name,
            "phrase" => Self::Phrase,
            _ => return None,
        })
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF)
}

fn is_symbol(c: char) -> bool {
    c.is_ascii_punctuation()
}

fn count(text: &str) -> usize {
    text.chars().count()
}

fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let digit_count = whole.len() + fraction.map_or(0, str::len);
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
        && digit_count <= 32
}

fn is_date(text: &str) -> bool {
    ["%Y-%m-%d", "%Y年%m月%d日", "%Y/%m/%d"]
        .iter()
        .any(|f| NaiveDate::parse_from_str(text, f).is_ok())
}

fn is_time(text: &str) -> bool {
    is_date(text)
        || ["%H:%M", "%H:%M:%S"]
            .iter()
            .any(|f| NaiveTime::parse_from_str(text, f).is_ok())
        || [
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y年%m月%d日 %H:%M",
            "%Y/%m/%d %H:%M",
        ]
        .iter()
        .any(|f| NaiveDateTime::parse_from_str(text, f).is_ok())
}

fn ranged(text: &str, single: fn(&str) -> bool) -> bool {
    let mut parts = text.split('~');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(one), None, None) => single(one.trim()),
        (Some(from), Some(to), None) => single(from.trim()) && single(to.trim()),
        _ => false,
    }
}

fn is_amount(text: &str) -> bool {
    let rest = text.strip_prefix(['¥', '￥', '$']).unwrap_or(text);
    let rest = rest.strip_suffix('元').unwrap_or(rest);
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    is_number(rest) && !rest.starts_with('-') && digits <= 10
}

/// Why a value is refused, in words for the admin, or `None` when WeChat will take it.
pub fn check_value(kind: ValueType, value: &str) -> Option<&'static str> {
    let n = count(value);
    let ok = n > 0
        && match kind {
            ValueType::Thing => n <= 20,
            ValueType::Number => is_number(value),
            ValueType::Letter => n <= 32 && value.chars().all(|c| c.is_ascii_alphabetic()),
            ValueType::Symbol => n <= 5 && value.chars().all(is_symbol),
            ValueType::CharacterString => {
                n <= 32
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || is_symbol(c))
            }
            ValueType::Time => ranged(value, is_time),
            ValueType::Date => ranged(value, is_date),
            ValueType::Amount => is_amount(value),
            ValueType::PhoneNumber => {
                n <= 17
                    && value
                        .chars()
                        .all(|c| c.is_ascii_digit() || "+-".contains(c))
            }
            ValueType::CarNumber => {
                n <= 8
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || is_cjk(c))
            }
            ValueType::Name => {
                (n <= 10 && value.chars().all(is_cjk))
                    || (n <= 20
                        && value
                            .chars()
                            .all(|c| c.is_ascii_alphabetic() || c == ' ' || is_symbol(c)))
            }
            ValueType::Phrase => n <= 5 && value.chars().all(is_cjk),
        };
    if ok {
        return None;
    }
    Some(match kind {
        ValueType::Thing => "须为1至20个字",
        ValueType::Number => "须为32位以内的数字",
        ValueType::Letter => "须为32个以内的字母",
        ValueType::Symbol => "须为5个以内的符号",
        ValueType::CharacterString => "须为32个以内的数字、字母或符号",
        ValueType::Time => "须为24小时制时间或日期（范围用~连接）",
        ValueType::Date => "须为日期（范围用~连接）",
        ValueType::Amount => "须为货币符号加10位以内数字（可带“元”）",
        ValueType::PhoneNumber => "须为17位以内的电话号码",
        ValueType::CarNumber => "须为8位以内的车牌号",
        ValueType::Name => "须为10个以内汉字或20个以内字母",
        ValueType::Phrase => "须为5个以内汉字",
    })
}

/// Shortens user-made text to fit a key's type (a `thing` holds 20 characters), so that
/// titles and reasons never make WeChat refuse a message.
pub fn fit(kind: ValueType, value: &str) -> String {
    let max = match kind {
        ValueType::Thing => 20,
        ValueType::Letter | ValueType::CharacterString | ValueType::Number => 32,
        ValueType::Name => 10,
        ValueType::Phrase | ValueType::Symbol => 5,
        _ => return value.to_owned(),
    };
    let clean: String = value.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut short: String = clean.chars().take(max - 1).collect();
    short.push('…');
    short
}

/// Most keys a template's data has (WeChat's templates have a handful).
pub const MAX_DATA_KEYS: usize = 20;

/// What every data value and key must hold whatever its type: keys short and plain, values
/// without control characters; `None` when it does.
fn unfit_field(key: &str, value: &str) -> Option<&'static str> {
    if key.len() > 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Some("字段名须为32个以内的字母、数字或下划线");
    }
    crate::domain::text::check_stored(value, 200, false)
        .err()
        .map(|_| "含有不允许的控制字符或无法保存的字符")
}

/// The error for data with too many keys, or `None`.
fn too_many_keys(
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Option<BTreeMap<String, String>> {
    (fields.len() > MAX_DATA_KEYS)
        .then(|| [("data".to_owned(), format!("最多{MAX_DATA_KEYS}个字段"))].into())
}

/// Checks WeChat-shaped data (`{"thing1":{"value":"…"}}`); errors are keyed by the data key.
pub fn check_data(data: &serde_json::Value) -> Result<(), BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let Some(fields) = data.as_object().filter(|f| !f.is_empty()) else {
        errors.insert(
            "data".to_owned(),
            "须为 {\"thing1\":{\"value\":\"…\"}} 形式".to_owned(),
        );
        return Err(errors);
    };
    if let Some(errors) = too_many_keys(fields) {
        return Err(errors);
    }
    for (key, field) in fields {
        if let Some(reason) = field
            .get("value")
            .and_then(serde_json::Value::as_str)
            .and_then(|value| unfit_field(key, value))
        {
            errors.insert(key.clone(), reason.to_owned());
            continue;
        }
        let Some(kind) = ValueType::of_key(key) else {
            errors.insert(key.clone(), "不认识的字段类型".to_owned());
            continue;
        };
        match field.get("value").and_then(serde_json::Value::as_str) {
            None => {
                errors.insert(key.clone(), "须为 {\"value\":\"…\"}".to_owned());
            }
            Some(value) => {
                if let Some(reason) = check_value(kind, value) {
                    errors.insert(key.clone(), reason.to_owned());
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks official-account template-message data: since 2023-05-04 every value is at most
/// 20 characters on one line, and emoji are stripped by WeChat.
pub fn check_template_message_data(
    data: &serde_json::Value,
) -> Result<(), BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let Some(fields) = data.as_object().filter(|f| !f.is_empty()) else {
        errors.insert(
            "data".to_owned(),
            "须为 {\"keyword1\":{\"value\":\"…\"}} 形式".to_owned(),
        );
        return Err(errors);
    };
    if let Some(errors) = too_many_keys(fields) {
        return Err(errors);
    }
    for (key, field) in fields {
        match field.get("value").and_then(serde_json::Value::as_str) {
            Some(value) if unfit_field(key, value).is_some() => {
                errors.insert(key.clone(), "含有不允许的字符".to_owned());
            }
            Some(value)
                if count(value) > 0 && count(value) <= 20 && !value.contains(['\n', '\r']) => {}
            _ => {
                errors.insert(key.clone(), "须为1至20个字且不换行".to_owned());
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::{ValueType::*, *};
    use serde_json::json;

    #[test]
    fn control_characters_long_keys_and_key_floods_are_refused() {
        let errors = check_data(&json!({"thing1": {"value": "投票\u{0}开始"}})).unwrap_err();
        assert!(errors["thing1"].contains("控制字符"));
        let errors =
            check_template_message_data(&json!({"keyword1": {"value": "a\u{1}"}})).unwrap_err();
        assert!(errors.contains_key("keyword1"));
        let long = format!("thing{}", "1".repeat(40));
        assert!(check_data(&json!({ long: {"value": "好"} })).is_err());
        let flood: serde_json::Map<String, serde_json::Value> = (0..21)
            .map(|i| (format!("thing{i}"), json!({"value": "好"})))
            .collect();
        assert!(check_data(&serde_json::Value::Object(flood)).unwrap_err()["data"].contains("20"));
    }

    #[test]
    fn keys_name_their_type() {
        assert_eq!(ValueType::of_key("thing1"), Some(Thing));
        assert_eq!(
            ValueType::of_key("character_string12"),
            Some(CharacterString)
        );
        assert_eq!(ValueType::of_key("thing"), None, "a key has a number");
        assert_eq!(ValueType::of_key("colour1"), None);
    }

    #[test]
    fn values_follow_wechat_rules() {
        let accepted = [
            (Thing, "您的作品已通过审核，感谢参与"),
            (Number, "12.5"),
            (Letter, "ABC"),
            (Symbol, "#&"),
            (CharacterString, "WY-0042"),
            (Time, "2017-09-01 09:00"),
            (Time, "09:00~18:00"),
            (Date, "2017年09月01日"),
            (Date, "2017-09-01~2017-10-31"),
            (Amount, "¥100元"),
            (PhoneNumber, "+86-021-12345678"),
            (CarNumber, "沪A12345"),
            (Name, "张三"),
            (Name, "Zhang San"),
            (Phrase, "已通过"),
        ];
        for (kind, value) in accepted {
            assert_eq!(check_value(kind, value), None, "{kind:?} {value}");
        }
        let refused = [
            (Thing, "这是一段超过二十个字的作品标题，会被微信拒绝发送"),
            (Thing, ""),
            (Number, "1e5"),
            (Letter, "abc1"),
            (Symbol, "!!!!!!"),
            (CharacterString, "WY 0042"),
            (Time, "明天上午"),
            (Date, "2017-13-01"),
            (Amount, "一百元"),
            (PhoneNumber, "+86 138 0000 0000 000"),
            (CarNumber, "沪A-123456"),
            (Name, "张三Zhang"),
            (Phrase, "已经通过审核"),
            (Phrase, "OK"),
        ];
        for (kind, value) in refused {
            assert!(check_value(kind, value).is_some(), "{kind:?} {value}");
        }
    }

    #[test]
    fn template_message_values_are_short_single_lines() {
        assert!(check_template_message_data(&json!({"thing1": {"value": "结果已公布"}})).is_ok());
        let errors = check_template_message_data(
            &json!({"first": {"value": "两行\n文字"}, "thing2": {"value": "字".repeat(21)}}),
        )
        .expect_err("refused");
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn long_titles_are_shortened_to_fit_a_thing() {
        let fitted = fit(Thing, "凌晨四点的地铁检修工：一线职工的真实画面故事");
        assert_eq!(fitted.chars().count(), 20);
        assert_eq!(check_value(Thing, &fitted), None);
        assert_eq!(fit(Thing, "短标题"), "短标题");
    }

    #[test]
    fn data_errors_name_the_key() {
        let errors = check_data(
            &json!({"thing1": {"value": "好"}, "phrase2": {"value": "太长的一句话了"}, "x": 1}),
        )
        .expect_err("refused");
        assert!(errors.contains_key("phrase2"));
        assert!(errors.contains_key("x"));
        assert!(!errors.contains_key("thing1"));
        assert!(
            check_data(
                &json!({"thing1": {"value": "作品已通过"}, "time2": {"value": "2017-09-01"}})
            )
            .is_ok()
        );
    }
}
