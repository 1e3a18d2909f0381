//! One person, several WeChat identities: how a login finds or links its person.

/// What to do with a login's identities, given who already holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Nobody yet: create a person.
    Create,
    /// This person already holds the identity.
    Use(i64),
    /// Add the mini-program openid to the person known by the unionid (they followed first).
    Attach(i64),
    /// Two people turn out to be one: keep the first, fold the second into it.
    Merge {
        /// The person kept.
        keep: i64,
        /// The person folded in and removed.
        fold: i64,
    },
}

/// Decides how a login with a mini-program openid (and maybe a unionid) maps to a person.
///
/// `by_openid` holds that openid already; `by_unionid` holds the unionid.
pub fn link(by_openid: Option<i64>, by_unionid: Option<i64>) -> Link {
    match (by_openid, by_unionid) {
        (None, None) => Link::Create,
        (Some(id), None) => Link::Use(id),
        (None, Some(id)) => Link::Attach(id),
        (Some(a), Some(b)) if a == b => Link::Use(a),
        // The older row keeps its id, so links and codes others saw stay valid.
        (Some(a), Some(b)) => Link::Merge {
            keep: a.min(b),
            fold: a.max(b),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{Link, link};

    #[test]
    fn logins_find_create_attach_or_merge() {
        assert_eq!(link(None, None), Link::Create);
        assert_eq!(link(Some(3), None), Link::Use(3));
        assert_eq!(link(None, Some(5)), Link::Attach(5));
        assert_eq!(link(Some(5), Some(5)), Link::Use(5));
        assert_eq!(link(Some(9), Some(4)), Link::Merge { keep: 4, fold: 9 });
        assert_eq!(link(Some(4), Some(9)), Link::Merge { keep: 4, fold: 9 });
    }
}
