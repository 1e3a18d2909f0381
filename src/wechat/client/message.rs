//! Notifications: mini-program subscribe messages, official-account template and
//! customer-service messages. Sends are never repeated after an ambiguous failure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{App, Endpoint, WechatClient, WechatError, exchange::decode, post_json};

/// The value of one template field: `{"value": ".."}`.
#[derive(Clone, Debug, Serialize)]
pub struct FieldValue {
    /// The text, within the key's rules (`thing` ≤ 20 chars, ...).
    pub value: String,
}

/// Template fields by key (`thing1`, `time2`, ...).
pub type TemplateData = BTreeMap<String, FieldValue>;

/// A mini-program subscribe message (one accepted popup permits one send).
#[derive(Clone, Debug, Serialize)]
pub struct SubscribeMessage {
    /// The user's mini-program openid.
    pub touser: String,
    /// The template id.
    pub template_id: String,
    /// Page path with query, opened on tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Field values.
    pub data: TemplateData,
    /// `developer`, `trial` or `formal` (default formal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram_state: Option<String>,
    /// `zh_CN`, `en_US`, `zh_HK` or `zh_TW`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// A mini-program page a template message opens.
#[derive(Clone, Debug, Serialize)]
pub struct MiniprogramLink {
    /// The mini program's appid.
    pub appid: String,
    /// The page path.
    pub pagepath: String,
}

/// An official-account template message.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateMessage {
    /// The user's official-account openid.
    pub touser: String,
    /// The template id.
    pub template_id: String,
    /// A web page opened on tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A mini-program page opened on tap (wins over `url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniprogramLink>,
    /// Our id of this send; WeChat deduplicates on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// Field values.
    pub data: TemplateData,
}

/// WeChat's id of a sent template message (its result comes as `TEMPLATESENDJOBFINISH`).
#[derive(Clone, Debug, Deserialize)]
pub struct TemplateSent {
    /// The message id.
    pub msgid: i64,
}

/// Text content of a customer-service message.
#[derive(Clone, Debug, Serialize)]
pub struct TextContent {
    /// The text.
    pub content: String,
}

/// An uploaded media reference.
#[derive(Clone, Debug, Serialize)]
pub struct MediaRef {
    /// The media id.
    pub media_id: String,
}

/// One article of a news message.
#[derive(Clone, Debug, Serialize)]
pub struct Article {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Link.
    pub url: String,
    /// Picture URL.
    pub picurl: String,
}

/// A news message (customer service allows one article).
#[derive(Clone, Debug, Serialize)]
pub struct News {
    /// The articles.
    pub articles: Vec<Article>,
}

/// A mini-program card.
#[derive(Clone, Debug, Serialize)]
pub struct MiniprogramPage {
    /// Title.
    pub title: String,
    /// The mini program's appid.
    pub appid: String,
    /// The page path.
    pub pagepath: String,
    /// Thumbnail media id.
    pub thumb_media_id: String,
}

/// The typed body of a customer-service message, tagged by `msgtype`.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum CustomBody {
    /// `{"msgtype":"text","text":{"content":..}}`.
    Text {
        /// The text.
        text: TextContent,
    },
    /// An image.
    Image {
        /// The image.
        image: MediaRef,
    },
    /// A voice clip.
    Voice {
        /// The voice clip.
        voice: MediaRef,
    },
    /// One article.
    News {
        /// The article.
        news: News,
    },
    /// A mini-program card.
    Miniprogrampage {
        /// The card.
        miniprogrampage: MiniprogramPage,
    },
}

/// A customer-service message (only within 48 h of the user's last interaction).
#[derive(Clone, Debug, Serialize)]
pub struct CustomMessage {
    /// The user's official-account openid.
    pub touser: String,
    /// What to send.
    #[serde(flatten)]
    pub body: CustomBody,
}

impl CustomMessage {
    /// A text message to `touser`.
    pub fn text(touser: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            touser: touser.into(),
            body: CustomBody::Text {
                text: TextContent {
                    content: content.into(),
                },
            },
        }
    }
}

impl WechatClient {
    /// Sends a mini-program subscribe message (43101: no permission left, 47003: bad data).
    pub async fn subscribe_send(&self, message: &SubscribeMessage) -> Result<(), WechatError> {
        let endpoint = Endpoint::SubscribeSend;
        self.call_with_token(App::Miniapp, |token| post_json(endpoint, token, message))
            .await?;
        Ok(())
    }

    /// Sends an official-account template message; returns WeChat's msgid.
    pub async fn template_send(
        &self,
        message: &TemplateMessage,
    ) -> Result<TemplateSent, WechatError> {
        let endpoint = Endpoint::TemplateSend;
        let response = self
            .call_with_token(App::Mp, |token| post_json(endpoint, token, message))
            .await?;
        decode(endpoint, &response)
    }

    /// Sends a customer-service message (45015: 48 h window closed, 45047: quota used).
    pub async fn custom_send(&self, message: &CustomMessage) -> Result<(), WechatError> {
        let endpoint = Endpoint::CustomSend;
        self.call_with_token(App::Mp, |token| post_json(endpoint, token, message))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_message_has_the_documented_shape() {
        let json = serde_json::to_value(CustomMessage::text("o1", "你好")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"touser":"o1","msgtype":"text","text":{"content":"你好"}})
        );
    }
}
