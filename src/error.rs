//! `AppError`: the one error type at the HTTP boundary, mapped once to the contract's body
//! `{"error":{"code","message"}}`.

use std::{collections::BTreeMap, time::Duration};

use poem::{IntoResponse, Response, error::ResponseError, http::StatusCode};
use serde::Serialize;

/// Everything a request can fail with, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed body or parameter.
    #[error("请求格式有误：{0}")]
    BadRequest(String),
    /// Some fields of a well-formed body are unacceptable; `fields` says which.
    #[error("请检查填写的内容")]
    BadRequestFields(BTreeMap<String, String>),
    /// Some texts cannot be stored at all (control characters, piled combining marks, more
    /// than the column holds); `fields` says which.
    #[error("填写的内容含有无法保存的字符")]
    InvalidInput(BTreeMap<String, String>),
    /// Missing, unknown or expired token.
    #[error("请先登录")]
    Unauthenticated,
    /// The caller's role does not allow this.
    #[error("没有权限进行此操作")]
    Forbidden,
    /// The wx.login code is used, expired or from another app (WeChat 40029).
    #[error("登录凭证无效或已过期，请重新登录")]
    InvalidLoginCode,
    /// WeChat blocks this user's login as high-risk (40226).
    #[error("该微信账号暂时无法登录")]
    LoginBlocked,
    /// Voting requires following the official account, and the caller does not.
    #[error("请先关注公众号再投票")]
    NotFollowing,
    /// A submission or vote outside its phase.
    #[error("{0}")]
    PhaseClosed(String),
    /// No such thing, or not visible to the caller.
    #[error("内容不存在")]
    NotFound,
    /// The same work was already voted for today.
    #[error("今天已经为这个作品投过票了")]
    AlreadyVotedToday,
    /// The body or upload is over its size limit.
    #[error("上传内容过大")]
    TooLarge,
    /// The body stalled or arrived too slowly, and was cut.
    #[error("上传速度过慢，请检查网络后重试")]
    TooSlow,
    /// An upload of a type that is not taken.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// A rule of the category is broken; `fields` says which.
    #[error("作品不符合要求")]
    InvalidWork(BTreeMap<String, String>),
    /// Message data WeChat would refuse (47003); `fields` names the keys.
    #[error("消息内容不符合模板要求")]
    InvalidData(BTreeMap<String, String>),
    /// The per-day vote cap is reached.
    #[error("今天的投票次数已用完，明天再来吧")]
    DailyVoteLimit { retry_after: Duration },
    /// Too many requests.
    #[error("操作太频繁，请稍后再试")]
    RateLimited { retry_after: Duration },
    /// WeChat answered an error that retrying cannot fix.
    #[error("微信服务返回错误：{0}")]
    Wechat(String),
    /// The database or WeChat is unreachable; safe to retry.
    #[error("服务暂时不可用，请稍后再试")]
    Unavailable(String),
    /// A bug or an unexpected state; the cause is kept for the log, never shown.
    #[error("服务器内部错误")]
    Internal(#[source] BoxError),
}

/// Any error, kept as the cause of an [`AppError::Internal`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        if crate::db::is_transient(&err) {
            Self::Unavailable(err.to_string())
        } else {
            Self::Internal(Box::new(err))
        }
    }
}

/// A database that is unreachable, restarting or gave the transaction up is worth retrying:
/// 503 (nothing committed). The rest is a bug.
impl From<std::sync::Arc<sea_orm::DbErr>> for AppError {
    fn from(err: std::sync::Arc<sea_orm::DbErr>) -> Self {
        if crate::db::is_transient(&err) {
            Self::Unavailable(err.to_string())
        } else {
            Self::Internal(Box::new(err))
        }
    }
}

impl From<crate::wechat::client::WechatError> for AppError {
    /// Transient, token and quota failures are worth retrying later; the rest are WeChat's
    /// final word. Services map the errcodes they expect (40029, 43101, ...) before this.
    fn from(err: crate::wechat::client::WechatError) -> Self {
        match err.class() {
            crate::wechat::client::ErrorClass::Permanent => Self::Wechat(err.to_string()),
            _ => Self::Unavailable(err.to_string()),
        }
    }
}

