//! Cursor paging of work listings: keyset cursors that stay stable while works are added.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// How a listing is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Most votes first (ties: newest first).
    Hot,
    /// Newest first.
    New,
}

impl Sort {
    /// The names [`Sort::parse`] takes.
    pub const NAMES: [&'static str; 2] = ["hot", "new"];

    /// Parses `hot` or `new`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "hot" => Some(Self::Hot),
            "new" => Some(Self::New),
            _ => None,
        }
    }
}

/// Where the previous page ended: the last item's sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// After (votes, id) in hot order.
    Hot {
        /// The last item's vote count.
        votes: i32,
        /// The last item's id.
        id: i64,
    },
    /// After id in new order.
    New {
        /// The last item's id.
        id: i64,
    },
}

impl Cursor {
    /// The cursor after an item with these keys.
    pub fn after(sort: Sort, votes: i32, id: i64) -> Self {
        match sort {
            Sort::Hot => Self::Hot { votes, id },
            Sort::New => Self::New { id },
        }
    }

    /// An opaque text for clients.
    pub fn encode(self) -> String {
        let plain = match self {
            Self::Hot { votes, id } => format!("h:{votes}:{id}"),
            Self::New { id } => format!("n:{id}"),
        };
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Reads a client's cursor for `sort`; a cursor of the other order is refused.
    pub fn decode(text: &str, sort: Sort) -> Option<Self> {
        let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let mut parts = plain.split(':');
        let cursor = match (parts.next()?, sort) {
            ("h", Sort::Hot) => Self::Hot {
                votes: parts.next()?.parse().ok()?,
                id: parts.next()?.parse().ok()?,
            },
            ("n", Sort::New) => Self::New {
                id: parts.next()?.parse().ok()?,
            },
            _ => return None,
        };
        parts.next().is_none().then_some(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_the_other_order() {
        let hot = Cursor::Hot { votes: 12, id: 7 };
        assert_eq!(Cursor::decode(&hot.encode(), Sort::Hot), Some(hot));
        assert_eq!(Cursor::decode(&hot.encode(), Sort::New), None);
        let new = Cursor::New { id: 99 };
        assert_eq!(Cursor::decode(&new.encode(), Sort::New), Some(new));
        assert_eq!(Cursor::decode("not base64!", Sort::New), None);
        assert_eq!(
            Cursor::decode(&URL_SAFE_NO_PAD.encode("n:1:2"), Sort::New),
            None
        );
    }
}
