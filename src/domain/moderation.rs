//! Moderation: from content-security verdicts to a work's next status.

use crate::domain::work::WorkStatus;

/// WeChat content security's verdict on one piece of content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Publishable.
    Pass,
    /// A person must look.
    Review,
    /// Block.
    Risky,
}

impl Verdict {
    /// Parses WeChat's `suggest`.
    pub fn parse(suggest: &str) -> Option<Self> {
        match suggest {
            "pass" => Some(Self::Pass),
            "review" => Some(Self::Review),
            "risky" => Some(Self::Risky),
            _ => None,
        }
    }

    /// WeChat's `suggest` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Review => "review",
            Self::Risky => "risky",
        }
    }
}

/// Where a work in `checking` goes given the verdicts so far (`None`: not yet known).
///
/// Any `risky` rejects at once; every part must be known before anything else is decided;
/// then any `review` waits for a person, and all `pass` publish or wait by configuration.
pub fn next_status(verdicts: &[Option<Verdict>], auto_approve: bool) -> Option<WorkStatus> {
    if verdicts.contains(&Some(Verdict::Risky)) {
        return Some(WorkStatus::Rejected);
    }
    if verdicts.iter().any(Option::is_none) {
        return None;
    }
    if verdicts.contains(&Some(Verdict::Review)) || !auto_approve {
        return Some(WorkStatus::PendingReview);
    }
    Some(WorkStatus::Approved)
}

/// The reason shown to an author whose work content security rejected.
pub const RISKY_REASON: &str = "内容未通过微信内容安全检测";

#[cfg(test)]
mod tests {
    use super::{Verdict::*, *};

    #[test]
    fn risky_rejects_even_before_everything_is_known() {
        assert_eq!(
            next_status(&[None, Some(Risky)], true),
            Some(WorkStatus::Rejected)
        );
    }

    #[test]
    fn unknown_parts_keep_the_work_checking() {
        assert_eq!(next_status(&[Some(Pass), None], true), None);
    }

    #[test]
    fn review_waits_for_a_person_and_pass_follows_configuration() {
        assert_eq!(
            next_status(&[Some(Pass), Some(Review)], true),
            Some(WorkStatus::PendingReview)
        );
        assert_eq!(
            next_status(&[Some(Pass), Some(Pass)], true),
            Some(WorkStatus::Approved)
        );
        assert_eq!(
            next_status(&[Some(Pass)], false),
            Some(WorkStatus::PendingReview)
        );
    }
}
