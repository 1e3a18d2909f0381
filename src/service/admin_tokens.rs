//! Admin bearer tokens: issue (CLI), bootstrap (`WANGJU_ADMIN_TOKEN`), authenticate.

use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};

use crate::{
    domain::{
        role::Role,
        text::TextBound,
        token::{PlainToken, hash_token},
    },
    error::AppError,
    repo::{
        self,
        admin_tokens::{self, NewAdminToken},
    },
    service::campaign::Campaigns,
};

/// Who an admin token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminIdentity {
    /// Token row id.
    pub token_id: i64,
    /// Its role.
    pub role: Role,
    /// Its unit, for the `unit` role.
    pub unit_id: Option<i64>,
    /// For a judge: the categories they score (`None`: every category).
    pub categories: Option<Vec<String>>,
}

impl AdminIdentity {
    /// Whether this judge scores works of `category`.
    pub fn judges(&self, category: &str) -> bool {
        self.categories
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k == category))
    }

    /// `Forbidden` unless the token's role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Creates a token for `role` and returns it; only its hash is stored.
pub async fn issue(
    db: &DatabaseConnection,
    role: Role,
    unit_id: Option<i64>,
    label: &str,
) -> Result<PlainToken, AppError> {
    issue_scoped(db, role, unit_id, None, label).await
}

/// A token's label: one line, as its `varchar(100)` holds.
const LABEL: TextBound = TextBound {
    label: "label",
    max_graphemes: 100,
    max_chars: 100,
    multiline: false,
};

/// A token an admin asks for over the API.
pub struct TokenRequest<'a> {
    /// admin, reviewer, judge or unit.
    pub role: &'a str,
    /// The organising unit (only for `unit`).
    pub unit_id: Option<i64>,
    /// The category keys a judge scores.
    pub categories: Option<&'a [String]>,
    /// Who the token is for.
    pub label: &'a str,
}

/// Creates a token for an admin (`who`); the categories must exist in one of the campaigns.
pub async fn create(
    db: &DatabaseConnection,
    (who, campaigns): (&AdminIdentity, &Campaigns),
    request: TokenRequest<'_>,
) -> Result<(Role, PlainToken), AppError> {
    who.require(&[Role::Admin])?;
    let role: Role = request
        .role
        .parse()
        .map_err(|e: crate::domain::role::UnknownRole| AppError::BadRequest(e.to_string()))?;
    let known = |key: &String| {
        campaigns
            .all()
            .iter()
            .any(|c| c.def.category(key).is_some())
    };
    if let Some(unknown) = request
        .categories
        .iter()
        .copied()
        .flatten()
        .find(|k| !known(k))
    {
        return Err(AppError::BadRequest(format!(
            "unknown category `{unknown}`"
        )));
    }
    let token = issue_scoped(db, role, request.unit_id, request.categories, request.label).await?;
    Ok((role, token))
}

/// Creates a token; a judge's may be limited to some categories (already checked to exist).
pub async fn issue_scoped(
    db: &DatabaseConnection,
    role: Role,
    unit_id: Option<i64>,
    categories: Option<&[String]>,
    label: &str,
) -> Result<PlainToken, AppError> {
    if categories.is_some() && role != Role::Judge {
        return Err(AppError::BadRequest(
            "only a judge token takes categories".to_owned(),
        ));
    }
    if categories.is_some_and(<[String]>::is_empty) {
        return Err(AppError::BadRequest(
            "a judge needs at least one category".to_owned(),
        ));
    }
    match (role, unit_id) {
        (Role::Unit, None) => {
            return Err(AppError::BadRequest(
                "a unit token needs its unit (--unit <code>, or unit_id)".to_owned(),
            ));
        }
        (Role::Admin | Role::Reviewer | Role::Judge, Some(_)) => {
            return Err(AppError::BadRequest(
                "only a unit token takes a unit".to_owned(),
            ));
        }
        _ => {}
    }
    LABEL.check(label).map_err(|e| AppError::text("label", e))?;
    if let Some(id) = unit_id
        && repo::units::find(db, id).await?.is_none()
    {
        return Err(AppError::field("unit_id", format!("no unit has id {id}")));
    }
    let token = PlainToken::generate("wja");
    admin_tokens::insert(
        db,
        NewAdminToken {
            role: role.as_str(),
            unit_id,
            categories: categories.map(|keys| keys.join(",")),
            token_hash: &token.hash(),
            label,
        },
    )
    .await?;
    Ok(token)
}

/// Makes sure the configured bootstrap token exists as an admin token (idempotent).
pub async fn ensure_bootstrap(
    db: &DatabaseConnection,
    token: &SecretString,
) -> Result<(), AppError> {
    let hash = hash_token(token.expose_secret());
    if admin_tokens::find_by_hash(db, &hash).await?.is_some() {
        return Ok(());
    }
    let inserted = admin_tokens::insert(
        db,
        NewAdminToken {
            role: Role::Admin.as_str(),
            unit_id: None,
            categories: None,
            token_hash: &hash,
            label: "WANGJU_ADMIN_TOKEN",
        },
    )
    .await;
    match inserted {
        Ok(_) => Ok(()),
        // Another instance inserted it at the same moment: that is the outcome we wanted.
        Err(err) if admin_tokens::find_by_hash(db, &hash).await?.is_some() => {
            tracing::debug!(error = %err, "bootstrap token inserted concurrently");
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// Resolves a presented bearer token to its identity; unknown or revoked → `Unauthenticated`.
pub async fn authenticate(
    db: &DatabaseConnection,
    presented: &str,
) -> Result<AdminIdentity, AppError> {
    let row = admin_tokens::find_by_hash(db, &hash_token(presented))
        .await?
        .filter(|row| row.revoked_at.is_none())
        .ok_or(AppError::Unauthenticated)?;
    let role = row
        .role
        .parse::<Role>()
        .map_err(|e| AppError::internal(format!("admin token {}: {e}", row.id)))?;
    Ok(AdminIdentity {
        token_id: row.id,
        role,
        unit_id: row.unit_id,
        categories: row
            .categories
            .map(|keys| keys.split(',').map(str::to_owned).collect()),
    })
}