impl AppError {
    /// An unexpected state or a lower error that is a bug here; `cause` goes to the log.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    /// Whether trying again later may succeed: something was unavailable, or an unexpected
    /// state that a later attempt may not meet. A background job retries these.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Internal(_))
    }

    /// The technical cause, for logs and a job's `last_error`: the lower error where there is
    /// one, else the contract's code with the message.
    pub fn cause(&self) -> String {
        match self {
            Self::Internal(source) => source.to_string(),
            Self::Unavailable(cause) | Self::Wechat(cause) => cause.clone(),
            other => format!("{}: {other}", other.code()),
        }
    }

    /// A 400 naming one field and what is wrong with it.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::BadRequestFields([(name.to_owned(), message.into())].into())
    }

    /// The error for field `name` breaking its text bound: 422 when it cannot be stored, 400
    /// when it is only longer than allowed.
    pub fn text(name: &str, err: crate::domain::text::TextError) -> Self {
        use crate::domain::text::TextError;
        match err {
            TextError::Unfit(message) => Self::InvalidInput([(name.to_owned(), message)].into()),
            TextError::TooLong(message) => Self::field(name, message),
        }
    }

    /// The contract's snake_case code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) | Self::BadRequestFields(_) => "bad_request",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden | Self::NotFollowing => "forbidden",
            Self::InvalidLoginCode => "invalid_login_code",
            Self::LoginBlocked => "login_blocked",
            Self::PhaseClosed(_) => "phase_closed",
            Self::NotFound => "not_found",
            Self::AlreadyVotedToday => "already_voted_today",
            Self::TooLarge => "too_large",
            Self::TooSlow => "request_timeout",
            Self::UnsupportedMedia(_) => "unsupported_media",
            Self::InvalidWork(_) => "invalid_work",
            Self::InvalidInput(_) => "invalid_input",
            Self::InvalidData(_) => "invalid_data",
            Self::DailyVoteLimit { .. } => "daily_vote_limit",
            Self::RateLimited { .. } => "rate_limited",
            Self::Wechat(_) => "wechat_error",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::DailyVoteLimit { retry_after } | Self::RateLimited { retry_after } => {
                Some(*retry_after)
            }
            Self::Unavailable(_) => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

impl ResponseError for AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::BadRequestFields(_) | Self::InvalidLoginCode => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::NotFollowing | Self::PhaseClosed(_) | Self::LoginBlocked => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::AlreadyVotedToday => StatusCode::CONFLICT,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidWork(_) | Self::InvalidData(_) | Self::InvalidInput(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::DailyVoteLimit { .. } | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Wechat(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        let status = self.status();
        // The cause is logged once, here; the client sees only the contract's message.
        match self {
            Self::Internal(source) => tracing::error!(error.cause = %source, "request failed"),
            Self::Unavailable(cause) | Self::Wechat(cause) => {
                tracing::warn!(error.cause = %cause, "request failed")
            }
            _ => {}
        }
        let fields = match self {
            Self::InvalidWork(fields)
            | Self::BadRequestFields(fields)
            | Self::InvalidData(fields)
            | Self::InvalidInput(fields) => Some(fields),
            _ => None,
        };
        let mut response = error_body(status, self.code(), &self.to_string(), fields);
        if let Some(after) = self.retry_after() {
            response
                .headers_mut()
                .insert("retry-after", after.as_secs().max(1).into());
        }
        response
    }
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a BTreeMap<String, String>>,
}

fn error_body(
    status: StatusCode,
    code: &str,
    message: &str,
    fields: Option<&BTreeMap<String, String>>,
) -> Response {
    let envelope = ErrorEnvelope {
        error: ErrorDetail {
            code,
            message,
            fields,
        },
    };
    let body = serde_json::to_string(&envelope).unwrap_or_else(|_| {
        r#"{"error":{"code":"internal","message":"服务器内部错误"}}"#.to_owned()
    });
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body)
}

/// Turns any error that reached the top of the route tree into the contract's JSON body.
///
/// `AppError`s render themselves; errors raised by poem or poem-openapi (unknown route,
/// unparsable JSON, missing parameter, …) are mapped by their status.
pub fn render(err: poem::Error) -> Response {
    if let Some(app) = err.downcast_ref::<AppError>() {
        return app.as_response();
    }
    let status = err.status();
    let (code, message) = match status {
        StatusCode::BAD_REQUEST | StatusCode::LENGTH_REQUIRED => {
            ("bad_request", format!("请求格式有误：{err}"))
        }
        StatusCode::UNAUTHORIZED => ("unauthenticated", "请先登录".to_owned()),
        StatusCode::FORBIDDEN => ("forbidden", "没有权限进行此操作".to_owned()),
        StatusCode::NOT_FOUND => ("not_found", "内容不存在".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "不支持该请求方法".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "上传内容过大".to_owned()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media", "不支持的内容类型".to_owned()),
        s if s.is_client_error() => ("bad_request", format!("请求有误：{err}")),
        _ => {
            tracing::error!(error.cause = %err, "unhandled error");
            ("internal", "服务器内部错误".to_owned())
        }
    };
    // Client errors from the framework keep their status; anything else becomes a 500.
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    error_body(status, code, &message, None).into_response()
}
