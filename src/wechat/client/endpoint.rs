//! The WeChat endpoints the client calls, with the facts that steer each call.

/// One WeChat API endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /cgi-bin/stable_token`.
    StableToken,
    /// `GET /sns/jscode2session`.
    Jscode2Session,
    /// `POST /wxa/business/getuserphonenumber`.
    PhoneNumber,
    /// `POST /wxa/msg_sec_check` (version 2).
    MsgSecCheck,
    /// `POST /wxa/media_check_async`.
    MediaCheckAsync,
    /// `POST /cgi-bin/message/subscribe/send`.
    SubscribeSend,
    /// `POST /cgi-bin/message/template/send`.
    TemplateSend,
    /// `POST /cgi-bin/message/custom/send`.
    CustomSend,
    /// `GET /cgi-bin/media/get`.
    MediaGet,
    /// `POST /wxa/getwxacodeunlimit`.
    WxaCodeUnlimit,
    /// `POST /cgi-bin/menu/create`.
    MenuCreate,
    /// `POST /wxa/getuserriskrank`.
    UserRiskRank,
    /// `GET /cgi-bin/user/info` (a follower's unionid).
    UserInfo,
}

impl Endpoint {
    /// Every endpoint, for tables built once.
    pub const ALL: [Self; 13] = [
        Self::StableToken,
        Self::Jscode2Session,
        Self::PhoneNumber,
        Self::MsgSecCheck,
        Self::MediaCheckAsync,
        Self::SubscribeSend,
        Self::TemplateSend,
        Self::CustomSend,
        Self::MediaGet,
        Self::WxaCodeUnlimit,
        Self::MenuCreate,
        Self::UserRiskRank,
        Self::UserInfo,
    ];

    /// The path under the API base.
    pub fn path(self) -> &'static str {
        match self {
            Self::StableToken => "/cgi-bin/stable_token",
            Self::Jscode2Session => "/sns/jscode2session",
            Self::PhoneNumber => "/wxa/business/getuserphonenumber",
            Self::MsgSecCheck => "/wxa/msg_sec_check",
            Self::MediaCheckAsync => "/wxa/media_check_async",
            Self::SubscribeSend => "/cgi-bin/message/subscribe/send",
            Self::TemplateSend => "/cgi-bin/message/template/send",
            Self::CustomSend => "/cgi-bin/message/custom/send",
            Self::MediaGet => "/cgi-bin/media/get",
            Self::WxaCodeUnlimit => "/wxa/getwxacodeunlimit",
            Self::MenuCreate => "/cgi-bin/menu/create",
            Self::UserRiskRank => "/wxa/getuserriskrank",
            Self::UserInfo => "/cgi-bin/user/info",
        }
    }

    /// The short name used in metrics and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::StableToken => "stable_token",
            Self::Jscode2Session => "jscode2session",
            Self::PhoneNumber => "getuserphonenumber",
            Self::MsgSecCheck => "msg_sec_check",
            Self::MediaCheckAsync => "media_check_async",
            Self::SubscribeSend => "subscribe_send",
            Self::TemplateSend => "template_send",
            Self::CustomSend => "custom_send",
            Self::MediaGet => "media_get",
            Self::WxaCodeUnlimit => "getwxacodeunlimit",
            Self::MenuCreate => "menu_create",
            Self::UserRiskRank => "getuserriskrank",
            Self::UserInfo => "user_info",
        }
    }

    /// The documented per-minute limit for the whole account, where there is one.
    ///
    /// jscode2session's limit is per user and the send quotas are per day, so they get no
    /// client-side bucket: the outbox paces those.
    pub fn documented_per_minute(self) -> Option<u32> {
        match self {
            Self::StableToken => Some(10_000),
            Self::MsgSecCheck => Some(4_000),
            Self::MediaCheckAsync => Some(2_000),
            Self::WxaCodeUnlimit => Some(5_000),
            _ => None,
        }
    }

    /// Whether repeating a request that may have reached WeChat is harmless.
    ///
    /// A send that timed out may still have been delivered; retrying it would notify twice.
    pub fn repeatable(self) -> bool {
        !matches!(
            self,
            Self::SubscribeSend | Self::TemplateSend | Self::CustomSend
        )
    }

    /// Whether success is a binary body (errors still come as JSON).
    pub fn returns_bytes(self) -> bool {
        matches!(self, Self::MediaGet | Self::WxaCodeUnlimit)
    }
}
