//! `GET /api/v1/campaigns`, `GET /api/v1/campaigns/{key}` and `GET /api/v1/campaign` (the
//! default one): campaigns as data, with the phase in force.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use crate::{
    campaign::{Awards, Campaign, Category, Part, Range},
    routes::Tag,
    state::AppState,
};

/// The campaign.
pub struct CampaignApi;

/// `[min, max]`, inclusive.
#[derive(Object)]
struct RangeView {
    min: u32,
    max: u32,
}

impl From<Range> for RangeView {
    fn from(r: Range) -> Self {
        Self {
            min: r.min,
            max: r.max,
        }
    }
}

/// A category's rules (characters are counted as a reader counts them).
#[derive(Object)]
struct RulesView {
    title_chars: RangeView,
    body_chars: RangeView,
    images: RangeView,
    videos: RangeView,
    audios: RangeView,
    video_seconds: Option<RangeView>,
    audio_seconds: Option<RangeView>,
    /// At least one of: body, images, video, audio.
    require_any: Vec<String>,
    /// The author must declare a true story (真人真事).
    true_story: bool,
    /// Awards: `prizes` (一/二/三等奖 counts) or `top_n`.
    prizes: Option<Vec<u32>>,
    top_n: Option<u32>,
}

/// One category.
#[derive(Object)]
struct CategoryView {
    key: String,
    name: String,
    group: String,
    /// text, images, video, audio or mixed.
    kind: String,
    rules: RulesView,
}

impl From<&Category> for CategoryView {
    fn from(c: &Category) -> Self {
        let r = &c.rules;
        let (prizes, top_n) = match c.awards {
            Awards::Prizes {
                first,
                second,
                third,
            } => (Some(vec![first, second, third]), None),
            Awards::TopN(n) => (None, Some(n)),
        };
        Self {
            key: c.key.clone(),
            name: c.name.clone(),
            group: c.group.clone(),
            kind: c.kind.as_str().to_owned(),
            rules: RulesView {
                title_chars: r.title_chars.into(),
                body_chars: r.body_chars.into(),
                images: r.images.into(),
                videos: r.videos.into(),
                audios: r.audios.into(),
                video_seconds: r.video_seconds.map(Into::into),
                audio_seconds: r.audio_seconds.map(Into::into),
                require_any: r
                    .require_any
                    .iter()
                    .map(|p| match p {
                        Part::Body => "body",
                        Part::Images => "images",
                        Part::Video => "video",
                        Part::Audio => "audio",
                    })
                    .map(str::to_owned)
                    .collect(),
                true_story: r.true_story,
                prizes,
                top_n,
            },
        }
    }
}

/// A phase with its local dates.
#[derive(Object)]
struct PhaseView {
    key: String,
    name: String,
    starts: chrono::NaiveDate,
    ends: chrono::NaiveDate,
}

/// The campaign.
#[derive(Object)]
struct CampaignView {
    /// Its key, for `?campaign=`.
    key: String,
    name: String,
    /// The phase in force now (an admin override wins over the dates; a campaign whose file
    /// was removed is `closed`).
    phase: String,
    phases: Vec<PhaseView>,
    categories: Vec<CategoryView>,
}

/// A campaign in the list.
#[derive(Object)]
struct CampaignSummary {
    key: String,
    name: String,
    /// The phase in force now.
    phase: String,
    phases: Vec<PhaseView>,
}

/// Every campaign, newest first.
#[derive(Object)]
struct CampaignList {
    items: Vec<CampaignSummary>,
}

fn phases(campaign: &Campaign) -> Vec<PhaseView> {
    campaign
        .phases
        .iter()
        .map(|p| PhaseView {
            key: p.key.as_str().to_owned(),
            name: p.name.clone(),
            starts: p.starts,
            ends: p.ends,
        })
        .collect()
}

async fn view(state: &AppState, key: Option<&str>) -> poem::Result<Json<CampaignView>> {
    let entry = state.campaign(key)?;
    let campaign = &entry.def;
    let phase = entry.phase(&state.db, Utc::now()).await?;
    Ok(Json(CampaignView {
        key: campaign.key.clone(),
        name: campaign.name.clone(),
        phase: phase.as_str().to_owned(),
        phases: phases(campaign),
        categories: campaign.categories.iter().map(CategoryView::from).collect(),
    }))
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::MiniProgram")]
impl CampaignApi {
    /// The default campaign: phases, categories and their rules.
    #[oai(path = "/campaign", method = "get")]
    async fn campaign(&self, state: Data<&AppState>) -> poem::Result<Json<CampaignView>> {
        view(&state, None).await
    }

    /// Every campaign with its phase, newest first.
    #[oai(path = "/campaigns", method = "get")]
    async fn campaigns(&self, state: Data<&AppState>) -> poem::Result<Json<CampaignList>> {
        let now = Utc::now();
        let mut items = Vec::new();
        for entry in state.campaigns.all() {
            items.push(CampaignSummary {
                key: entry.def.key.clone(),
                name: entry.def.name.clone(),
                phase: entry.phase(&state.db, now).await?.as_str().to_owned(),
                phases: phases(&entry.def),
            });
        }
        Ok(Json(CampaignList { items }))
    }

    /// One campaign: phases, categories and their rules.
    #[oai(path = "/campaigns/:key", method = "get")]
    async fn one(
        &self,
        state: Data<&AppState>,
        /// The campaign's key.
        key: Path<String>,
    ) -> poem::Result<Json<CampaignView>> {
        view(&state, Some(&key.0)).await
    }
}
