//! `GET /api/v1/admin/export/{works,votes,awards}.csv?campaign=` (admin), streamed.

use poem::{Body, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Binary,
};

use crate::{
    error::AppError,
    routes::{Tag, auth::AdminAuth},
    service::export::{self, Export},
    state::AppState,
};

/// Exports for Excel.
pub struct ExportApi;

#[derive(ApiResponse)]
enum CsvFile {
    /// UTF-8 CSV with a BOM.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl ExportApi {
    /// works.csv, votes.csv or awards.csv.
    #[oai(path = "/export/:file", method = "get")]
    async fn export(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// `works.csv`, `votes.csv` or `awards.csv`.
        file: Path<String>,
        /// The campaign's key (default: the default campaign).
        campaign: Query<Option<String>>,
    ) -> poem::Result<CsvFile> {
        let export = Export::from_file_name(&file.0).ok_or(AppError::NotFound)?;
        let entry = state.campaign(campaign.0.as_deref())?;
        let chunks = export::csv(state.db.clone(), &auth.0, export, entry)?;
        Ok(CsvFile::Csv(
            Binary(Body::from_bytes_stream(chunks)),
            format!("attachment; filename=\"{}\"", file.0),
        ))
    }
}
