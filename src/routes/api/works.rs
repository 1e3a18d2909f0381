//! Works: submit, list, detail, withdraw, and the caller's own works.

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use crate::{
    domain::listing::Sort,
    error::AppError,
    routes::strict_json::StrictJson,
    routes::{Tag, auth::UserAuth},
    service::{
        auth,
        works::{self, ApiSubmission, WorkDetails},
    },
    state::AppState,
};

/// Works of the campaign.
pub struct WorksApi;

/// One medium of a work.
#[derive(Object)]
pub struct MediaView {
    /// Upload id.
    pub id: i64,
    /// image, video or audio.
    pub kind: String,
    /// Stable URL (absent while a chat photo is still being copied).
    pub url: Option<String>,
    /// Pixels.
    pub width: Option<i32>,
    /// Pixels.
    pub height: Option<i32>,
    /// Seconds, for video and audio.
    pub duration_s: Option<f64>,
}

/// Who made a work.
#[derive(Object)]
pub struct AuthorView {
    /// Nickname.
    pub nickname: String,
    /// Organising unit name.
    pub unit: Option<String>,
}

/// A work as clients see it.
#[derive(Object)]
pub struct WorkView {
    /// Id.
    pub id: i64,
    /// Human code, e.g. WY-0042.
    pub code: String,
    /// The campaign's key.
    pub campaign: String,
    /// Category key.
    pub category: String,
    /// The category's name (kept for works of a category the campaign no longer has).
    pub category_name: String,
    /// Title.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Media in order.
    pub media: Vec<MediaView>,
    /// Author.
    pub author: AuthorView,
    /// checking, pending_review, approved, rejected, withdrawn.
    pub status: String,
    /// Counted votes.
    pub vote_count: i32,
    /// The reviewer's reason (rejected works, shown to their author).
    pub moderation_note: Option<String>,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// When its unit reported it (报送) to the city level.
    pub reported_at: Option<DateTime<Utc>>,
}

impl WorkView {
    /// Builds the view; `with_note` only for the author and reviewers.
    pub fn build(details: WorkDetails, state: &AppState, with_note: bool) -> Self {
        let WorkDetails {
            work,
            author,
            unit,
            media,
        } = details;
        let store = &state.store;
        let campaign = state.campaigns.by_id(work.campaign_id);
        let category_name = campaign
            .and_then(|c| c.category_name(&work.category))
            .unwrap_or(&work.category)
            .to_owned();
        Self {
            id: work.id,
            code: work.code.unwrap_or_default(),
            campaign: campaign.map(|c| c.key().to_owned()).unwrap_or_default(),
            category: work.category,
            category_name,
            title: work.title,
            body: work.body,
            media: media
                .into_iter()
                .map(|(medium, upload)| MediaView {
                    id: medium.upload_id,
                    kind: upload.as_ref().map_or_else(String::new, |u| u.kind.clone()),
                    url: upload
                        .as_ref()
                        .and_then(|u| u.storage_key.as_deref())
                        .map(|k| store.url(k)),
                    width: upload.as_ref().and_then(|u| u.width),
                    height: upload.as_ref().and_then(|u| u.height),
                    duration_s: upload
                        .as_ref()
                        .and_then(|u| u.duration_ms)
                        .map(|ms| f64::from(ms) / 1000.0),
                })
                .collect(),
            author: AuthorView {
                nickname: author.map(|a| a.nickname).unwrap_or_default(),
                unit: unit.map(|u| u.name),
            },
            status: work.status,
            vote_count: work.vote_count,
            moderation_note: if with_note {
                work.moderation_note
            } else {
                None
            },
            created_at: work.created_at,
            reported_at: work.reported_at,
        }
    }
}

/// A new work.
#[derive(Object)]
struct NewWork {
    /// The campaign's key (default: the default campaign).
    campaign: Option<String>,
    /// Category key from `/api/v1/campaigns/{key}`.
    category: String,
    #[oai(default)]
    title: String,
    #[oai(default)]
    body: String,
    /// The caller's uploads, in order.
    #[oai(default)]
    upload_ids: Vec<i64>,
    /// 真人真事 declaration (required by some categories).
    #[oai(default)]
    true_story: bool,
}

