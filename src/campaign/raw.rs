//! The file shape of `campaign.toml` and its validation into [`Campaign`].

use std::{collections::HashSet, num::NonZeroU32};

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::{
    Awards, Campaign, Category, FraudThresholds, Part, Phase, PhaseKey, Range, Rules, Scoring,
    UnitDef, Voting, WorkKind,
};

/// Why a campaign file was refused; the message names the line where it can.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The file could not be read.
    #[error("campaign file `{path}`: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A problem inside one file, with that file's path.
    #[error("campaign file `{path}`: {error}")]
    InFile {
        /// The path.
        path: String,
        /// The problem.
        error: Box<CampaignError>,
    },
    /// Files that are fine one by one but clash with each other (keys, code prefixes, chat
    /// keywords); the message names both files.
    #[error("campaign files: {0}")]
    Clash(String),
    /// The folder could not be listed, or holds no campaign.
    #[error("campaign folder `{path}`: {reason}")]
    Folder {
        /// The folder.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// `WANGJU_DEFAULT_CAMPAIGN` names no campaign file.
    #[error("WANGJU_DEFAULT_CAMPAIGN: no campaign has the key `{0}`")]
    UnknownDefault(String),
    /// Several values break rules of the format: all of them, one per line.
    #[error("{} problems:\n{}", .0.len(), each_problem(.0))]
    Several(Vec<CampaignError>),
    /// The TOML is malformed or a value has the wrong type.
    #[error("{0}")]
    Syntax(#[from] toml::de::Error),
    /// A value breaks a rule of the campaign format.
    #[error("line {line}: {reason}")]
    Invalid {
        /// 1-based line of the offending table.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

fn each_problem(problems: &[CampaignError]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
    lines.join("\n")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    /// Optional for files from before several campaigns: the file's stem stands in.
    key: Option<Spanned<String>>,
    name: String,
    timezone: Spanned<String>,
    code_prefix: Spanned<String>,
    mini_program_path: String,
    phases: Vec<Spanned<RawPhase>>,
    moderation: RawModeration,
    voting: RawVoting,
    scoring: Spanned<RawScoring>,
    #[serde(default)]
    units: Vec<Spanned<RawUnit>>,
    categories: Vec<Spanned<RawCategory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    key: String,
    name: String,
    starts: String,
    ends: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModeration {
    auto_approve: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVoting {
    votes_per_person_per_day: u32,
    #[serde(default)]
    require_follow: bool,
    #[serde(default = "default_per_person_per_minute")]
    per_person_per_minute: NonZeroU32,
    #[serde(default = "default_per_ip_per_minute")]
    per_ip_per_minute: NonZeroU32,
    #[serde(default)]
    flag_burst_per_work_per_minute: u32,
    #[serde(default)]
    flag_account_younger_than_minutes: u32,
    #[serde(default)]
    flag_accounts_per_ip_per_day: u32,
}

fn default_per_person_per_minute() -> NonZeroU32 {
    NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN)
}

fn default_per_ip_per_minute() -> NonZeroU32 {
    NonZeroU32::new(600).unwrap_or(NonZeroU32::MIN)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScoring {
    vote_weight: f64,
    jury_weight: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    code: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    key: String,
    name: String,
    group: String,
    kind: String,
    title_chars: [u32; 2],
    body_chars: [u32; 2],
    #[serde(default)]
    images: Option<[u32; 2]>,
    #[serde(default)]
    videos: Option<[u32; 2]>,
    #[serde(default)]
    audios: Option<[u32; 2]>,
    #[serde(default)]
    video_seconds: Option<[u32; 2]>,
    #[serde(default)]
    audio_seconds: Option<[u32; 2]>,
    #[serde(default)]
    require_any: Vec<String>,
    #[serde(default)]
    true_story: bool,
    #[serde(default)]
    chat_keyword: Option<String>,
    #[serde(default)]
    prizes: Option<[u32; 3]>,
    #[serde(default)]
    top_n: Option<u32>,
}

/// Line numbers from byte offsets of spanned tables, and every problem found so far: checking
/// goes on past each, so that one start names them all.
struct Lines<'a> {
    text: &'a str,
    problems: std::cell::RefCell<Vec<CampaignError>>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            problems: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// Notes a problem of the table at `span`.
    fn note(&self, span: std::ops::Range<usize>, reason: impl Into<String>) {
        self.problems.borrow_mut().push(CampaignError::Invalid {
            line: self.of(span.start),
            reason: reason.into(),
        });
    }

    /// Notes a problem of the whole file.
    fn note_file(&self, reason: impl Into<String>) {
        self.problems.borrow_mut().push(CampaignError::Invalid {
            line: 1,
            reason: reason.into(),
        });
    }

    /// `value` if nothing was noted; one problem as itself, several as one error.
    fn finish<T>(self, value: T) -> Result<T, CampaignError> {
        let mut problems = self.problems.into_inner();
        match problems.len() {
            0 => Ok(value),
            1 => Err(problems.remove(0)),
            _ => Err(CampaignError::Several(problems)),
        }
    }
}

pub(super) fn parse(text: &str, fallback_key: &str) -> Result<Campaign, CampaignError> {
    let raw: RawCampaign = toml::from_str(text)?;
    let lines = Lines::new(text);

    let key = match &raw.key {
        Some(key) if !is_slug(key.get_ref()) => {
            lines.note(
                key.span(),
                "key must be 1-64 small letters, digits or `-`, like shwm-2017",
            );
            String::new()
        }
        Some(key) => key.get_ref().clone(),
        None if is_slug(fallback_key) => fallback_key.to_owned(),
        None => {
            lines.note_file(format!(
                "no `key`, and the file name `{fallback_key}` is no key (1-64 small letters, digits or `-`)"
            ));
            String::new()
        }
    };

    let timezone = raw
        .timezone
        .get_ref()
        .parse::<chrono_tz::Tz>()
        .unwrap_or_else(|_| {
            let reason = format!("unknown time zone `{}`", raw.timezone.get_ref());
            lines.note(raw.timezone.span(), reason);
            chrono_tz::UTC
        });
    let prefix = raw.code_prefix.get_ref();
    if prefix.is_empty() || prefix.len() > 8 || !prefix.chars().all(|c| c.is_ascii_uppercase()) {
        lines.note(
            raw.code_prefix.span(),
            "code_prefix must be 1-8 capital letters",
        );
    }

    let phases = parse_phases(&raw.phases, &lines);

    let scoring = raw.scoring.get_ref();
    let weights_ok = [scoring.vote_weight, scoring.jury_weight]
        .iter()
        .all(|w| w.is_finite() && *w >= 0.0)
        && (scoring.vote_weight + scoring.jury_weight - 1.0).abs() < 1e-9;
    if !weights_ok {
        lines.note(
            raw.scoring.span(),
            "vote_weight and jury_weight must be ≥ 0 and add up to 1",
        );
    }

    let mut unit_codes = HashSet::new();
    let mut units = Vec::new();
    for spanned in &raw.units {
        let unit = spanned.get_ref();
        let code_ok = !unit.code.is_empty()
            && unit.code.len() <= 32
            && unit
                .code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !code_ok {
            lines.note(
                spanned.span(),
                format!(
                    "unit code `{}` must be 1-32 letters, digits, `_` or `-`",
                    unit.code
                ),
            );
            continue;
        }
        if !unit_codes.insert(unit.code.clone()) {
            lines.note(
                spanned.span(),
                format!("unit code `{}` appears twice", unit.code),
            );
            continue;
        }
        units.push(UnitDef {
            code: unit.code.clone(),
            name: unit.name.clone(),
        });
    }

    let mut keys = HashSet::new();
    let mut keywords = HashSet::new();
    let mut categories = Vec::new();
    for spanned in &raw.categories {
        let category = match parse_category(spanned.get_ref()) {
            Ok(category) => category,
            Err(reason) => {
                lines.note(spanned.span(), reason);
                continue;
            }
        };
        if !keys.insert(category.key.clone()) {
            lines.note(
                spanned.span(),
                format!("category `{}` appears twice", category.key),
            );
        }
        if let Some(keyword) = &category.chat_keyword
            && !keywords.insert(keyword.clone())
        {
            lines.note(
                spanned.span(),
                format!("chat keyword `{keyword}` is used twice"),
            );
        }
        categories.push(category);
    }
    if raw.categories.is_empty() {
        lines.note_file("a campaign needs at least one category");
    }

    let campaign = Campaign {
        key,
        name: raw.name,
        timezone,
        code_prefix: prefix.clone(),
        mini_program_path: raw.mini_program_path,
        phases,
        auto_approve: raw.moderation.auto_approve,
        voting: Voting {
            votes_per_person_per_day: raw.voting.votes_per_person_per_day,
            require_follow: raw.voting.require_follow,
            per_person_per_minute: raw.voting.per_person_per_minute,
            per_ip_per_minute: raw.voting.per_ip_per_minute,
            fraud: FraudThresholds {
                burst_per_work_per_minute: raw.voting.flag_burst_per_work_per_minute,
                account_younger_than_minutes: raw.voting.flag_account_younger_than_minutes,
                accounts_per_ip_per_day: raw.voting.flag_accounts_per_ip_per_day,
            },
        },
        scoring: Scoring {
            vote_weight: scoring.vote_weight,
            jury_weight: scoring.jury_weight,
        },
        units,
        categories,
    };
    lines.finish(campaign)
}

/// A campaign key: what URLs and the database use (`shwm-2017`).
pub(super) fn is_slug(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The phases in order; a phase with a problem is noted and left out.
fn parse_phases(raw: &[Spanned<RawPhase>], lines: &Lines<'_>) -> Vec<Phase> {
    let mut phases: Vec<(Phase, std::ops::Range<usize>)> = Vec::new();
    for spanned in raw {
        let phase = spanned.get_ref();
        let Some(key) = PhaseKey::parse(&phase.key) else {
            lines.note(
                spanned.span(),
                format!(
                    "unknown phase `{}` (launch, open, showcase, closed)",
                    phase.key
                ),
            );
            continue;
        };
        let date = |text: &str| {
            let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d");
            if parsed.is_err() {
                lines.note(
                    spanned.span(),
                    format!("`{text}` is not a date like 2017-05-01"),
                );
            }
            parsed.ok()
        };
        let (Some(starts), Some(ends)) = (date(&phase.starts), date(&phase.ends)) else {
            continue;
        };
        if starts > ends {
            lines.note(
                spanned.span(),
                format!("phase `{}` ends before it starts", phase.key),
            );
            continue;
        }
        if phases.iter().any(|(p, _)| p.key == key) {
            lines.note(
                spanned.span(),
                format!("phase `{}` appears twice", phase.key),
            );
            continue;
        }
        if let Some((previous, _)) = phases.last() {
            if key <= previous.key {
                lines.note(
                    spanned.span(),
                    "phases must be listed in order: launch, open, showcase, closed",
                );
                continue;
            }
            if starts <= previous.ends {
                lines.note(
                    spanned.span(),
                    format!(
                        "phase `{}` overlaps phase `{}`",
                        phase.key,
                        previous.key.as_str()
                    ),
                );
                continue;
            }
        }
        phases.push((
            Phase {
                key,
                name: phase.name.clone(),
                starts,
                ends,
            },
            spanned.span(),
        ));
    }
    if raw.is_empty() {
        lines.note_file("a campaign needs its phases");
    }
    phases.into_iter().map(|(p, _)| p).collect()
}

fn range(pair: Option<[u32; 2]>, what: &str) -> Result<Range, String> {
    match pair {
        None => Ok(Range::NONE),
        Some([min, max]) if min <= max => Ok(Range { min, max }),
        Some([min, max]) => Err(format!("{what}: min {min} is greater than max {max}")),
    }
}

fn parse_category(raw: &RawCategory) -> Result<Category, String> {
    let key_ok = !raw.key.is_empty()
        && raw.key.len() <= 32
        && raw
            .key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        return Err(format!(
            "category key `{}` must be 1-32 lowercase letters, digits or `_`",
            raw.key
        ));
    }
    let kind = match raw.kind.as_str() {
        "text" => WorkKind::Text,
        "images" => WorkKind::Images,
        "video" => WorkKind::Video,
        "audio" => WorkKind::Audio,
        "mixed" => WorkKind::Mixed,
        other => return Err(format!("category `{}`: unknown kind `{other}`", raw.key)),
    };
    let require_any = raw
        .require_any
        .iter()
        .map(|part| match part.as_str() {
            "body" => Ok(Part::Body),
            "images" => Ok(Part::Images),
            "video" => Ok(Part::Video),
            "audio" => Ok(Part::Audio),
            other => Err(format!(
                "category `{}`: unknown part `{other}` in require_any",
                raw.key
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rules = Rules {
        title_chars: range(Some(raw.title_chars), "title_chars")?,
        body_chars: range(Some(raw.body_chars), "body_chars")?,
        images: range(raw.images, "images")?,
        videos: range(raw.videos, "videos")?,
        audios: range(raw.audios, "audios")?,
        video_seconds: raw
            .video_seconds
            .map(|r| range(Some(r), "video_seconds"))
            .transpose()?,
        audio_seconds: raw
            .audio_seconds
            .map(|r| range(Some(r), "audio_seconds"))
            .transpose()?,
        require_any,
        true_story: raw.true_story,
    };
    if rules.videos.max > 0 && rules.video_seconds.is_none() {
        return Err(format!(
            "category `{}` takes videos but has no video_seconds",
            raw.key
        ));
    }
    if rules.audios.max > 0 && rules.audio_seconds.is_none() {
        return Err(format!(
            "category `{}` takes recordings but has no audio_seconds",
            raw.key
        ));
    }
    let awards = match (raw.prizes, raw.top_n) {
        (Some([first, second, third]), None) => Awards::Prizes {
            first,
            second,
            third,
        },
        (None, Some(n)) if n > 0 => Awards::TopN(n),
        _ => {
            return Err(format!(
                "category `{}` needs exactly one of prizes = [一, 二, 三] or top_n = N",
                raw.key
            ));
        }
    };
    if let Some(keyword) = &raw.chat_keyword
        && (keyword.trim().is_empty() || keyword.contains(char::is_whitespace))
    {
        return Err(format!(
            "category `{}`: chat_keyword must be one word",
            raw.key
        ));
    }
    Ok(Category {
        key: raw.key.clone(),
        name: raw.name.clone(),
        group: raw.group.clone(),
        kind,
        rules,
        chat_keyword: raw.chat_keyword.clone(),
        awards,
    })
}
