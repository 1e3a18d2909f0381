//! The official account's chat texts (`replies.toml`), loaded and checked once.

use std::collections::HashSet;

use serde::Deserialize;

/// Why the replies file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RepliesError {
    /// The file could not be read.
    #[error("replies file `{path}`: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Malformed TOML or a missing text.
    #[error("replies file: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A rule of the format is broken.
    #[error("replies file: {0}")]
    Invalid(String),
}

/// Texts for the outcomes of chat commands.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Messages {
    /// A work was stored: {category} {code}.
    pub work_received: String,
    /// A rule is broken: {reason}.
    pub rule_broken: String,
    /// Submissions are not open: {phase}.
    pub phase_not_open: String,
    /// A photo joined the draft: {count} {keyword}.
    pub photo_added: String,
    /// The draft is full: {max} {keyword}.
    pub photo_limit: String,
    /// A caption came without photos: {keyword}.
    pub photo_draft_empty: String,
    /// 我的作品 with no works.
    pub my_works_empty: String,
    /// 我的作品 header: {count}.
    pub my_works_header: String,
    /// One work: {code} {title} {category} {status} {votes}.
    pub my_works_line: String,
    /// A follower scanned a unit's QR code: {unit}.
    pub unit_scanned: String,
    /// Put before a reply that arrives late by customer-service message.
    #[serde(default)]
    pub late_reply_prefix: String,
}

/// A keyword reply.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyword {
    /// Whole messages that trigger it.
    pub words: Vec<String>,
    /// The reply.
    pub reply: String,
}

/// What a menu click does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClickAction {
    /// Answer with this text.
    Reply(String),
    /// List the sender's works.
    MyWorks,
    /// The help text.
    Help,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClick {
    key: String,
    #[serde(default)]
    reply: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplies {
    my_works_keyword: String,
    welcome: String,
    welcome_unit: String,
    help: String,
    messages: Messages,
    #[serde(default)]
    keywords: Vec<Keyword>,
    #[serde(default)]
    clicks: Vec<RawClick>,
}

/// The validated chat texts.
#[derive(Clone, Debug)]
pub struct Replies {
    /// The message that lists one's works.
    pub my_works_keyword: String,
    /// Answer to a follow.
    pub welcome: String,
    /// Added to the welcome when the follow came through a unit's QR code: {unit}.
    pub welcome_unit: String,
    /// Answer to anything not understood.
    pub help: String,
    /// Command outcomes.
    pub messages: Messages,
    /// Keyword replies.
    pub keywords: Vec<Keyword>,
    /// Menu click keys and what they do.
    pub clicks: Vec<(String, ClickAction)>,
}

impl Replies {
    /// Loads and checks a replies file.
    pub fn load(path: &std::path::Path) -> Result<Self, RepliesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RepliesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks replies text.
    pub fn parse(text: &str) -> Result<Self, RepliesError> {
        let raw: RawReplies = toml::from_str(text)?;
        let mut seen = HashSet::new();
        for word in raw.keywords.iter().flat_map(|k| &k.words) {
            if word.trim().is_empty() || !seen.insert(word.trim().to_owned()) {
                return Err(RepliesError::Invalid(format!(
                    "keyword `{word}` is empty or listed twice"
                )));
            }
        }
        let clicks = raw
            .clicks
            .into_iter()
            .map(|click| {
                let action = match (click.reply, click.action.as_deref()) {
                    (Some(reply), None) => ClickAction::Reply(reply),
                    (None, Some("my_works")) => ClickAction::MyWorks,
                    (None, Some("help")) => ClickAction::Help,
                    _ => {
                        return Err(RepliesError::Invalid(format!(
                            "click `{}` needs either reply = \"...\" or action = \"my_works\" | \"help\"",
                            click.key
                        )));
                    }
                };
                Ok((click.key, action))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            my_works_keyword: raw.my_works_keyword,
            welcome: raw.welcome,
            welcome_unit: raw.welcome_unit,
            help: raw.help,
            messages: raw.messages,
            keywords: raw.keywords,
            clicks,
        })
    }

    /// The reply configured for a whole message, if any.
    pub fn keyword_reply(&self, text: &str) -> Option<&str> {
        let text = text.trim();
        self.keywords
            .iter()
            .find(|k| k.words.iter().any(|w| w.trim() == text))
            .map(|k| k.reply.as_str())
    }

    /// What a menu key does, if it is configured.
    pub fn click(&self, key: &str) -> Option<&ClickAction> {
        self.clicks.iter().find(|(k, _)| k == key).map(|(_, a)| a)
    }
}

/// Fills `{name}` placeholders in a template.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../wechat-config/replies.toml");

    #[test]
    fn the_shipped_replies_are_valid() {
        let replies = Replies::parse(SHIPPED).expect("valid");
        assert!(replies.keyword_reply(" 活动介绍 ").is_some());
        assert_eq!(replies.click("MY_WORKS"), Some(&ClickAction::MyWorks));
        assert!(replies.keyword_reply("网言网语 你好").is_none());
    }

    #[test]
    fn a_click_without_reply_or_action_is_refused() {
        let text = SHIPPED.replace("action = \"help\"", "");
        assert!(Replies::parse(&text).is_err());
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill("编号 {code}，{code}", &[("code", "WY-0001")]),
            "编号 WY-0001，WY-0001"
        );
    }
}
