//! Queries on `wechat_tokens`, and the SeaORM [`TokenStore`] the WeChat client shares tokens through.

use chrono::{DateTime, Utc};
use entity::wechat_token;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    Set,
    sea_query::{Expr, OnConflict},
};

use crate::wechat::client::{AccessToken, StoreError, StoredToken, TokenStore};

/// The row of `appid`, if any.
pub async fn find(
    db: &impl ConnectionTrait,
    appid: &str,
) -> Result<Option<wechat_token::Model>, DbErr> {
    wechat_token::Entity::find_by_id(appid.to_owned())
        .one(db)
        .await
}

/// Creates the row of `appid` with no token unless it exists (`ON CONFLICT DO NOTHING`).
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    appid: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = wechat_token::ActiveModel {
        appid: Set(appid.to_owned()),
        access_token: Set(String::new()),
        expires_at: Set(DateTime::<Utc>::UNIX_EPOCH),
        lease_holder: Set(None),
        lease_until: Set(DateTime::<Utc>::UNIX_EPOCH),
        updated_at: Set(now),
    };
    wechat_token::Entity::insert(row)
        .on_conflict_do_nothing_on([wechat_token::Column::Appid])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Takes the lease for `holder` if it is expired or already `holder`'s, in one conditional
/// UPDATE (atomic on SQLite and PostgreSQL alike); true when exactly this caller got it.
pub async fn try_lease(
    db: &impl ConnectionTrait,
    appid: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = wechat_token::Entity::update_many()
        .col_expr(wechat_token::Column::LeaseHolder, Expr::value(holder))
        .col_expr(wechat_token::Column::LeaseUntil, Expr::value(until))
        .filter(wechat_token::Column::Appid.eq(appid))
        .filter(
            Condition::any()
                .add(wechat_token::Column::LeaseUntil.lt(now))
                .add(wechat_token::Column::LeaseHolder.eq(holder)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Saves a token of `appid` and frees the lease (insert or update).
pub async fn save(
    db: &impl ConnectionTrait,
    appid: &str,
    token: &StoredToken,
) -> Result<(), DbErr> {
    let row = wechat_token::ActiveModel {
        appid: Set(appid.to_owned()),
        access_token: Set(token.access_token.expose().to_owned()),
        expires_at: Set(token.expires_at),
        lease_holder: Set(None),
        lease_until: Set(DateTime::<Utc>::UNIX_EPOCH),
        updated_at: Set(token.updated_at),
    };
    wechat_token::Entity::insert(row)
        .on_conflict(
            OnConflict::column(wechat_token::Column::Appid)
                .update_columns([
                    wechat_token::Column::AccessToken,
                    wechat_token::Column::ExpiresAt,
                    wechat_token::Column::LeaseHolder,
                    wechat_token::Column::LeaseUntil,
                    wechat_token::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Frees the lease of `appid` if `holder` has it.
pub async fn release(db: &impl ConnectionTrait, appid: &str, holder: &str) -> Result<(), DbErr> {
    wechat_token::Entity::update_many()
        .col_expr(
            wechat_token::Column::LeaseHolder,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            wechat_token::Column::LeaseUntil,
            Expr::value(DateTime::<Utc>::UNIX_EPOCH),
        )
        .filter(wechat_token::Column::Appid.eq(appid))
        .filter(wechat_token::Column::LeaseHolder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

/// The database-backed [`TokenStore`]: one row per appid shared by every instance.
#[derive(Clone, Debug)]
pub struct DbTokenStore {
    db: DatabaseConnection,
}

impl DbTokenStore {
    /// A store on `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn store_error(err: DbErr) -> StoreError {
    StoreError(err.to_string())
}

#[async_trait::async_trait]
impl TokenStore for DbTokenStore {
    async fn load(&self, appid: &str) -> Result<Option<StoredToken>, StoreError> {
        let row = find(&self.db, appid).await.map_err(store_error)?;
        Ok(row
            .filter(|row| !row.access_token.is_empty())
            .map(|row| StoredToken {
                access_token: AccessToken::new(row.access_token),
                expires_at: row.expires_at,
                updated_at: row.updated_at,
            }))
    }

    async fn try_lease(
        &self,
        appid: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        insert_if_absent(&self.db, appid, now)
            .await
            .map_err(store_error)?;
        try_lease(&self.db, appid, holder, now, until)
            .await
            .map_err(store_error)
    }

    async fn store(&self, appid: &str, token: &StoredToken) -> Result<(), StoreError> {
        save(&self.db, appid, token).await.map_err(store_error)
    }

    async fn release(&self, appid: &str, holder: &str) -> Result<(), StoreError> {
        release(&self.db, appid, holder).await.map_err(store_error)
    }
}
