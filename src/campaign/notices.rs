//! Notices the server sends on its own (`notifications.toml`): author events and milestones.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::{
    audience::Audience,
    template::{ValueType, check_value},
};

/// Why the notices file was refused.
#[derive(Debug, thiserror::Error)]
pub enum NoticesError {
    /// The file could not be read.
    #[error("notifications file `{path}`: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Malformed TOML.
    #[error("notifications file: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A rule is broken.
    #[error("notifications file: {0}")]
    Invalid(String),
}

/// A template an author event fills in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTemplate {
    /// Subscribe-message template id.
    pub template_id: String,
    /// Page opened on tap, with placeholders.
    pub page: Option<String>,
    /// Data key → value pattern.
    pub data: BTreeMap<String, String>,
}

/// A broadcast at a campaign milestone.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    /// Scheduled once by this key.
    pub key: String,
    /// When to send.
    pub send_at: DateTime<Utc>,
    /// Template id.
    pub template_id: String,
    /// Audience, as in the admin API.
    pub audience: toml::Value,
    /// Page opened on tap.
    pub page: Option<String>,
    /// Fixed values.
    pub data: BTreeMap<String, String>,
}

/// The notices configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notices {
    /// A work was approved.
    pub work_approved: Option<EventTemplate>,
    /// A work was rejected.
    pub work_rejected: Option<EventTemplate>,
    /// A work won a prize.
    pub award: Option<EventTemplate>,
    /// Campaign milestones.
    #[serde(default)]
    pub milestones: Vec<Milestone>,
}

const PLACEHOLDERS: [&str; 7] = [
    "{id}",
    "{title}",
    "{code}",
    "{category}",
    "{reason}",
    "{prize}",
    "{date}",
];

impl Notices {
    /// Loads and checks the file.
    pub fn load(path: &std::path::Path) -> Result<Self, NoticesError> {
        let text = std::fs::read_to_string(path).map_err(|source| NoticesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks notices text.
    pub fn parse(text: &str) -> Result<Self, NoticesError> {
        let notices: Notices = toml::from_str(text)?;
        for (name, template) in [
            ("work_approved", &notices.work_approved),
            ("work_rejected", &notices.work_rejected),
            ("award", &notices.award),
        ] {
            let Some(template) = template else { continue };
            for (key, pattern) in &template.data {
                ValueType::of_key(key).ok_or_else(|| {
                    NoticesError::Invalid(format!("{name}: unknown data key type `{key}`"))
                })?;
                let mut rest = pattern.clone();
                for placeholder in PLACEHOLDERS {
                    rest = rest.replace(placeholder, "");
                }
                if rest.contains('{') {
                    return Err(NoticesError::Invalid(format!(
                        "{name}.{key}: unknown placeholder in `{pattern}`"
                    )));
                }
            }
        }
        for milestone in &notices.milestones {
            for (key, value) in &milestone.data {
                let kind = ValueType::of_key(key).ok_or_else(|| {
                    NoticesError::Invalid(format!(
                        "milestone {}: unknown key `{key}`",
                        milestone.key
                    ))
                })?;
                if let Some(reason) = check_value(kind, value) {
                    return Err(NoticesError::Invalid(format!(
                        "milestone {}: {key} {reason}",
                        milestone.key
                    )));
                }
            }
            let audience = serde_json::to_value(&milestone.audience)
                .map_err(|e| NoticesError::Invalid(e.to_string()))?;
            if Audience::parse(&audience).is_none() {
                return Err(NoticesError::Invalid(format!(
                    "milestone {}: unknown audience",
                    milestone.key
                )));
            }
        }
        Ok(notices)
    }
}

#[cfg(test)]
mod tests {
    use super::Notices;

    #[test]
    fn the_shipped_notices_are_valid() {
        let notices =
            Notices::parse(include_str!("../../wechat-config/notifications.toml")).expect("valid");
        assert!(notices.work_approved.is_some());
        assert_eq!(notices.milestones.len(), 2);
    }

    #[test]
    fn a_milestone_value_wechat_would_refuse_stops_start_up() {
        let text = include_str!("../../wechat-config/notifications.toml").replace(
            "网友投票开始啦",
            "这是一段超过二十个字的里程碑通知标题会被微信拒绝",
        );
        assert!(Notices::parse(&text).is_err());
    }
}
