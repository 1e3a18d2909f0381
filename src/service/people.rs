//! Profiles of people (我的资料).

use chrono::Utc;
use entity::person;
use sea_orm::{DatabaseConnection, Set};

use crate::{
    domain::text::{TextBound, TextError, char_count},
    error::AppError,
    repo,
    storage::MediaStore,
};

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

/// The organising units a person may choose from, by id.
pub async fn units(db: &DatabaseConnection) -> Result<Vec<entity::unit::Model>, AppError> {
    Ok(repo::units::all(db).await?)
}

/// A person by id, or 401 if the session outlived them.
pub async fn get(db: &DatabaseConnection, person_id: i64) -> Result<person::Model, AppError> {
    repo::people::find(db, person_id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// A nickname: what people read, and the `varchar(64)` it is stored in.
const NICKNAME: TextBound = TextBound {
    label: "昵称",
    max_graphemes: 20,
    max_chars: 64,
    multiline: false,
};

/// A real name, bounded like the nickname.
const REAL_NAME: TextBound = TextBound {
    label: "姓名",
    ..NICKNAME
};

/// Field errors of a profile change: texts that cannot be stored (422), and the rest (400).
#[derive(Default)]
struct Problems {
    unfit: std::collections::BTreeMap<String, String>,
    other: std::collections::BTreeMap<String, String>,
}

impl Problems {
    fn bounded(&mut self, field: &str, bound: &TextBound, text: &str) {
        match bound.check(text) {
            Err(TextError::Unfit(message)) => {
                self.unfit.insert(field.to_owned(), message);
            }
            Err(TextError::TooLong(_)) => {
                self.other.insert(
                    field.to_owned(),
                    format!("{}须为1至{}个字", bound.label, bound.max_graphemes),
                );
            }
            Ok(()) if char_count(text) == 0 => {
                self.other.insert(
                    field.to_owned(),
                    format!("{}须为1至{}个字", bound.label, bound.max_graphemes),
                );
            }
            Ok(()) => {}
        }
    }
}

/// Applies profile changes after checking every field.
pub async fn update(
    db: &DatabaseConnection,
    store: &MediaStore,
    person_id: i64,
    changes: ProfileChanges,
) -> Result<person::Model, AppError> {
    let mut problems = Problems::default();
    if let Some(nickname) = &changes.nickname {
        problems.bounded("nickname", &NICKNAME, nickname);
    }
    if let Some(real_name) = &changes.real_name {
        problems.bounded("real_name", &REAL_NAME, real_name);
    }
    // Texts that cannot be stored are refused before anything is read.
    if !problems.unfit.is_empty() {
        return Err(AppError::InvalidInput(problems.unfit));
    }
    let mut errors = problems.other;
    let person = get(db, person_id).await?;
    let avatar_url = match changes.avatar_upload_id {
        None => None,
        Some(id) => match repo::uploads::find(db, id).await? {
            Some(upload)
                if upload.owner_id == person_id
                    && upload.kind == "image"
                    && upload.state == entity::upload::UploadState::Ready =>
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
