//! Profiles of people (我的资料).

use chrono::Utc;
use entity::person;
use sea_orm::{DatabaseConnection, Set};

use crate::{domain::text::char_count, error::AppError, repo, storage::MediaStore};

/// Changes a person asks for; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    /// New nickname.
    pub nickname: Option<String>,
    /// An uploaded image of theirs to use as avatar.
    pub avatar_upload_id: Option<i64>,
    /// Their organising unit.
    pub unit_id: Option<i64>,
    /// Their real name (for awards).
    pub real_name: Option<String>,
}

/// A person by id, or 401 if the session outlived them.
pub async fn get(db: &DatabaseConnection, person_id: i64) -> Result<person::Model, AppError> {
    repo::people::find(db, person_id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

fn bounded(
    field: &str,
    label: &str,
    text: &str,
    max: u32,
    errors: &mut std::collections::BTreeMap<String, String>,
) {
    let n = char_count(text);
    if n == 0 || n > max {
        errors.insert(field.to_owned(), format!("{label}须为1至{max}个字"));
    }
}

/// Applies profile changes after checking every field.
pub async fn update(
    db: &DatabaseConnection,
    store: &MediaStore,
    person_id: i64,
    changes: ProfileChanges,
) -> Result<person::Model, AppError> {
    let person = get(db, person_id).await?;
    let mut errors = std::collections::BTreeMap::new();
    if let Some(nickname) = &changes.nickname {
        bounded("nickname", "昵称", nickname, 20, &mut errors);
    }
    if let Some(real_name) = &changes.real_name {
        bounded("real_name", "姓名", real_name, 20, &mut errors);
    }
    let avatar_url = match changes.avatar_upload_id {
        None => None,
        Some(id) => match repo::uploads::find(db, id).await? {
            Some(upload)
                if upload.owner_id == person_id
                    && upload.kind == "image"
                    && upload.state == "ready" =>
            {
                upload.storage_key.map(|key| store.url(&key))
            }
            _ => {
                errors.insert(
                    "avatar_upload_id".to_owned(),
                    "请上传一张图片作为头像".to_owned(),
                );
                None
            }
        },
    };
    if let Some(unit_id) = changes.unit_id
        && repo::units::find(db, unit_id).await?.is_none()
    {
        errors.insert("unit_id".to_owned(), "没有这个组织单位".to_owned());
    }
    if !errors.is_empty() {
        return Err(AppError::BadRequestFields(errors));
    }
    let mut update: person::ActiveModel = person.into();
    if let Some(nickname) = changes.nickname {
        update.nickname = Set(nickname.trim().to_owned());
    }
    if let Some(real_name) = changes.real_name {
        update.real_name = Set(Some(real_name.trim().to_owned()));
    }
    if avatar_url.is_some() {
        update.avatar_url = Set(avatar_url);
    }
    if let Some(unit_id) = changes.unit_id {
        update.unit_id = Set(Some(unit_id));
    }
    update.updated_at = Set(Utc::now());
    Ok(repo::people::update(db, update).await?)
}
