//! `cgi-bin/user/info`: a follower's unionid, to link them with their mini-program login.

use serde::Deserialize;

use super::{
    App, Endpoint, WechatClient, WechatError, exchange::decode, token_query, transport::WireRequest,
};

/// What we need of a follower's profile.
#[derive(Clone, Debug, Deserialize)]
pub struct FollowerInfo {
    /// 1 while following, 0 after unfollowing (then nothing else is sent).
    #[serde(default)]
    pub subscribe: i64,
    /// The official-account openid.
    pub openid: String,
    /// Present when the account is bound to an open-platform account.
    #[serde(default)]
    pub unionid: Option<String>,
}

impl WechatClient {
    /// A follower's profile (40003: not a follower of this account).
    pub async fn user_info(&self, openid: &str) -> Result<FollowerInfo, WechatError> {
        let endpoint = Endpoint::UserInfo;
        let response = self
            .call_with_token(App::Mp, |token| {
                let mut query = token_query(token);
                query.push(("openid", openid.to_owned()));
                query.push(("lang", "zh_CN".to_owned()));
                Ok(WireRequest::get(endpoint, query))
            })
            .await?;
        decode(endpoint, &response)
    }
}
