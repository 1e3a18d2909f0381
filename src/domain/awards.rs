//! Awards without I/O: the combined score of a work and the prizes of a category.
//!
//! final = vote_weight × (votes / the category's top votes) × 100 + jury_weight × jury mean.
//! Order: final score, then jury mean, then votes, then earlier submission (then the lower id,
//! which only decides between works submitted in the same instant).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::campaign::{Awards, Scoring};

/// A work competing in its category.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The work.
    pub work_id: i64,
    /// Its counted votes.
    pub votes: i64,
    /// Its judges' scores (0–100 each); none means a jury mean of 0.
    pub jury_scores: Vec<i32>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
}

/// A prize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prize {
    /// 一等奖.
    First,
    /// 二等奖.
    Second,
    /// 三等奖.
    Third,
    /// One of the top N (十大).
    Top,
}

impl Prize {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Second => "second",
            Self::Third => "third",
            Self::Top => "top_n",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::First, Self::Second, Self::Third, Self::Top]
            .into_iter()
            .find(|p| p.as_str() == text)
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Self::First => "一等奖",
            Self::Second => "二等奖",
            Self::Third => "三等奖",
            Self::Top => "十佳",
        }
    }
}

/// A work's place in its category.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    /// The work.
    pub work_id: i64,
    /// 1 for the best; every work has its own place (ties are broken by the rule).
    pub place: u32,
    /// Its prize, if its place earns one.
    pub prize: Option<Prize>,
    /// The combined score.
    pub final_score: f64,
    /// Its votes as a share of the category's top, × 100.
    pub vote_score: f64,
    /// Its jury mean.
    pub jury_mean: f64,
    /// Its counted votes.
    pub votes: i64,
}

/// The mean of the scores, 0 when there are none.
pub fn jury_mean(scores: &[i32]) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    let total: f64 = scores.iter().map(|s| f64::from(*s)).sum();
    total / scores.len() as f64
}

/// Scores compared to a millionth, so that equal scores computed along different paths of
/// floating-point arithmetic (0.4 × 50 vs 0.6 × 33.33…) are equal.
fn fixed(value: f64) -> i64 {
    (value * 1e6).round() as i64
}

/// Places every candidate of one category and gives the prizes its awards rule allows.
pub fn place(scoring: &Scoring, awards: Awards, candidates: &[Candidate]) -> Vec<Placed> {
    let top = candidates.iter().map(|c| c.votes).max().unwrap_or(0);
    let mut scored: Vec<(&Candidate, Placed)> = candidates
        .iter()
        .map(|c| {
            let vote_score = if top > 0 {
                c.votes as f64 / top as f64 * 100.0
            } else {
                0.0
            };
            let jury_mean = jury_mean(&c.jury_scores);
            let placed = Placed {
                work_id: c.work_id,
                place: 0,
                prize: None,
                final_score: scoring.vote_weight * vote_score + scoring.jury_weight * jury_mean,
                vote_score,
                jury_mean,
                votes: c.votes,
            };
            (c, placed)
        })
        .collect();
    scored.sort_by(|(ca, a), (cb, b)| order(ca, a, cb, b));
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut placed))| {
            placed.place = u32::try_from(i + 1).unwrap_or(u32::MAX);
            placed.prize = prize_for(awards, placed.place);
            placed
        })
        .collect()
}

fn order(ca: &Candidate, a: &Placed, cb: &Candidate, b: &Placed) -> Ordering {
    fixed(b.final_score)
        .cmp(&fixed(a.final_score))
        .then(fixed(b.jury_mean).cmp(&fixed(a.jury_mean)))
        .then(b.votes.cmp(&a.votes))
        .then(ca.submitted_at.cmp(&cb.submitted_at))
        .then(ca.work_id.cmp(&cb.work_id))
}

