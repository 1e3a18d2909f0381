//! The campaign as data: `campaign.toml` loaded and validated once, then read-only.
//!
//! A file that breaks its own rules (unknown kind, min > max, overlapping phases) stops the
//! server with a message naming the line.

pub mod catalog;
pub mod notices;
mod raw;
pub mod replies;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

pub use raw::CampaignError;

/// The four phases of a campaign, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhaseKey {
    /// 启动: visible, submissions not yet open.
    Launch,
    /// 广泛开展: submissions open.
    Open,
    /// 展示评选: voting and jury scoring.
    Showcase,
    /// Results published; read-only.
    Closed,
}

impl PhaseKey {
    /// Every phase, in order.
    pub const ALL: [PhaseKey; 4] = [Self::Launch, Self::Open, Self::Showcase, Self::Closed];

    /// The key used in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Launch => "launch",
            Self::Open => "open",
            Self::Showcase => "showcase",
            Self::Closed => "closed",
        }
    }

    /// Parses a key used in files and the API.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// One phase with its local dates (inclusive).
#[derive(Clone, Debug)]
pub struct Phase {
    /// Which phase.
    pub key: PhaseKey,
    /// Display name.
    pub name: String,
    /// First day.
    pub starts: NaiveDate,
    /// Last day.
    pub ends: NaiveDate,
}

/// What a work of a category consists of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkKind {
    /// Text only.
    Text,
    /// Images with text.
    Images,
    /// A video.
    Video,
    /// A recording.
    Audio,
    /// Several of the above.
    Mixed,
}

impl WorkKind {
    /// Every value, in order.
    pub const ALL: [Self; 5] = [
        Self::Text,
        Self::Images,
        Self::Video,
        Self::Audio,
        Self::Mixed,
    ];

    /// The key used in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Images => "images",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Mixed => "mixed",
        }
    }
}

/// An inclusive `[min, max]` range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Smallest allowed.
    pub min: u32,
    /// Largest allowed.
    pub max: u32,
}

impl Range {
    /// Nothing allowed.
    pub const NONE: Range = Range { min: 0, max: 0 };

    /// Whether `value` lies in the range.
    pub fn contains(self, value: u32) -> bool {
        (self.min..=self.max).contains(&value)
    }
}

/// A part of a work that `require_any` can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The text body.
    Body,
    /// At least one image.
    Images,
    /// A video.
    Video,
    /// A recording.
    Audio,
}

/// The rules a work of one category must satisfy.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Title length in graphemes.
    pub title_chars: Range,
    /// Body length in graphemes.
    pub body_chars: Range,
    /// Number of images.
    pub images: Range,
    /// Number of videos.
    pub videos: Range,
    /// Number of recordings.
    pub audios: Range,
    /// Video duration in seconds, when a video is attached.
    pub video_seconds: Option<Range>,
    /// Recording duration in seconds, when a recording is attached.
    pub audio_seconds: Option<Range>,
    /// At least one of these must be present.
    pub require_any: Vec<Part>,
    /// The author must declare a true story (真人真事).
    pub true_story: bool,
}

/// How a category's awards are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awards {
    /// 一/二/三等奖 with these counts.
    Prizes {
        /// 一等奖.
        first: u32,
        /// 二等奖.
        second: u32,
        /// 三等奖.
        third: u32,
    },
    /// The top N by combined score (十大).
    TopN(u32),
}

/// One category of works.
#[derive(Clone, Debug)]
pub struct Category {
    /// Stable key (`slogan`, `photo_story`, ...).
    pub key: String,
    /// Display name.
    pub name: String,
    /// Group (网上练兵, 网上文化, 评选).
    pub group: String,
    /// What a work is.
    pub kind: WorkKind,
    /// Submission rules.
    pub rules: Rules,
    /// The chat keyword that submits to this category from the official account.
    pub chat_keyword: Option<String>,
    /// How awards are given.
    pub awards: Awards,
}

