//! 优秀组织单位: units ranked by what their members achieved.

/// What one unit achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitTally {
    /// The unit.
    pub unit_id: i64,
    /// Its works that were approved.
    pub approved_works: u64,
    /// Its people who submitted at least one work.
    pub participants: u64,
    /// Prizes won by its works.
    pub awards: u64,
}

/// Ranks units: most awards, then most approved works, then most participants; equal tallies
/// share a rank (listed by unit id).
pub fn rank_units(mut tallies: Vec<UnitTally>) -> Vec<(u32, UnitTally)> {
    let key = |t: &UnitTally| (t.awards, t.approved_works, t.participants);
    tallies.sort_by(|a, b| key(b).cmp(&key(a)).then(a.unit_id.cmp(&b.unit_id)));
    let keys: Vec<_> = tallies.iter().map(key).collect();
    super::vote::competition_ranks(&keys)
        .into_iter()
        .zip(tallies)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(unit_id: i64, approved_works: u64, participants: u64, awards: u64) -> UnitTally {
        UnitTally {
            unit_id,
            approved_works,
            participants,
            awards,
        }
    }

    #[test]
    fn awards_count_first_then_approved_works_then_participants() {
        let ranked = rank_units(vec![
            tally(1, 50, 40, 0),
            tally(2, 5, 5, 2),
            tally(3, 50, 45, 0),
            tally(4, 50, 40, 0),
            tally(5, 0, 0, 0),
        ]);
        let order: Vec<(u32, i64)> = ranked.iter().map(|(r, t)| (*r, t.unit_id)).collect();
        assert_eq!(order, vec![(1, 2), (2, 3), (3, 1), (3, 4), (5, 5)]);
    }
}