/// A page of works.
#[derive(Object)]
struct WorkPage {
    items: Vec<WorkView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// The caller's works.
#[derive(Object)]
struct MyWorks {
    items: Vec<WorkView>,
}

#[derive(ApiResponse)]
enum Created {
    /// Stored; moderation follows.
    #[oai(status = 201)]
    Work(Json<WorkView>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::MiniProgram")]
impl WorksApi {
    /// Submit a work (submission phase only).
    #[oai(path = "/works", method = "post")]
    async fn submit(
        &self,
        auth: UserAuth,
        state: Data<&AppState>,
        body: StrictJson<NewWork>,
    ) -> poem::Result<Created> {
        let body = body.0;
        let campaign = state.campaign(body.campaign.as_deref())?;
        let request = ApiSubmission {
            category: body.category,
            title: body.title,
            body: body.body,
            upload_ids: body.upload_ids,
            true_story: body.true_story,
        };
        let work =
            works::submit_from_miniapp(&state.db, campaign, auth.0.person_id, request, Utc::now())
                .await?;
        Ok(Created::Work(Json(WorkView::build(work, &state, true))))
    }

    /// Approved works, by category, hot or new, with cursor paging.
    #[oai(path = "/works", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        /// Only works of this category key.
        category: Query<Option<String>>,
        /// `hot` (most votes first, the default) or `new` (newest first).
        sort: Query<Option<String>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Works per page (default 20, at most 50).
        limit: Query<Option<u64>>,
        /// The campaign's key (default: the default campaign).
        campaign: Query<Option<String>>,
    ) -> poem::Result<Json<WorkPage>> {
        let entry = state.campaign(campaign.0.as_deref())?;
        let sort = match sort.0.as_deref() {
            None => Sort::Hot,
            Some(text) => Sort::parse(text)
                .ok_or_else(|| AppError::BadRequest("sort 须为 hot 或 new".to_owned()))?,
        };
        let page = state
            .listing
            .get(
                &state.db,
                entry.id,
                category.0.as_deref(),
                sort,
                cursor.0.as_deref(),
                limit.0.unwrap_or(20),
            )
            .await?;
        Ok(Json(WorkPage {
            items: page
                .items
                .iter()
                .map(|w| WorkView::build(w.clone(), &state, false))
                .collect(),
            next_cursor: page.next_cursor.clone(),
        }))
    }

    /// One work (approved, or the caller's own).
    #[oai(path = "/works/:id", method = "get")]
    async fn detail(
        &self,
        state: Data<&AppState>,
        req: &Request,
        /// The work's id.
        id: Path<i64>,
    ) -> poem::Result<Json<WorkView>> {
        let viewer = auth::optional_user(&state.db, req.header("authorization")).await?;
        let work = works::detail(&state.db, id.0, viewer).await?;
        let own = viewer == Some(work.work.author_id);
        Ok(Json(WorkView::build(work, &state, own)))
    }

    /// Withdraw one's own work before it is approved.
    #[oai(path = "/works/:id", method = "delete")]
    async fn withdraw(
        &self,
        auth: UserAuth,
        state: Data<&AppState>,
        /// The work's id.
        id: Path<i64>,
    ) -> poem::Result<Json<WorkView>> {
        let work = works::withdraw(&state.db, id.0, auth.0.person_id, Utc::now()).await?;
        Ok(Json(WorkView::build(work, &state, true)))
    }

    /// The caller's works from every channel and campaign, newest first, with status and votes.
    #[oai(path = "/me/works", method = "get")]
    async fn mine(&self, auth: UserAuth, state: Data<&AppState>) -> poem::Result<Json<MyWorks>> {
        let items = works::mine(&state.db, auth.0.person_id).await?;
        Ok(Json(MyWorks {
            items: items
                .into_iter()
                .map(|w| WorkView::build(w, &state, true))
                .collect(),
        }))
    }
}
