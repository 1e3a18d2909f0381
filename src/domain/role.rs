//! Roles of admin bearer tokens.

use std::{fmt, str::FromStr};

/// What an admin token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything: phases, awards, notifications, exports.
    Admin,
    /// 网宣办 staff: review works, void votes.
    Reviewer,
    /// 评审委员会 expert: score works.
    Judge,
    /// 区局/产业工会 organiser: their own unit only.
    Unit,
}

impl Role {
    /// Every value, in order.
    pub const ALL: [Self; 4] = [Self::Admin, Self::Reviewer, Self::Judge, Self::Unit];

    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Reviewer => "reviewer",
            Self::Judge => "judge",
            Self::Unit => "unit",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of the four roles.
#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}`: use admin, reviewer, judge or unit")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "admin" => Ok(Self::Admin),
            "reviewer" => Ok(Self::Reviewer),
            "judge" => Ok(Self::Judge),
            "unit" => Ok(Self::Unit),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Admin, Role::Reviewer, Role::Judge, Role::Unit] {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
