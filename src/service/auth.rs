//! Mini-program login: wx.login code → jscode2session → our own session token.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::person;
use sea_orm::{ConnectionTrait, DatabaseConnection, Set};
use secrecy::ExposeSecret;

use crate::{
    domain::{
        identity::{Link, link},
        token::{PlainToken, hash_token},
    },
    error::AppError,
    repo,
    service::rate::KeyedRate,
    wechat::client::{WechatClient, WechatError},
};

/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    /// Our bearer token, shown once.
    pub token: PlainToken,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The person.
    pub person: person::Model,
}

/// The caller of a mini-program request.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    /// The person.
    pub person_id: i64,
}

fn login_error(err: WechatError) -> AppError {
    match err.errcode() {
        // 40163: the code was used already (WeChat takes each code once).
        Some(40029 | 40163) => AppError::InvalidLoginCode,
        Some(40226) => AppError::LoginBlocked,
        Some(45011) => AppError::RateLimited {
            retry_after: Duration::from_secs(60),
        },
        _ => err.into(),
    }
}

/// Exchanges a wx.login code for a session; links the person's identities by unionid.
pub async fn login(
    db: &DatabaseConnection,
    wechat: &WechatClient,
    (rate, ip): (&KeyedRate<String>, &str),
    code: &str,
) -> Result<LoggedIn, AppError> {
    // Every login makes a session (and maybe a person): one address may only make so many.
    rate.check(&ip.to_owned())?;
    let code = code.trim();
    if code.is_empty() {
        return Err(AppError::BadRequest("code 不能为空".to_owned()));
    }
    // wx.login codes are 32 characters; anything else never reaches WeChat.
    if code.len() > 128 || !code.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest("code 格式不正确".to_owned()));
    }
    let session = wechat.jscode2session(code).await.map_err(login_error)?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let person = find_or_link(&txn, &session.openid, session.unionid.as_deref(), now).await?;
    let token = PlainToken::generate("wjs");
    let ttl = chrono::Duration::from_std(SESSION_TTL).unwrap_or(chrono::Duration::days(30));
    // One session per code: a code sent twice (a retry, or a replay of a logged request)
    // replaces its session rather than adding one.
    repo::sessions::put_for_code(
        &txn,
        repo::sessions::NewSession {
            token_hash: &token.hash(),
            login_code_hash: &hash_token(code),
            person_id: person.id,
            session_key: session.session_key.expose_secret(),
            now,
            expires_at: now + ttl,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(LoggedIn {
        token,
        expires_in: SESSION_TTL.as_secs(),
        person,
    })
}

/// The person for a mini-program openid and maybe a unionid, created, attached or merged.
pub async fn find_or_link(
    db: &impl ConnectionTrait,
    openid: &str,
    unionid: Option<&str>,
    now: DateTime<Utc>,
) -> Result<person::Model, AppError> {
    let by_openid = repo::people::find_by_miniapp_openid(db, openid).await?;
    let by_unionid = match unionid {
        Some(u) => repo::people::find_by_unionid(db, u).await?,
        None => None,
    };
    let person = match link(
        by_openid.as_ref().map(|p| p.id),
        by_unionid.as_ref().map(|p| p.id),
    ) {
        Link::Create => repo::people::insert_miniapp(db, openid, unionid, now).await?,
        Link::Use(_) => by_openid
            .or(by_unionid)
            .ok_or_else(|| AppError::internal("linked person vanished"))?,
        Link::Attach(_) => {
            let found = by_unionid.ok_or_else(|| AppError::internal("linked person vanished"))?;
            let mut changes: person::ActiveModel = found.into();
            changes.miniapp_openid = Set(Some(openid.to_owned()));
            changes.updated_at = Set(now);
            repo::people::update(db, changes).await?
        }
        Link::Merge { keep, fold } => merge(db, keep, fold, now).await?,
    };
    // A unionid learnt now is kept, so the other channel can link later.
    match (unionid, &person.unionid) {
        (Some(u), None) => {
            let mut changes: person::ActiveModel = person.into();
            changes.unionid = Set(Some(u.to_owned()));
            changes.updated_at = Set(now);
            Ok(repo::people::update(db, changes).await?)
        }
        _ => Ok(person),
    }
}

/// Records a follower's unionid; if a mini-program login already holds it, the two people
/// are one and are merged (the follower arrived second).
pub async fn link_follower(
    db: &impl ConnectionTrait,
    mp_openid: &str,
    unionid: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(follower) = repo::people::find_by_mp_openid(db, mp_openid).await? else {
        return Ok(());
    };
    let holder = repo::people::find_by_unionid(db, unionid).await?;
    match holder {
        Some(holder) if holder.id == follower.id => {}
        Some(holder) => {
            merge(
                db,
                holder.id.min(follower.id),
                holder.id.max(follower.id),
                now,
            )
            .await?;
        }
        None => {
            let mut changes: person::ActiveModel = follower.into();
            changes.unionid = Set(Some(unionid.to_owned()));
            changes.updated_at = Set(now);
            repo::people::update(db, changes).await?;
        }
    }
    Ok(())
}

/// Folds person `fold` into person `keep`: works, files and sessions move; identities join.
pub async fn merge(
    db: &impl ConnectionTrait,
    keep: i64,
    fold: i64,
    now: DateTime<Utc>,
) -> Result<person::Model, AppError> {
    let missing = || AppError::internal(format!("merge of {fold} into {keep}: person missing"));
    let kept = repo::people::find(db, keep).await?.ok_or_else(missing)?;
    let folded = repo::people::find(db, fold).await?.ok_or_else(missing)?;
    repo::works::reassign_author(db, fold, keep).await?;
    repo::uploads::reassign_owner(db, fold, keep).await?;
    repo::sessions::reassign(db, fold, keep).await?;
    repo::votes::reassign_person(db, fold, keep).await?;
    if let Some(draft) = repo::drafts::find_for_person(db, fold).await? {
        repo::drafts::delete(db, draft.id).await?;
    }
    // Free the unique identities before the kept row takes them.
    let mut cleared: person::ActiveModel = folded.clone().into();
    cleared.mp_openid = Set(None);
    cleared.miniapp_openid = Set(None);
    cleared.unionid = Set(None);
    repo::people::update(db, cleared).await?;
    let mut changes: person::ActiveModel = kept.clone().into();
    changes.mp_openid = Set(kept.mp_openid.or(folded.mp_openid));
    changes.miniapp_openid = Set(kept.miniapp_openid.or(folded.miniapp_openid));
    changes.unionid = Set(kept.unionid.or(folded.unionid));
    changes.unit_id = Set(kept.unit_id.or(folded.unit_id));
    changes.following = Set(kept.following || folded.following);
    changes.followed_at = Set(kept.followed_at.or(folded.followed_at));
    changes.last_mp_message_at = Set(kept.last_mp_message_at.or(folded.last_mp_message_at));
    if kept.nickname.is_empty() {
        changes.nickname = Set(folded.nickname);
    }
    if kept.avatar_url.is_none() {
        changes.avatar_url = Set(folded.avatar_url);
    }
    if kept.real_name.is_none() {
        changes.real_name = Set(folded.real_name);
    }
    changes.updated_at = Set(now);
    let merged = repo::people::update(db, changes).await?;
    repo::people::delete(db, fold).await?;
    tracing::info!(
        person.kept = keep,
        person.folded = fold,
        "identities merged"
    );
    Ok(merged)
}

/// Resolves a presented bearer token to its person; unknown, expired or revoked → 401.
pub async fn authenticate(
    db: &DatabaseConnection,
    presented: &str,
) -> Result<CurrentUser, AppError> {
    let session = repo::sessions::find_live(db, &hash_token(presented), Utc::now())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(CurrentUser {
        person_id: session.person_id,
    })
}

/// The person behind an optional `Authorization: Bearer` header; a bad token is an error,
/// no header is simply anonymous.
pub async fn optional_user(
    db: &DatabaseConnection,
    header: Option<&str>,
) -> Result<Option<i64>, AppError> {
    let Some(header) = header else {
        return Ok(None);
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(AppError::Unauthenticated)?;
    Ok(Some(authenticate(db, token.trim()).await?.person_id))
}
