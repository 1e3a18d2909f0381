//! Temporary media download and unlimited mini-program codes: bytes on success, JSON on error.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{
    App, Endpoint, WechatClient, WechatError,
    exchange::decode,
    post_json, token_query,
    transport::{WireRequest, WireResponse},
};

/// A downloaded temporary media item.
#[derive(Clone, Debug)]
pub enum Media {
    /// An image, voice clip or other file.
    File {
        /// Its `Content-Type`.
        content_type: String,
        /// The file name from `Content-Disposition`, when given.
        filename: Option<String>,
        /// The content.
        bytes: Bytes,
    },
    /// A video: WeChat answers a download URL instead of bytes.
    Video {
        /// Where to download it.
        video_url: String,
    },
}

/// An image answered by WeChat.
#[derive(Clone, Debug)]
pub struct Image {
    /// Its `Content-Type`.
    pub content_type: String,
    /// The content.
    pub bytes: Bytes,
}

/// An RGB colour for the code's lines.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LineColor {
    /// Red 0..255.
    pub r: u8,
    /// Green 0..255.
    pub g: u8,
    /// Blue 0..255.
    pub b: u8,
}

/// An unlimited mini-program code request (`scene` ≤ 32 chars, no `%`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct WxaCode {
    /// Read by the page as `decodeURIComponent(query.scene)`.
    pub scene: String,
    /// Page path without leading `/` or query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// False allows unpublished pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_path: Option<bool>,
    /// `release`, `trial` or `develop`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_version: Option<String>,
    /// 280 to 1280 pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Automatic line colour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_color: Option<bool>,
    /// Line colour when not automatic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_color: Option<LineColor>,
    /// Transparent background.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_hyaline: Option<bool>,
}

#[derive(Deserialize)]
struct VideoAnswer {
    video_url: String,
}

impl WechatClient {
    /// Downloads a temporary media item of the official account (40007: unknown media id).
    pub async fn media_get(&self, media_id: &str) -> Result<Media, WechatError> {
        let endpoint = Endpoint::MediaGet;
        let response = self
            .call_with_token(App::Mp, |token| {
                let mut query = token_query(token);
                query.push(("media_id", media_id.to_owned()));
                Ok(WireRequest::get(endpoint, query))
            })
            .await?;
        if response.looks_like_json() {
            // The errcode was checked already: a JSON success is a video's URL.
            let video: VideoAnswer = decode(endpoint, &response)?;
            return Ok(Media::Video {
                video_url: video.video_url,
            });
        }
        Ok(Media::File {
            filename: response
                .content_disposition
                .as_deref()
                .and_then(disposition_filename),
            content_type: response.content_type,
            bytes: response.body,
        })
    }

    /// Makes an unlimited mini-program code image (41030: page missing, 45009: rate limit).
    pub async fn wxacode_unlimited(&self, code: &WxaCode) -> Result<Image, WechatError> {
        let endpoint = Endpoint::WxaCodeUnlimit;
        let response = self
            .call_with_token(App::Miniapp, |token| post_json(endpoint, token, code))
            .await?;
        image(endpoint, response)
    }
}

fn image(endpoint: Endpoint, response: WireResponse) -> Result<Image, WechatError> {
    if response.looks_like_json() {
        return Err(WechatError::Decode {
            api: endpoint.name(),
            message: "JSON where an image was expected".to_owned(),
        });
    }
    Ok(Image {
        content_type: response.content_type,
        bytes: response.body,
    })
}

/// The `filename` of a `Content-Disposition` header (quoted or bare).
fn disposition_filename(header: &str) -> Option<String> {
    header.split(';').find_map(|part| {
        let value = part.trim().strip_prefix("filename=")?;
        Some(value.trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::disposition_filename;

    #[test]
    fn the_file_name_is_read_from_the_disposition() {
        assert_eq!(
            disposition_filename(r#"attachment; filename="MEDIA_ID.jpg""#).as_deref(),
            Some("MEDIA_ID.jpg")
        );
        assert_eq!(
            disposition_filename("attachment; filename=a.amr").as_deref(),
            Some("a.amr")
        );
        assert_eq!(disposition_filename("inline"), None);
    }
}
