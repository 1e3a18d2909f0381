//! `WechatError`: every way a WeChat call can fail, with the class that decides what happens next.

/// What the client (and its caller) should do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient (-1, HTTP 5xx, timeouts, connection errors): retry with backoff.
    Retryable,
    /// The access token was refused (40001, 40014, 42001): refresh it and retry once.
    Token,
    /// A quota is used up (45009, 45011, 45047): do not retry now.
    Quota,
    /// Retrying cannot help (bad input, user refused, blocked user, ...).
    Permanent,
}

/// The class of a non-zero WeChat `errcode`.
pub fn classify_errcode(code: i64) -> ErrorClass {
    match code {
        -1 => ErrorClass::Retryable,
        40001 | 40014 | 42001 => ErrorClass::Token,
        45009 | 45011 | 45047 => ErrorClass::Quota,
        _ => ErrorClass::Permanent,
    }
}

/// A failed WeChat call; `api` names the endpoint (as in the metrics).
#[derive(Clone, Debug, thiserror::Error)]
pub enum WechatError {
    /// WeChat answered with a non-zero `errcode`.
    #[error("wechat {api}: errcode {code}: {message}")]
    Api {
        /// Endpoint name.
        api: &'static str,
        /// WeChat's `errcode`.
        code: i64,
        /// WeChat's `errmsg`.
        message: String,
    },
    /// An HTTP status other than 200.
    #[error("wechat {api}: HTTP status {status}")]
    Status {
        /// Endpoint name.
        api: &'static str,
        /// The status code.
        status: u16,
    },
    /// No answer within the configured timeout.
    #[error("wechat {api}: timed out")]
    Timeout {
        /// Endpoint name.
        api: &'static str,
    },
    /// The connection could not be made, so the request never reached WeChat.
    #[error("wechat {api}: cannot connect: {message}")]
    Connect {
        /// Endpoint name.
        api: &'static str,
        /// The transport's description.
        message: String,
    },
    /// The connection broke after the request may have been sent.
    #[error("wechat {api}: transport: {message}")]
    Transport {
        /// Endpoint name.
        api: &'static str,
        /// The transport's description.
        message: String,
    },
    /// The body is not what the API documents.
    #[error("wechat {api}: unexpected response: {message}")]
    Decode {
        /// Endpoint name.
        api: &'static str,
        /// What did not fit.
        message: String,
    },
    /// The shared token store (the database) failed.
    #[error("wechat token store: {0}")]
    Store(String),
    /// Another instance held the refresh lease for longer than we may wait.
    #[error("wechat token of {appid}: refresh lease not obtained in time")]
    LeaseTimeout {
        /// The app whose token was wanted.
        appid: String,
    },
}

impl WechatError {
    /// What to do about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api { code, .. } => classify_errcode(*code),
            Self::Status { status, .. } if *status >= 500 => ErrorClass::Retryable,
            Self::Status { .. } | Self::Decode { .. } => ErrorClass::Permanent,
            Self::Timeout { .. }
            | Self::Connect { .. }
            | Self::Transport { .. }
            | Self::Store(_)
            | Self::LeaseTimeout { .. } => ErrorClass::Retryable,
        }
    }

    /// WeChat's `errcode`, when WeChat answered one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The `errcode` label of the error metric.
    pub(crate) fn metric_label(&self) -> String {
        match self {
            Self::Api { code, .. } => code.to_string(),
            Self::Status { status, .. } => format!("http_{status}"),
            Self::Timeout { .. } => "timeout".to_owned(),
            Self::Connect { .. } => "connect".to_owned(),
            Self::Transport { .. } => "transport".to_owned(),
            Self::Decode { .. } => "decode".to_owned(),
            Self::Store(_) => "store".to_owned(),
            Self::LeaseTimeout { .. } => "lease_timeout".to_owned(),
        }
    }

    /// True when the request provably never reached WeChat, so even a send may be repeated.
    pub(crate) fn never_delivered(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_fall_into_the_documented_classes() {
        for code in [40001, 40014, 42001] {
            assert_eq!(classify_errcode(code), ErrorClass::Token, "{code}");
        }
        for code in [45009, 45011, 45047] {
            assert_eq!(classify_errcode(code), ErrorClass::Quota, "{code}");
        }
        for code in [40029, 40226, 43101, 47003, 45015, 40003, 41030, 40007] {
            assert_eq!(classify_errcode(code), ErrorClass::Permanent, "{code}");
        }
        assert_eq!(classify_errcode(-1), ErrorClass::Retryable);
    }

    #[test]
    fn transport_failures_and_server_errors_are_retryable() {
        let api = "x";
        assert_eq!(
            WechatError::Status { api, status: 502 }.class(),
            ErrorClass::Retryable
        );
        assert_eq!(
            WechatError::Status { api, status: 404 }.class(),
            ErrorClass::Permanent
        );
        assert_eq!(WechatError::Timeout { api }.class(), ErrorClass::Retryable);
        let connect = WechatError::Connect {
            api,
            message: "refused".into(),
        };
        assert_eq!(connect.class(), ErrorClass::Retryable);
        assert!(connect.never_delivered());
    }
}
