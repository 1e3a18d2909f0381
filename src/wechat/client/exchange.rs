//! One endpoint call: quota bucket, attempts with backoff, metrics, and the `errcode` check.

use std::time::Instant;

use serde::{Deserialize, de::DeserializeOwned};

use super::{
    endpoint::Endpoint,
    error::{ErrorClass, WechatError},
    metrics::ClientMetrics,
    quota::QuotaLimiter,
    retry::RetryPolicy,
    transport::{Transport, WireRequest, WireResponse},
};

/// Sends requests through the transport with the client's policies; shared by all clones.
pub(crate) struct Exchange {
    pub(crate) transport: Transport,
    pub(crate) retry: RetryPolicy,
    pub(crate) quota: QuotaLimiter,
    pub(crate) metrics: ClientMetrics,
}

impl Exchange {
    /// Calls the endpoint, retrying retryable failures within the policy.
    pub(crate) async fn call(&self, request: &WireRequest) -> Result<WireResponse, WechatError> {
        let endpoint = request.endpoint;
        let mut retry = 0;
        loop {
            self.quota.acquire(endpoint).await;
            let started = Instant::now();
            let result = self
                .transport
                .send(request)
                .await
                .and_then(|response| check(endpoint, response));
            self.metrics.observe(endpoint, &result, started.elapsed());
            match result {
                Err(err) if self.should_retry(endpoint, &err, retry) => {
                    let pause = self.retry.delay(retry);
                    tracing::warn!(
                        wechat.api = endpoint.name(),
                        error = %err,
                        retry = retry + 1,
                        pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                        "wechat call failed, retrying"
                    );
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
                other => return other,
            }
        }
    }

    fn should_retry(&self, endpoint: Endpoint, err: &WechatError, retry: u32) -> bool {
        err.class() == ErrorClass::Retryable
            && retry.saturating_add(1) < self.retry.max_attempts
            && (endpoint.repeatable() || err.never_delivered())
    }
}

/// The `errcode`/`errmsg` pair every JSON answer may carry (absent means success).
#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// Turns a raw answer into success or a typed error.
pub(crate) fn check(
    endpoint: Endpoint,
    response: WireResponse,
) -> Result<WireResponse, WechatError> {
    let api = endpoint.name();
    if response.status != 200 {
        return Err(WechatError::Status {
            api,
            status: response.status,
        });
    }
    // Binary endpoints answer bytes on success and JSON only on failure: branch on the type.
    if endpoint.returns_bytes() && !response.looks_like_json() {
        return Ok(response);
    }
    let status: Status =
        serde_json::from_slice(&response.body).map_err(|e| WechatError::Decode {
            api,
            message: e.to_string(),
        })?;
    match status.errcode {
        0 => Ok(response),
        code => Err(WechatError::Api {
            api,
            code,
            message: status.errmsg,
        }),
    }
}

/// Parses a checked JSON answer into `T`.
pub(crate) fn decode<T: DeserializeOwned>(
    endpoint: Endpoint,
    response: &WireResponse,
) -> Result<T, WechatError> {
    serde_json::from_slice(&response.body).map_err(|e| WechatError::Decode {
        api: endpoint.name(),
        message: e.to_string(),
    })
}

/// Serialises a request body; our own types always serialise, but the error stays typed.
pub(crate) fn encode<T: serde::Serialize>(
    endpoint: Endpoint,
    body: &T,
) -> Result<Vec<u8>, WechatError> {
    serde_json::to_vec(body).map_err(|e| WechatError::Decode {
        api: endpoint.name(),
        message: format!("cannot encode the request: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn answer(status: u16, content_type: &str, body: &str) -> WireResponse {
        WireResponse {
            status,
            content_type: content_type.to_owned(),
            content_disposition: None,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn a_zero_or_absent_errcode_is_success() {
        let ok = answer(200, "application/json", r#"{"errcode":0,"errmsg":"ok"}"#);
        assert!(check(Endpoint::CustomSend, ok).is_ok());
        let bare = answer(200, "application/json", r#"{"openid":"o1"}"#);
        assert!(check(Endpoint::Jscode2Session, bare).is_ok());
    }

    #[test]
    fn a_nonzero_errcode_becomes_a_typed_error_even_as_text_plain() {
        let err = check(
            Endpoint::SubscribeSend,
            answer(
                200,
                "text/plain",
                r#"{"errcode":43101,"errmsg":"user refuse"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(err.errcode(), Some(43101));
        assert_eq!(err.class(), ErrorClass::Permanent);
    }

    #[test]
    fn binary_endpoints_pass_bytes_and_parse_json_errors() {
        let image = answer(200, "image/jpeg", "\u{1}\u{2}");
        assert!(check(Endpoint::MediaGet, image).is_ok());
        let err = check(
            Endpoint::WxaCodeUnlimit,
            answer(
                200,
                "application/json; charset=utf-8",
                r#"{"errcode":45009,"errmsg":"limit"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Quota);
    }

    #[test]
    fn server_errors_are_retryable_and_garbage_is_permanent() {
        let err = check(Endpoint::MsgSecCheck, answer(503, "text/html", "busy")).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Retryable);
        let err = check(Endpoint::MsgSecCheck, answer(200, "text/html", "<html>")).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Permanent);
    }
}
