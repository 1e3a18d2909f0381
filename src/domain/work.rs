//! Works: their status, and whether a submission satisfies its category's rules.

use std::collections::BTreeMap;

use crate::{
    campaign::{Part, Range, Rules},
    domain::text::{char_count, check_stored},
};

/// Where a work is in moderation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkStatus {
    /// Waiting for WeChat content security.
    Checking,
    /// Waiting for a person.
    PendingReview,
    /// Visible to everyone.
    Approved,
    /// Refused, with a reason.
    Rejected,
    /// Withdrawn by its author.
    Withdrawn,
}

impl WorkStatus {
    /// Every value, in order.
    pub const ALL: [Self; 5] = [
        Self::Checking,
        Self::PendingReview,
        Self::Approved,
        Self::Rejected,
        Self::Withdrawn,
    ];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::PendingReview => "pending_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Checking,
            Self::PendingReview,
            Self::Approved,
            Self::Rejected,
            Self::Withdrawn,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// How the status reads to an author in chat.
    pub fn label(self) -> &'static str {
        match self {
            Self::Checking => "审核中",
            Self::PendingReview => "待人工审核",
            Self::Approved => "已通过",
            Self::Rejected => "未通过",
            Self::Withdrawn => "已撤回",
        }
    }
}

/// Which channel a work came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Official-account chat.
    Mp,
    /// Mini program.
    Miniapp,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mp => "mp",
            Self::Miniapp => "miniapp",
        }
    }
}

/// A medium attached to a submission, as measured from the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Medium {
    /// An image.
    Image,
    /// A video of this many seconds.
    Video {
        /// Duration from the container.
        seconds: u32,
    },
    /// A recording of this many seconds.
    Audio {
        /// Duration from the container.
        seconds: u32,
    },
}

/// What an author submits, before it is stored.
#[derive(Clone, Debug)]
pub struct Submission<'a> {
    /// Title.
    pub title: &'a str,
    /// Body text.
    pub body: &'a str,
    /// Attached media, in order.
    pub media: &'a [Medium],
    /// The author declared a true story (真人真事).
    pub true_story: bool,
}

/// Field name → what is wrong, in words for the author.
pub type FieldErrors = BTreeMap<String, String>;

/// A text field of a work and what its column holds, beyond the category's length rule.
struct TextField {
    name: &'static str,
    label: &'static str,
    max_chars: usize,
    multiline: bool,
}

/// The title: one line, `varchar(200)`.
const TITLE: TextField = TextField {
    name: "title",
    label: "标题",
    max_chars: 200,
    multiline: false,
};

/// The body: a `text` column, bounded far above any category's rule.
const BODY: TextField = TextField {
    name: "body",
    label: "正文",
    max_chars: 20_000,
    multiline: true,
};

fn check_chars(errors: &mut FieldErrors, field: &TextField, text: &str, range: Range) {
    if let Err(unfit) = check_stored(text, field.max_chars, field.multiline) {
        errors.insert(field.name.to_owned(), unfit.message(field.label));
        return;
    }
    let (label, field) = (field.label, field.name);
    let n = char_count(text);
    if range.max == 0 && n > 0 {
        errors.insert(field.to_owned(), format!("本类作品不需要{label}"));
    } else if n < range.min {
        errors.insert(
            field.to_owned(),
            if n == 0 {
                format!("请填写{label}")
            } else {
                format!("{label}至少{}字，现在{n}字", range.min)
            },
        );
    } else if n > range.max {
        errors.insert(
            field.to_owned(),
            format!("{label}不能超过{}字，现在{n}字", range.max),
        );
    }
}

fn check_count(errors: &mut FieldErrors, label: &str, n: u32, range: Range) {
    if range.max == 0 && n > 0 {
        errors.insert("media".to_owned(), format!("本类作品不接受{label}"));
    } else if n < range.min {
        errors.insert(
            "media".to_owned(),
            format!("至少需要{}个{label}", range.min),
        );
    } else if n > range.max {
        errors.insert("media".to_owned(), format!("最多{}个{label}", range.max));
    }
}

fn check_duration(errors: &mut FieldErrors, label: &str, seconds: u32, range: Option<Range>) {
    if let Some(range) = range
        && !range.contains(seconds)
    {
        errors.insert(
            "media".to_owned(),
            format!(
                "{label}时长须在{}至{}之间，现在{}",
                minutes(range.min),
                minutes(range.max),
                minutes(seconds)
            ),
        );
    }
}

fn minutes(seconds: u32) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s}秒"),
        (m, 0) => format!("{m}分钟"),
        (m, s) => format!("{m}分{s}秒"),
    }
}

