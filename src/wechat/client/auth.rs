//! Mini-program login (`jscode2session`) and the phone-number exchange.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{
    App, Endpoint, WechatClient, WechatError, exchange::decode, post_json, transport::WireRequest,
};

/// What `jscode2session` returns; `session_key` never leaves the server.
#[derive(Debug, Deserialize)]
pub struct Session {
    /// The user's openid in the mini program.
    pub openid: String,
    /// The user's unionid, when the app is bound to an open platform account.
    #[serde(default)]
    pub unionid: Option<String>,
    /// The session key (decrypts legacy `encryptedData`).
    pub session_key: SecretString,
}

/// The phone number of a `getPhoneNumber` button code.
#[derive(Clone, Debug, Deserialize)]
pub struct PhoneInfo {
    /// With country code, e.g. `+86 13800138000` or `13800138000`.
    #[serde(rename = "phoneNumber")]
    pub phone_number: String,
    /// Without country code.
    #[serde(rename = "purePhoneNumber")]
    pub pure_phone_number: String,
    /// Country code, e.g. `86`.
    #[serde(rename = "countryCode")]
    pub country_code: String,
    /// Whose data this is.
    pub watermark: Watermark,
}

/// The stamp proving which app the data was issued to.
#[derive(Clone, Debug, Deserialize)]
pub struct Watermark {
    /// Unix seconds.
    pub timestamp: i64,
    /// The app the data belongs to: must be ours.
    pub appid: String,
}

#[derive(Serialize)]
struct PhoneRequest<'a> {
    code: &'a str,
}

#[derive(Deserialize)]
struct PhoneResponse {
    phone_info: PhoneInfo,
}

impl WechatClient {
    /// Exchanges a `wx.login` code for openid, unionid and session key (40029: code invalid).
    pub async fn jscode2session(&self, code: &str) -> Result<Session, WechatError> {
        let endpoint = Endpoint::Jscode2Session;
        let credentials = self.miniapp_credentials();
        let request = WireRequest::get(
            endpoint,
            vec![
                ("appid", credentials.appid.clone()),
                ("secret", credentials.secret.expose_secret().to_owned()),
                ("js_code", code.to_owned()),
                ("grant_type", "authorization_code".to_owned()),
            ],
        );
        let response = self.call(&request).await?;
        decode(endpoint, &response)
    }

    /// Exchanges a `getPhoneNumber` code for the phone number; refuses a foreign watermark.
    pub async fn phone_number(&self, code: &str) -> Result<PhoneInfo, WechatError> {
        let endpoint = Endpoint::PhoneNumber;
        let response = self
            .call_with_token(App::Miniapp, |token| {
                post_json(endpoint, token, &PhoneRequest { code })
            })
            .await?;
        let info = decode::<PhoneResponse>(endpoint, &response)?.phone_info;
        if info.watermark.appid != self.miniapp_credentials().appid {
            return Err(WechatError::Decode {
                api: endpoint.name(),
                message: "watermark appid is not ours".to_owned(),
            });
        }
        Ok(info)
    }
}