/// An organising unit (区局/产业工会).
#[derive(Clone, Debug)]
pub struct UnitDef {
    /// Code used in QR scenes.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// Voting rules.
#[derive(Clone, Debug)]
pub struct Voting {
    /// Cap of counted votes per person per campaign day.
    pub votes_per_person_per_day: u32,
    /// Voters must follow the official account.
    pub require_follow: bool,
    /// Vote requests one person may make per minute (per instance).
    pub per_person_per_minute: std::num::NonZeroU32,
    /// Vote requests one IP may make per minute (per instance); generous, as a factory's
    /// workers share one NAT address.
    pub per_ip_per_minute: std::num::NonZeroU32,
    /// When a vote is held back as suspicious.
    pub fraud: FraudThresholds,
}

/// Fraud signals that flag a vote (a flagged vote is kept but not counted); 0 turns one off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FraudThresholds {
    /// Votes on one work within a minute beyond which further ones are flagged.
    pub burst_per_work_per_minute: u32,
    /// Accounts younger than this many minutes are flagged.
    pub account_younger_than_minutes: u32,
    /// Distinct accounts voting from one IP in a day beyond which further ones are flagged.
    pub accounts_per_ip_per_day: u32,
}

/// How votes and jury combine.
#[derive(Clone, Debug)]
pub struct Scoring {
    /// Weight of the normalised vote score.
    pub vote_weight: f64,
    /// Weight of the jury mean.
    pub jury_weight: f64,
}

/// A validated campaign.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// Unique slug (`shwm-2017`): `?campaign=` in the API, the key of its database row.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Local time zone of dates and campaign days.
    pub timezone: Tz,
    /// Prefix of human work codes.
    pub code_prefix: String,
    /// Mini-program page linked from chat replies.
    pub mini_program_path: String,
    /// Phases in order.
    pub phases: Vec<Phase>,
    /// Publish works that pass content security without a reviewer.
    pub auto_approve: bool,
    /// Voting rules.
    pub voting: Voting,
    /// Scoring weights.
    pub scoring: Scoring,
    /// Organising units.
    pub units: Vec<UnitDef>,
    /// Categories.
    pub categories: Vec<Category>,
}

impl Campaign {
    /// Loads and validates a campaign file; without a `key` the file's stem is the key.
    pub fn load(path: &std::path::Path) -> Result<Self, CampaignError> {
        let text = std::fs::read_to_string(path).map_err(|source| CampaignError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse_file(path, &text)
    }

    /// Parses the text of the file at `path`: its stem is the key if the text names none,
    /// and a problem names the file.
    pub fn parse_file(path: &std::path::Path, text: &str) -> Result<Self, CampaignError> {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        Self::parse(text, stem).map_err(|error| CampaignError::InFile {
            path: path.display().to_string(),
            error: Box::new(error),
        })
    }

    /// Parses and validates campaign text; `fallback_key` when the text names no `key`.
    pub fn parse(text: &str, fallback_key: &str) -> Result<Self, CampaignError> {
        raw::parse(text, fallback_key)
    }

    /// The phase by the calendar at `now` (before the first phase: `Launch`).
    pub fn phase_by_date(&self, now: DateTime<Utc>) -> PhaseKey {
        let today = self.local_date(now);
        self.phases
            .iter()
            .find(|p| p.starts <= today && today <= p.ends)
            .or_else(|| self.phases.iter().rev().find(|p| p.ends < today))
            .map_or(PhaseKey::Launch, |p| p.key)
    }

    /// The campaign day (local date) of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// The category with this key.
    pub fn category(&self, key: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.key == key)
    }

    /// The category a chat keyword submits to.
    pub fn category_by_chat_keyword(&self, keyword: &str) -> Option<&Category> {
        self.categories
            .iter()
            .find(|c| c.chat_keyword.as_deref() == Some(keyword))
    }

    /// The unit with this QR-scene code.
    pub fn unit(&self, code: &str) -> Option<&UnitDef> {
        self.units.iter().find(|u| u.code == code)
    }
}

#[cfg(test)]
mod tests;
