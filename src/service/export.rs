//! CSV exports (UTF-8 with BOM, so Excel reads Chinese), streamed page by page so that a large
//! table never sits in memory.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::{Stream, stream};
use sea_orm::DatabaseConnection;

use crate::{
    domain::{awards::Prize, export::spreadsheet_safe, role::Role},
    error::AppError,
    repo,
    service::{admin_tokens::AdminIdentity, campaign::CampaignEntry},
};

/// Rows fetched per page.
const PAGE: u64 = 500;

/// The byte-order mark Excel needs to take a CSV file as UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What can be exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    /// Every work.
    Works,
    /// The vote ledger.
    Votes,
    /// The computed awards.
    Awards,
}

impl Export {
    /// The export a file name asks for (`works.csv`, ...).
    pub fn from_file_name(name: &str) -> Option<Self> {
        match name {
            "works.csv" => Some(Self::Works),
            "votes.csv" => Some(Self::Votes),
            "awards.csv" => Some(Self::Awards),
            _ => None,
        }
    }

    fn header(self) -> &'static [&'static str] {
        match self {
            Self::Works => &[
                "id",
                "code",
                "category",
                "title",
                "body",
                "author_id",
                "unit_id",
                "channel",
                "status",
                "vote_count",
                "created_at",
                "approved_at",
                "reported_at",
            ],
            Self::Votes => &[
                "id",
                "work_id",
                "user_id",
                "category",
                "campaign_day",
                "ip",
                "user_agent",
                "created_at",
                "status",
                "flag_reason",
                "void_reason",
                "voided_at",
            ],
            Self::Awards => &[
                "category",
                "place",
                "prize",
                "prize_name",
                "work_id",
                "final_score",
                "vote_score",
                "jury_mean",
                "vote_count",
                "computed_at",
            ],
        }
    }
}

/// A campaign's export as a stream of CSV chunks (admins only), times in the campaign's zone.
/// A database error ends the stream early with an I/O error, which the client sees as a
/// broken download.
pub fn csv(
    db: DatabaseConnection,
    who: &AdminIdentity,
    export: Export,
    campaign: &CampaignEntry,
) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static, AppError> {
    who.require(&[Role::Admin])?;
    let (campaign_id, tz) = (campaign.id, campaign.def.timezone);
    Ok(stream::unfold(Some((0_i64, true)), move |state| {
        let db = db.clone();
        async move {
            let (after, first) = state?;
            match page(&db, export, (campaign_id, tz), after, first).await {
                Ok((bytes, last, rows)) => {
                    let next = (rows == PAGE).then_some((last, false));
                    Some((Ok(Bytes::from(bytes)), next))
                }
                Err(err) => {
                    tracing::error!(error.cause = %err, "export failed");
                    Some((Err(std::io::Error::other(err.to_string())), None))
                }
            }
        }
    }))
}

/// One page as CSV bytes (with the BOM and header first), the last id and the row count.
async fn page(
    db: &DatabaseConnection,
    export: Export,
    (campaign_id, tz): (i64, Tz),
    after: i64,
    first: bool,
) -> Result<(Vec<u8>, i64, u64), AppError> {
    let mut out = Vec::new();
    if first {
        out.extend_from_slice(BOM);
    }
    let mut writer = csv::Writer::from_writer(out);
    let csv_err = |e: csv::Error| AppError::internal(format!("csv: {e}"));
    if first {
        writer.write_record(export.header()).map_err(csv_err)?;
    }
    let time = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
    let opt_time = |t: Option<DateTime<Utc>>| t.map(time).unwrap_or_default();
    let (last, rows) = match export {
        Export::Works => {
            let works = repo::works::page_after(db, campaign_id, after, PAGE).await?;
            for w in &works {
                writer
                    .write_record([
                        w.id.to_string(),
                        w.code.clone().unwrap_or_default(),
                        w.category.clone(),
                        spreadsheet_safe(&w.title).into_owned(),
                        spreadsheet_safe(&w.body).into_owned(),
                        w.author_id.to_string(),
                        w.unit_id.map(|u| u.to_string()).unwrap_or_default(),
                        w.channel.clone(),
                        w.status.clone(),
                        w.vote_count.to_string(),
                        time(w.created_at),
                        opt_time(w.approved_at),
                        opt_time(w.reported_at),
                    ])
                    .map_err(csv_err)?;
            }
            (works.last().map_or(after, |w| w.id), works.len())
        }
        Export::Votes => {
            let votes = repo::votes::page_after(db, campaign_id, after, PAGE).await?;
            for v in &votes {
                writer
                    .write_record([
                        v.id.to_string(),
                        v.work_id.to_string(),
                        v.person_id.to_string(),
                        v.category.clone(),
                        v.campaign_day.clone(),
                        v.ip.clone(),
                        spreadsheet_safe(&v.user_agent).into_owned(),
                        time(v.created_at),
                        v.status.clone(),
                        v.flag_reason.clone().unwrap_or_default(),
                        spreadsheet_safe(v.void_reason.as_deref().unwrap_or_default()).into_owned(),
                        opt_time(v.voided_at),
                    ])
                    .map_err(csv_err)?;
            }
            (votes.last().map_or(after, |v| v.id), votes.len())
        }
        Export::Awards => {
            let awards = repo::awards::page_after(db, campaign_id, after, PAGE).await?;
            for a in &awards {
                let prize = Prize::parse(&a.prize).map_or("", Prize::label);
                writer
                    .write_record([
                        a.category.clone(),
                        a.place.to_string(),
                        a.prize.clone(),
                        prize.to_owned(),
                        a.work_id.to_string(),
                        format!("{:.2}", a.final_score),
                        format!("{:.2}", a.vote_score),
                        format!("{:.2}", a.jury_mean),
                        a.vote_count.to_string(),
                        time(a.computed_at),
                    ])
                    .map_err(csv_err)?;
            }
            (awards.last().map_or(after, |a| a.id), awards.len())
        }
    };
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::internal(format!("csv: {e}")))?;
    Ok((bytes, last, u64::try_from(rows).unwrap_or(u64::MAX)))
}