/// Checks a submission against its category's rules; every broken rule is named by field.
pub fn validate(rules: &Rules, submission: &Submission<'_>) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    check_chars(&mut errors, &TITLE, submission.title, rules.title_chars);
    check_chars(&mut errors, &BODY, submission.body, rules.body_chars);

    let images = count(submission.media, |m| matches!(m, Medium::Image));
    let videos = count(submission.media, |m| matches!(m, Medium::Video { .. }));
    let audios = count(submission.media, |m| matches!(m, Medium::Audio { .. }));
    check_count(&mut errors, "图片", images, rules.images);
    check_count(&mut errors, "视频", videos, rules.videos);
    check_count(&mut errors, "音频", audios, rules.audios);
    for medium in submission.media {
        match *medium {
            Medium::Video { seconds } => {
                check_duration(&mut errors, "视频", seconds, rules.video_seconds)
            }
            Medium::Audio { seconds } => {
                check_duration(&mut errors, "音频", seconds, rules.audio_seconds)
            }
            Medium::Image => {}
        }
    }

    if !rules.require_any.is_empty() {
        let present = |part: &Part| match part {
            Part::Body => char_count(submission.body) > 0,
            Part::Images => images > 0,
            Part::Video => videos > 0,
            Part::Audio => audios > 0,
        };
        if !rules.require_any.iter().any(present) {
            errors
                .entry("media".to_owned())
                .or_insert_with(|| "请至少提供文字、图片或视频中的一项".to_owned());
        }
    }
    if rules.true_story && !submission.true_story {
        errors.insert("true_story".to_owned(), "须声明作品为真人真事".to_owned());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn count(media: &[Medium], pred: impl Fn(&Medium) -> bool) -> u32 {
    u32::try_from(media.iter().filter(|m| pred(m)).count()).unwrap_or(u32::MAX)
}

/// The human code of a work (`WY-0042`), from the campaign prefix and the row id.
pub fn work_code(prefix: &str, id: i64) -> String {
    format!("{prefix}-{id:04}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::Campaign;

    fn campaign() -> Campaign {
        Campaign::parse(
            include_str!("../../wechat-config/campaigns/shwm-2017.toml"),
            "campaign",
        )
        .expect("valid")
    }

    fn check(category: &str, submission: Submission<'_>) -> Result<(), FieldErrors> {
        let campaign = campaign();
        let rules = &campaign.category(category).expect("category").rules;
        validate(rules, &submission)
    }

    fn text(body: &str) -> Submission<'_> {
        Submission {
            title: "",
            body,
            media: &[],
            true_story: false,
        }
    }

    #[test]
    fn a_slogan_of_thirty_characters_passes_and_thirty_one_fails() {
        let thirty = "网".repeat(30);
        assert!(check("slogan", text(&thirty)).is_ok());
        let errors = check("slogan", text(&format!("{thirty}！"))).expect_err("31");
        assert_eq!(errors["body"], "正文不能超过30字，现在31字");
    }

    #[test]
    fn an_essay_must_hold_300_to_800_characters() {
        let body = "字".repeat(300);
        let ok = Submission {
            title: "读书有感",
            ..text(&body)
        };
        assert!(check("essay", ok).is_ok());
        let short = "字".repeat(299);
        let errors = check(
            "essay",
            Submission {
                title: "读书有感",
                ..text(&short)
            },
        )
        .expect_err("short");
        assert!(errors["body"].contains("至少300字"));
    }

    #[test]
    fn a_photo_story_needs_a_photo_and_the_true_story_declaration() {
        let errors = check("photo_story", text("我们班组的一天")).expect_err("no photo");
        assert!(errors.contains_key("media"));
        assert!(errors.contains_key("true_story"));
        let photo = [Medium::Image];
        let ok = Submission {
            media: &photo,
            true_story: true,
            ..text("我们班组的一天")
        };
        assert!(check("photo_story", ok).is_ok());
    }

    #[test]
    fn a_micro_video_must_last_three_to_five_minutes() {
        let four = [Medium::Video { seconds: 240 }];
        let two = [Medium::Video { seconds: 120 }];
        let with = |media| Submission {
            title: "最美劳动者",
            media,
            ..text("")
        };
        assert!(check("micro_video", with(&four)).is_ok());
        let errors = check("micro_video", with(&two)).expect_err("too short");
        assert_eq!(errors["media"], "视频时长须在3分钟至5分钟之间，现在2分钟");
    }

    #[test]
    fn a_public_service_ad_needs_a_poster_a_video_or_a_script() {
        let empty = Submission {
            title: "公益广告",
            ..text("")
        };
        assert!(check("psa", empty).is_err());
        let poster = [Medium::Image];
        assert!(
            check(
                "psa",
                Submission {
                    title: "公益广告",
                    media: &poster,
                    ..text("")
                }
            )
            .is_ok()
        );
        assert!(
            check(
                "psa",
                Submission {
                    title: "公益广告",
                    ..text("脚本文字")
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn a_slogan_takes_no_images() {
        let photo = [Medium::Image];
        let errors = check(
            "slogan",
            Submission {
                media: &photo,
                ..text("网络文明")
            },
        )
        .expect_err("image");
        assert!(errors["media"].contains("不接受图片"));
    }

    #[test]
    fn work_codes_are_padded() {
        assert_eq!(work_code("WY", 42), "WY-0042");
        assert_eq!(work_code("WY", 12345), "WY-12345");
    }
}
