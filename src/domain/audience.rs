//! Who a broadcast goes to, as the contract spells it.

use serde_json::Value;

/// A broadcast's audience.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Everyone holding a send credit for the template.
    Subscribers,
    /// Authors of works in a category.
    Category(String),
    /// People of an organising unit.
    Unit(i64),
    /// These people.
    Users(Vec<i64>),
}

impl Audience {
    /// Reads `"subscribers"`, `{"category":"<key>"}`, `{"unit":<id>}` or `{"users":[<id>,...]}`.
    pub fn parse(value: &Value) -> Option<Self> {
        if value.as_str() == Some("subscribers") {
            return Some(Self::Subscribers);
        }
        let object = value.as_object().filter(|o| o.len() == 1)?;
        if let Some(key) = object.get("category") {
            return key.as_str().map(|k| Self::Category(k.to_owned()));
        }
        if let Some(unit) = object.get("unit") {
            return unit.as_i64().map(Self::Unit);
        }
        let users = object.get("users")?.as_array()?;
        let ids: Option<Vec<i64>> = users.iter().map(Value::as_i64).collect();
        ids.filter(|ids| !ids.is_empty() && ids.len() <= 10_000)
            .map(Self::Users)
    }
}

#[cfg(test)]
mod tests {
    use super::Audience;
    use serde_json::json;

    #[test]
    fn audiences_are_read_as_the_contract_spells_them() {
        assert_eq!(
            Audience::parse(&json!("subscribers")),
            Some(Audience::Subscribers)
        );
        assert_eq!(
            Audience::parse(&json!({"category": "slogan"})),
            Some(Audience::Category("slogan".into()))
        );
        assert_eq!(
            Audience::parse(&json!({"unit": 3})),
            Some(Audience::Unit(3))
        );
        assert_eq!(
            Audience::parse(&json!({"users": [1, 2]})),
            Some(Audience::Users(vec![1, 2]))
        );
        assert_eq!(Audience::parse(&json!({"users": []})), None);
        assert_eq!(Audience::parse(&json!("everyone")), None);
        assert_eq!(Audience::parse(&json!({"unit": 1, "users": [1]})), None);
    }
}