/// The prize a place earns under a category's rule.
pub fn prize_for(awards: Awards, place: u32) -> Option<Prize> {
    match awards {
        Awards::Prizes {
            first,
            second,
            third,
        } => {
            if place <= first {
                Some(Prize::First)
            } else if place <= first + second {
                Some(Prize::Second)
            } else if place <= first + second + third {
                Some(Prize::Third)
            } else {
                None
            }
        }
        Awards::TopN(n) => (place <= n).then_some(Prize::Top),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        format!("2017-06-01T08:{minute:02}:00Z").parse().unwrap()
    }

    fn candidate(work_id: i64, votes: i64, jury: &[i32], minute: u32) -> Candidate {
        Candidate {
            work_id,
            votes,
            jury_scores: jury.to_vec(),
            submitted_at: at(minute),
        }
    }

    const SEED: Scoring = Scoring {
        vote_weight: 0.4,
        jury_weight: 0.6,
    };

    /// Worked by hand with the seed's weights 0.4 / 0.6 and prizes 1 / 2 / 1:
    ///
    /// | work | votes | jury      | vote score | final              |
    /// |------|-------|-----------|------------|--------------------|
    /// | 1    | 200   | 70, 90    | 100        | 40 + 48 = 88       |
    /// | 2    | 100   | 100       | 50         | 20 + 60 = 80       |
    /// | 3    | 160   | 80        | 80         | 32 + 48 = 80       |
    /// | 4    | 100   | 100, 100  | 50         | 20 + 60 = 80       |
    /// | 5    | 20    | 90        | 10         | 4 + 54 = 58        |
    /// | 6    | 0     | (none)    | 0          | 0                  |
    ///
    /// Works 2, 3 and 4 tie on 80. Jury mean puts 2 and 4 (100) before 3 (80); 2 and 4 tie on
    /// votes too (100), so the earlier submission wins: 4 (08:05) before 2 (08:10).
    /// Places: 1, 4, 2, 3, 5, 6 → 一等奖 1; 二等奖 4, 2; 三等奖 3; no prize for 5 and 6.
    #[test]
    fn the_hand_worked_example_with_ties_resolves_by_the_rule() {
        let candidates = [
            candidate(1, 200, &[70, 90], 1),
            candidate(2, 100, &[100], 10),
            candidate(3, 160, &[80], 2),
            candidate(4, 100, &[100, 100], 5),
            candidate(5, 20, &[90], 3),
            candidate(6, 0, &[], 4),
        ];
        let placed = place(
            &SEED,
            Awards::Prizes {
                first: 1,
                second: 2,
                third: 1,
            },
            &candidates,
        );
        let summary: Vec<(i64, u32, Option<Prize>, i64)> = placed
            .iter()
            .map(|p| {
                (
                    p.work_id,
                    p.place,
                    p.prize,
                    fixed(p.final_score) / 1_000_000,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, 1, Some(Prize::First), 88),
                (4, 2, Some(Prize::Second), 80),
                (2, 3, Some(Prize::Second), 80),
                (3, 4, Some(Prize::Third), 80),
                (5, 5, None, 58),
                (6, 6, None, 0),
            ]
        );
        assert_eq!(fixed(placed[1].jury_mean), fixed(100.0));
        assert_eq!(fixed(placed[3].vote_score), fixed(80.0));
    }

    /// With the jury alone deciding (weights 0 / 1), equal finals and jury means fall to votes.
    #[test]
    fn votes_break_a_tie_of_final_score_and_jury_mean() {
        let jury_only = Scoring {
            vote_weight: 0.0,
            jury_weight: 1.0,
        };
        let candidates = [
            candidate(1, 5, &[90], 1),
            candidate(2, 7, &[90], 2),
            candidate(3, 9, &[60], 0),
        ];
        let placed = place(&jury_only, Awards::TopN(2), &candidates);
        let order: Vec<(i64, Option<Prize>)> =
            placed.iter().map(|p| (p.work_id, p.prize)).collect();
        assert_eq!(
            order,
            vec![(2, Some(Prize::Top)), (1, Some(Prize::Top)), (3, None)]
        );
    }

    #[test]
    fn a_category_without_votes_or_scores_still_places_by_submission() {
        let candidates = [candidate(8, 0, &[], 9), candidate(9, 0, &[], 1)];
        let placed = place(&SEED, Awards::TopN(10), &candidates);
        assert_eq!(placed[0].work_id, 9);
        assert!(placed.iter().all(|p| p.final_score == 0.0));
        assert_eq!(jury_mean(&[]), 0.0);
        assert_eq!(Prize::parse("top_n"), Some(Prize::Top));
        assert_eq!(prize_for(Awards::TopN(10), 11), None);
    }
}
