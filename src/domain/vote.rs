//! Vote rules without I/O: statuses, the per-day key, the wait until the next campaign day,
//! and the client's address.

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Where a vote stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteStatus {
    /// Counts towards the work's `vote_count`.
    Counted,
    /// Held back by a fraud signal; does not count unless a reviewer decides otherwise.
    Flagged,
    /// Removed from the count by a reviewer; kept as the audit trail.
    Voided,
}

impl VoteStatus {
    /// Every value, in order.
    pub const ALL: [Self; 3] = [Self::Counted, Self::Flagged, Self::Voided];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counted => "counted",
            Self::Flagged => "flagged",
            Self::Voided => "voided",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Counted, Self::Flagged, Self::Voided]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The unique key of a counted vote: one per (work, person, campaign day).
pub fn counted_key(work_id: i64, person_id: i64, day: NaiveDate) -> String {
    format!("{work_id}|{person_id}|{day}")
}

/// Time from `now` until the next local midnight in `tz` (at least one second).
pub fn until_next_day(tz: Tz, now: DateTime<Utc>) -> Duration {
    let today = now.with_timezone(&tz).date_naive();
    let next = today
        .checked_add_days(Days::new(1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        // `earliest` covers zones whose midnight is skipped or repeated by a clock change.
        .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
        .map(|m| m.with_timezone(&Utc));
    let seconds = next.map_or(86_400, |next| (next - now).num_seconds());
    Duration::from_secs(u64::try_from(seconds).unwrap_or(1).max(1))
}

/// The client's address. `X-Forwarded-For` counts only when the peer is a trusted proxy: then
/// the nearest hop that is not itself trusted (a client may write any hops before it); with an
/// untrusted peer, or no usable hop, the peer; "unknown" if nothing is known.
pub fn client_ip(
    forwarded_for: Option<&str>,
    peer: Option<IpAddr>,
    trusted: &[ipnet::IpNet],
) -> String {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let forwarded = peer.filter(is_trusted).and(forwarded_for).and_then(|list| {
        let hops: Vec<IpAddr> = list
            .split(',')
            .map_while(|hop| hop.trim().parse::<IpAddr>().ok())
            .collect();
        hops.iter()
            .rev()
            .find(|hop| !is_trusted(hop))
            .or(hops.first())
            .copied()
    });
    forwarded
        .or(peer)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Competition ranks ("1224") of scores already sorted best first: equal scores share a rank.
pub fn competition_ranks<T: PartialEq>(sorted: &[T]) -> Vec<u32> {
    let mut ranks: Vec<u32> = Vec::with_capacity(sorted.len());
    for (i, score) in sorted.iter().enumerate() {
        let rank = match (i, ranks.last()) {
            (i, Some(prev)) if sorted[i - 1] == *score => *prev,
            _ => u32::try_from(i + 1).unwrap_or(u32::MAX),
        };
        ranks.push(rank);
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_wait_runs_to_midnight_in_shanghai_not_utc() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // 23:59:50 in Shanghai is 15:59:50 UTC.
        assert_eq!(
            until_next_day(tz, at("2026-11-27T15:59:50Z")),
            Duration::from_secs(10)
        );
        assert_eq!(
            until_next_day(tz, at("2026-11-27T16:00:00Z")),
            Duration::from_secs(86_400)
        );
    }

    #[test]
    fn forwarded_hops_count_only_from_a_trusted_proxy() {
        let nginx = Some("10.0.0.9".parse().unwrap());
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(Some("1.2.3.4"), nginx, &trusted), "1.2.3.4");
        // A client's own hops before the real one are not believed.
        assert_eq!(
            client_ip(Some("6.6.6.6, 1.2.3.4, 10.0.0.1"), nginx, &trusted),
            "1.2.3.4"
        );
        assert_eq!(client_ip(Some("not an ip"), nginx, &trusted), "10.0.0.9");
        assert_eq!(client_ip(None, nginx, &trusted), "10.0.0.9");
        // Straight from the internet: the header is whatever the client wrote.
        let stranger = Some("203.0.113.7".parse().unwrap());
        assert_eq!(
            client_ip(Some("1.2.3.4"), stranger, &trusted),
            "203.0.113.7"
        );
        assert_eq!(client_ip(Some("1.2.3.4"), stranger, &[]), "203.0.113.7");
        assert_eq!(client_ip(None, None, &trusted), "unknown");
    }

    #[test]
    fn equal_votes_share_a_rank_and_the_next_rank_skips() {
        assert_eq!(
            competition_ranks(&[9, 7, 7, 7, 3, 3, 1]),
            [1, 2, 2, 2, 5, 5, 7]
        );
        assert!(competition_ranks::<i32>(&[]).is_empty());
    }

    #[test]
    fn counted_keys_name_work_person_and_day() {
        let day = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        assert_eq!(counted_key(7, 42, day), "7|42|2026-09-01");
        assert_eq!(VoteStatus::parse("flagged"), Some(VoteStatus::Flagged));
    }
}
