//! `GET/PATCH /api/v1/me` and `GET /api/v1/units` (service: `people`).

use entity::person;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use crate::{
    routes::strict_json::StrictJson,
    routes::{Tag, auth::UserAuth},
    service::people::{self, ProfileChanges},
    state::AppState,
};

/// The caller's profile, and the units to choose from.
pub struct MeApi;

/// A profile.
#[derive(Object)]
struct Profile {
    id: i64,
    nickname: String,
    avatar_url: Option<String>,
    unit_id: Option<i64>,
    real_name: Option<String>,
}

impl From<person::Model> for Profile {
    fn from(p: person::Model) -> Self {
        Self {
            id: p.id,
            nickname: p.nickname,
            avatar_url: p.avatar_url,
            unit_id: p.unit_id,
            real_name: p.real_name,
        }
    }
}

/// Profile changes; absent fields stay.
#[derive(Object)]
struct ProfilePatch {
    /// 1-20 characters.
    nickname: Option<String>,
    /// An image the caller uploaded.
    avatar_upload_id: Option<i64>,
    /// An organising unit id from `/api/v1/units`.
    unit_id: Option<i64>,
    /// 1-20 characters.
    real_name: Option<String>,
}

/// An organising unit.
#[derive(Object)]
struct Unit {
    id: i64,
    /// Code used in official-account QR scenes.
    code: String,
    name: String,
}

/// The unit list.
#[derive(Object)]
struct Units {
    items: Vec<Unit>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::MiniProgram")]
impl MeApi {
    /// The caller's profile.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, auth: UserAuth, state: Data<&AppState>) -> poem::Result<Json<Profile>> {
        Ok(Json(people::get(&state.db, auth.0.person_id).await?.into()))
    }

    /// Change the caller's profile.
    #[oai(path = "/me", method = "patch")]
    async fn update(
        &self,
        auth: UserAuth,
        state: Data<&AppState>,
        body: StrictJson<ProfilePatch>,
    ) -> poem::Result<Json<Profile>> {
        let body = body.0;
        let changes = ProfileChanges {
            nickname: body.nickname,
            avatar_upload_id: body.avatar_upload_id,
            unit_id: body.unit_id,
            real_name: body.real_name,
        };
        Ok(Json(
            people::update(&state.db, &state.store, auth.0.person_id, changes)
                .await?
                .into(),
        ))
    }

    /// Organising units (区局/产业工会).
    #[oai(path = "/units", method = "get")]
    async fn units(&self, state: Data<&AppState>) -> poem::Result<Json<Units>> {
        let items = people::units(&state.db)
            .await?
            .into_iter()
            .map(|u| Unit {
                id: u.id,
                code: u.code,
                name: u.name,
            })
            .collect();
        Ok(Json(Units { items }))
    }
}
