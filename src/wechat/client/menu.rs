//! The official account's custom menu.

use super::{App, Endpoint, WechatClient, WechatError, post_json};

impl WechatClient {
    /// Replaces the official account's menu with `menu` (the `{"button":[..]}` document).
    pub async fn menu_create(&self, menu: &serde_json::Value) -> Result<(), WechatError> {
        let endpoint = Endpoint::MenuCreate;
        self.call_with_token(App::Mp, |token| post_json(endpoint, token, menu))
            .await?;
        Ok(())
    }
}
