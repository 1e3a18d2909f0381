//! `GET /api/v1/campaign`: the campaign as data, with the phase in force.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use crate::{
    campaign::{Awards, Category, Part, Range},
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
    name: String,
    /// The phase in force now (an admin override wins over the dates).
    phase: String,
    phases: Vec<PhaseView>,
    categories: Vec<CategoryView>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::MiniProgram")]
impl CampaignApi {
    /// The campaign: phases, categories and their rules.
    #[oai(path = "/campaign", method = "get")]
    async fn campaign(&self, state: Data<&AppState>) -> poem::Result<Json<CampaignView>> {
        let campaign = &state.campaign;
        let phase = state.phase.phase(&state.db, Utc::now()).await?;
        Ok(Json(CampaignView {
            name: campaign.name.clone(),
            phase: phase.as_str().to_owned(),
            phases: campaign
                .phases
                .iter()
                .map(|p| PhaseView {
                    key: p.key.as_str().to_owned(),
                    name: p.name.clone(),
                    starts: p.starts,
                    ends: p.ends,
                })
                .collect(),
            categories: campaign.categories.iter().map(CategoryView::from).collect(),
        }))
    }
}
