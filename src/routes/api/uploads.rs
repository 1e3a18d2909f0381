//! `POST /api/v1/uploads`: one file in multipart field `file`, as wx.uploadFile sends it.

use poem::{
    FromRequest, Request, RequestBody,
    web::{Data, Field, Multipart},
};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, Object, OpenApi,
    payload::{Json, ParsePayload, Payload},
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef},
};
use tokio::io::AsyncRead;

use crate::{
    error::AppError,
    routes::{Tag, auth::UserAuth},
    service::uploads::{self, DailyQuota, StoredUpload, UploadLimits},
    state::AppState,
};

/// Media uploads.
pub struct UploadsApi;

/// The multipart body, positioned at field `file`; the field is read as a stream by the service
/// (poem-openapi's `Upload` would first spool the whole body to a temporary file).
pub struct FilePart {
    field: Field,
    // Held so that the body stream outlives the field for certain.
    _rest: Multipart,
}

impl FilePart {
    fn into_reader(self) -> impl AsyncRead + Send {
        self.field.into_async_read()
    }
}

impl Payload for FilePart {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(Self::CONTENT_TYPE))
    }

    fn schema_ref() -> MetaSchemaRef {
        let file = MetaSchema {
            description: Some("The file; its type is read from its bytes."),
            ..MetaSchema::new_with_format("string", "binary")
        };
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            properties: vec![("file", MetaSchemaRef::Inline(Box::new(file)))],
            required: vec!["file"],
            ..MetaSchema::new("object")
        }))
    }
}

impl ParsePayload for FilePart {
    const IS_REQUIRED: bool = true;

    /// Skips other fields (wx.uploadFile may add `formData`) up to `file`; later ones are never read.
    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bad = |e: poem::error::ParseMultipartError| AppError::BadRequest(e.to_string());
        let mut multipart = <Multipart as FromRequest>::from_request(request, body).await?;
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            if field.name() == Some("file") {
                return Ok(Self {
                    field,
                    _rest: multipart,
                });
            }
        }
        Err(AppError::BadRequest("缺少文件字段 file".to_owned()).into())
    }
}

impl<'a> ApiExtractor<'a> for FilePart {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: Self::CONTENT_TYPE,
                schema: Self::schema_ref(),
            }],
            required: Self::IS_REQUIRED,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if Self::check_content_type(content_type) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            _ => Err(AppError::BadRequest("请以 multipart/form-data 上传".to_owned()).into()),
        }
    }
}

/// A stored file.
#[derive(Object)]
struct UploadBody {
    /// Use in `upload_ids` of a work.
    id: i64,
    /// image, video or audio.
    kind: String,
    /// The type read from the bytes (not the one the client sent).
    mime: String,
    /// Stored size in bytes (images: after location data was removed).
    size: u64,
    /// Stable public URL.
    url: String,
    /// Pixels (images).
    #[oai(skip_serializing_if_is_none)]
    width: Option<u32>,
    /// Pixels (images).
    #[oai(skip_serializing_if_is_none)]
    height: Option<u32>,
    /// Seconds, rounded to one decimal (audio and video).
    #[oai(skip_serializing_if_is_none)]
    duration_s: Option<f64>,
}

impl From<StoredUpload> for UploadBody {
    fn from(u: StoredUpload) -> Self {
        Self {
            id: u.id,
            kind: u.kind.as_str().to_owned(),
            mime: u.mime.to_owned(),
            size: u.size,
            url: u.url,
            width: u.width,
            height: u.height,
            // Tenths of a second: enough for "3–5 minutes" rules, no float noise like 239.99.
            duration_s: u
                .duration
                .map(|d| (d.as_millis() as f64 / 100.0).round() / 10.0),
        }
    }
}

#[derive(ApiResponse)]
enum UploadResponse {
    /// Stored.
    #[oai(status = 201)]
    Created(Json<UploadBody>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::MiniProgram")]
impl UploadsApi {
    /// Upload one image, video or recording (multipart field `file`). Images ≤ 10 MiB, audio
    /// ≤ 30 MiB, video up to the server's upload limit; 413 beyond, 415 for other types.
    #[oai(path = "/uploads", method = "post")]
    async fn upload(
        &self,
        auth: UserAuth,
        state: Data<&AppState>,
        file: FilePart,
    ) -> poem::Result<UploadResponse> {
        let limits = UploadLimits::new(state.settings.http.max_upload_bytes);
        let quota = DailyQuota {
            files: state.settings.http.upload_files_per_day,
            bytes: state.settings.http.upload_bytes_per_day,
        };
        let stored = uploads::receive(
            &state.db,
            (&state.store, &state.image_budget),
            (limits, quota),
            auth.0.person_id,
            file.into_reader(),
        )
        .await?;
        Ok(UploadResponse::Created(Json(stored.into())))
    }
}
