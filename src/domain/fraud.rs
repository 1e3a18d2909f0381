//! Fraud signals on a vote, decided from plain numbers gathered by the service.

use crate::campaign::FraudThresholds;

/// What is known about a vote and its surroundings when it is cast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// Votes on the same work in the minute before this one (any status).
    pub work_votes_last_minute: u64,
    /// Minutes since the voter's account was created.
    pub account_age_minutes: i64,
    /// Other accounts that voted from the same IP on the same campaign day.
    pub other_accounts_on_ip_today: u64,
}

impl Evidence {
    /// Evidence that trips nothing: the stand-in for what a signal that is off does not need.
    pub const NONE: Self = Self {
        work_votes_last_minute: 0,
        account_age_minutes: i64::MAX,
        other_accounts_on_ip_today: 0,
    };
}

/// Which evidence the thresholds in force look at. Each piece is a query on the vote's hot
/// path, so what a signal that is off would need is never gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// Votes on the work in the last minute.
    pub work_votes: bool,
    /// The account's age.
    pub account_age: bool,
    /// Other accounts on the same address today.
    pub accounts_on_ip: bool,
}

/// The evidence `rules` can act on.
pub fn wanted(rules: &FraudThresholds) -> Wanted {
    Wanted {
        work_votes: rules.burst_per_work_per_minute > 0,
        account_age: rules.account_younger_than_minutes > 0,
        accounts_on_ip: rules.accounts_per_ip_per_day > 0,
    }
}

/// A reason to hold a vote back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// The work receives votes faster than the configured rate.
    Burst,
    /// The account was created minutes before voting.
    NewAccount,
    /// Many accounts vote from one address.
    SharedIp,
}

impl Signal {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Burst => "burst",
            Self::NewAccount => "new_account",
            Self::SharedIp => "shared_ip",
        }
    }
}

/// Every signal the evidence trips, in a fixed order; empty means the vote counts.
pub fn signals(rules: &FraudThresholds, evidence: &Evidence) -> Vec<Signal> {
    let mut found = Vec::new();
    let over = |limit: u32, seen: u64| limit > 0 && seen >= u64::from(limit);
    if over(
        rules.burst_per_work_per_minute,
        evidence.work_votes_last_minute,
    ) {
        found.push(Signal::Burst);
    }
    if rules.account_younger_than_minutes > 0
        && evidence.account_age_minutes < i64::from(rules.account_younger_than_minutes)
    {
        found.push(Signal::NewAccount);
    }
    if over(
        rules.accounts_per_ip_per_day,
        evidence.other_accounts_on_ip_today,
    ) {
        found.push(Signal::SharedIp);
    }
    found
}

/// The stored reason of a flagged vote: its signals joined by commas.
pub fn reason(signals: &[Signal]) -> Option<String> {
    (!signals.is_empty()).then(|| {
        signals
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: FraudThresholds = FraudThresholds {
        burst_per_work_per_minute: 3,
        account_younger_than_minutes: 10,
        accounts_per_ip_per_day: 2,
    };

    const CALM: Evidence = Evidence {
        work_votes_last_minute: 2,
        account_age_minutes: 10,
        other_accounts_on_ip_today: 1,
    };

    #[test]
    fn a_calm_vote_trips_nothing() {
        assert!(signals(&RULES, &CALM).is_empty());
        assert_eq!(reason(&[]), None);
    }

    #[test]
    fn each_threshold_trips_its_own_signal_at_the_limit() {
        let burst = Evidence {
            work_votes_last_minute: 3,
            ..CALM
        };
        assert_eq!(signals(&RULES, &burst), [Signal::Burst]);
        let young = Evidence {
            account_age_minutes: 9,
            ..CALM
        };
        assert_eq!(signals(&RULES, &young), [Signal::NewAccount]);
        let crowd = Evidence {
            other_accounts_on_ip_today: 2,
            ..CALM
        };
        assert_eq!(signals(&RULES, &crowd), [Signal::SharedIp]);
        let all = Evidence {
            work_votes_last_minute: 100,
            account_age_minutes: 0,
            other_accounts_on_ip_today: 50,
        };
        assert_eq!(
            reason(&signals(&RULES, &all)).as_deref(),
            Some("burst,new_account,shared_ip")
        );
    }

    #[test]
    fn evidence_that_is_not_wanted_could_not_trip_a_signal() {
        let rules = FraudThresholds {
            burst_per_work_per_minute: 0,
            ..RULES
        };
        let wanted = wanted(&rules);
        assert_eq!(
            wanted,
            Wanted {
                work_votes: false,
                account_age: true,
                accounts_on_ip: true,
            }
        );
        let burst = Evidence {
            work_votes_last_minute: 10_000,
            ..CALM
        };
        assert!(signals(&rules, &burst).is_empty());
        assert!(signals(&RULES, &Evidence::NONE).is_empty());
        let all_off = super::wanted(&FraudThresholds::default());
        assert!(!all_off.work_votes && !all_off.account_age && !all_off.accounts_on_ip);
    }

    #[test]
    fn zero_turns_a_signal_off() {
        let off = FraudThresholds::default();
        let wild = Evidence {
            work_votes_last_minute: 10_000,
            account_age_minutes: 0,
            other_accounts_on_ip_today: 10_000,
        };
        assert!(signals(&off, &wild).is_empty());
    }
}
