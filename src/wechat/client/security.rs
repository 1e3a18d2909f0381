//! Content security (`msg_sec_check` v2, `media_check_async`) and `getuserriskrank`.

use serde::{Deserialize, Serialize, Serializer};

use super::{App, Endpoint, WechatClient, WechatError, exchange::decode, post_json};

/// A text to check: `scene` 1 profile, 2 comment, 3 forum, 4 social log.
#[derive(Clone, Debug, Serialize)]
pub struct MsgSecCheck {
    /// A mini-program user active within the last two hours.
    pub openid: String,
    /// Scene number.
    pub scene: u8,
    /// The text, at most 2500 characters.
    pub content: String,
    /// Nickname (scene 1 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Title (scene 1 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Signature (scene 1 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// WeChat's advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Suggest {
    /// Publish.
    Pass,
    /// Block.
    Risky,
    /// Hold for a human; also any advice this code does not know.
    #[serde(other)]
    Review,
}

/// The overall verdict.
#[derive(Clone, Debug, Deserialize)]
pub struct Verdict {
    /// The advice.
    pub suggest: Suggest,
    /// 100 normal, 10001 ad, 20001 politics, 20002 porn, ...
    pub label: i64,
}

/// One strategy's finding.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecCheckDetail {
    /// Strategy name.
    pub strategy: String,
    /// This strategy's errcode (0 ok).
    pub errcode: i64,
    /// Its advice.
    pub suggest: Option<Suggest>,
    /// Its label.
    pub label: Option<i64>,
    /// Confidence 0..100.
    pub prob: Option<f64>,
    /// The matched keyword.
    pub keyword: Option<String>,
}

/// What `msg_sec_check` returns.
#[derive(Clone, Debug, Deserialize)]
pub struct SecCheckResult {
    /// WeChat's id of this check.
    pub trace_id: String,
    /// The verdict to act on.
    pub result: Verdict,
    /// Per-strategy details.
    #[serde(default)]
    pub detail: Vec<SecCheckDetail>,
}

/// Kind of media for `media_check_async`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// Audio (1).
    Audio,
    /// Image (2).
    Image,
}

impl Serialize for MediaKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(match self {
            Self::Audio => 1,
            Self::Image => 2,
        })
    }
}

/// A media file WeChat should fetch and check; the verdict arrives as a `wxa_media_check` push.
#[derive(Clone, Debug, Serialize)]
pub struct MediaCheck {
    /// A URL WeChat can download (at most 10 MB).
    pub media_url: String,
    /// Audio or image.
    pub media_type: MediaKind,
    /// Scene number, as for text.
    pub scene: u8,
    /// The uploader's mini-program openid.
    pub openid: String,
}

/// The receipt of an asynchronous media check.
#[derive(Clone, Debug, Deserialize)]
pub struct MediaCheckTicket {
    /// Matches the later `wxa_media_check` event.
    pub trace_id: String,
}

/// Who to assess: `scene` 0 registration, 1 marketing.
#[derive(Clone, Debug, Serialize)]
pub struct RiskRankQuery {
    /// The user's mini-program openid.
    pub openid: String,
    /// Scene number.
    pub scene: u8,
    /// The user's IP address.
    pub client_ip: String,
    /// Phone number, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_no: Option<String>,
}

/// WeChat's view of a user's risk.
#[derive(Clone, Debug, Deserialize)]
pub struct RiskRank {
    /// 0 (normal) to 4 (highest risk).
    pub risk_rank: i64,
}

#[derive(Serialize)]
struct Versioned<'a, T> {
    version: u8,
    #[serde(flatten)]
    inner: &'a T,
}

#[derive(Serialize)]
struct WithAppid<'a, T> {
    appid: &'a str,
    #[serde(flatten)]
    inner: &'a T,
}

impl WechatClient {
    /// Checks a text (version 2); act on `result.suggest`.
    pub async fn msg_sec_check(&self, check: &MsgSecCheck) -> Result<SecCheckResult, WechatError> {
        self.post_version_2(Endpoint::MsgSecCheck, check).await
    }

    /// Submits a media file for asynchronous checking; keep the `trace_id`.
    pub async fn media_check_async(
        &self,
        check: &MediaCheck,
    ) -> Result<MediaCheckTicket, WechatError> {
        self.post_version_2(Endpoint::MediaCheckAsync, check).await
    }

    /// Posts `request` with `"version": 2` to a mini-program content-security endpoint.
    async fn post_version_2<T: Serialize + Sync, R: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        request: &T,
    ) -> Result<R, WechatError> {
        let body = Versioned {
            version: 2,
            inner: request,
        };
        let response = self
            .call_with_token(App::Miniapp, |token| post_json(endpoint, token, &body))
            .await?;
        decode(endpoint, &response)
    }

    /// Asks WeChat how risky a user is (e.g. before counting their votes).
    pub async fn user_risk_rank(&self, query: &RiskRankQuery) -> Result<RiskRank, WechatError> {
        let endpoint = Endpoint::UserRiskRank;
        let body = WithAppid {
            appid: &self.miniapp_credentials().appid,
            inner: query,
        };
        let response = self
            .call_with_token(App::Miniapp, |token| post_json(endpoint, token, &body))
            .await?;
        decode(endpoint, &response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_two_is_sent_with_the_check() {
        let check = MsgSecCheck {
            openid: "o1".into(),
            scene: 2,
            content: "hi".into(),
            nickname: None,
            title: None,
            signature: None,
        };
        let json = serde_json::to_value(Versioned {
            version: 2,
            inner: &check,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"version":2,"openid":"o1","scene":2,"content":"hi"})
        );
    }

    #[test]
    fn an_unknown_suggestion_is_held_for_review() {
        let verdict: Verdict = serde_json::from_str(r#"{"suggest":"new","label":1}"#).unwrap();
        assert_eq!(verdict.suggest, Suggest::Review);
        let verdict: Verdict = serde_json::from_str(r#"{"suggest":"risky","label":1}"#).unwrap();
        assert_eq!(verdict.suggest, Suggest::Risky);
    }
}
