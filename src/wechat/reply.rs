//! Passive replies: the XML body answered on the callback request itself.

/// The body that acknowledges a push without replying; WeChat then neither retries nor shows an error.
pub const SUCCESS: &str = "success";

/// Most articles a news reply may carry when answering a user's message.
pub const NEWS_CAP_MESSAGE: usize = 1;

/// Most articles a news reply may carry when answering an event; [`Reply::to_xml`] never writes more.
pub const NEWS_CAP_EVENT: usize = 8;

/// A passive reply; media ids must have been uploaded before replying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A text message.
    Text {
        /// The text shown to the user.
        content: String,
    },
    /// An image message.
    Image {
        /// Uploaded image media id.
        media_id: String,
    },
    /// A voice message.
    Voice {
        /// Uploaded voice media id.
        media_id: String,
    },
    /// A video message.
    Video {
        /// Uploaded video media id.
        media_id: String,
        /// Video title (may be empty).
        title: String,
        /// Video description (may be empty).
        description: String,
    },
    /// A music message.
    Music {
        /// Music title (may be empty).
        title: String,
        /// Music description (may be empty).
        description: String,
        /// Music link.
        music_url: String,
        /// High-quality music link, preferred on Wi-Fi.
        hq_music_url: String,
        /// Uploaded thumbnail media id.
        thumb_media_id: String,
    },
    /// A news (article list) message; see [`NEWS_CAP_MESSAGE`] and [`NEWS_CAP_EVENT`].
    News(Vec<Article>),
}

/// One article of a news reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// Article title.
    pub title: String,
    /// Article description.
    pub description: String,
    /// Picture link (large 360x200, small 200x200).
    pub pic_url: String,
    /// Link opened when the article is tapped.
    pub url: String,
}

impl Reply {
    /// The `MsgType` this reply is sent as.
    pub fn msg_type(&self) -> &'static str {
        match self {
            Reply::Text { .. } => "text",
            Reply::Image { .. } => "image",
            Reply::Voice { .. } => "voice",
            Reply::Video { .. } => "video",
            Reply::Music { .. } => "music",
            Reply::News(_) => "news",
        }
    }

    /// Keeps at most `cap` articles of a news reply (use [`NEWS_CAP_MESSAGE`] when answering a message).
    pub fn truncate_news(mut self, cap: usize) -> Self {
        if let Reply::News(articles) = &mut self {
            articles.truncate(cap);
        }
        self
    }

    /// Serialises the reply: strings in CDATA, numbers bare; news is capped at [`NEWS_CAP_EVENT`].
    ///
    /// `to_user` is the user's openid and `from_user` our `gh_` id. CR and CRLF in text reach the
    /// user as LF, since XML parsers normalise line ends even inside CDATA.
    pub fn to_xml(&self, to_user: &str, from_user: &str, create_time: i64) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("<xml>");
        push_cdata_element(&mut out, "ToUserName", to_user);
        push_cdata_element(&mut out, "FromUserName", from_user);
        push_number_element(&mut out, "CreateTime", create_time);
        push_cdata_element(&mut out, "MsgType", self.msg_type());
        self.push_body(&mut out);
        out.push_str("</xml>");
        out
    }

    fn push_body(&self, out: &mut String) {
        match self {
            Reply::Text { content } => push_cdata_element(out, "Content", content),
            Reply::Image { media_id } => push_media(out, "Image", media_id),
            Reply::Voice { media_id } => push_media(out, "Voice", media_id),
            Reply::Video {
                media_id,
                title,
                description,
            } => {
                out.push_str("<Video>");
                push_cdata_element(out, "MediaId", media_id);
                push_cdata_element(out, "Title", title);
                push_cdata_element(out, "Description", description);
                out.push_str("</Video>");
            }
            Reply::Music {
                title,
                description,
                music_url,
                hq_music_url,
                thumb_media_id,
            } => {
                out.push_str("<Music>");
                push_cdata_element(out, "Title", title);
                push_cdata_element(out, "Description", description);
                push_cdata_element(out, "MusicUrl", music_url);
                push_cdata_element(out, "HQMusicUrl", hq_music_url);
                push_cdata_element(out, "ThumbMediaId", thumb_media_id);
                out.push_str("</Music>");
            }
            Reply::News(articles) => push_news(out, articles),
        }
    }
}

fn push_media(out: &mut String, wrapper: &str, media_id: &str) {
    out.push('<');
    out.push_str(wrapper);
    out.push('>');
    push_cdata_element(out, "MediaId", media_id);
    out.push_str("</");
    out.push_str(wrapper);
    out.push('>');
}

fn push_news(out: &mut String, articles: &[Article]) {
    let articles = &articles[..articles.len().min(NEWS_CAP_EVENT)];
    push_number_element(out, "ArticleCount", articles.len());
    out.push_str("<Articles>");
    for article in articles {
        out.push_str("<item>");
        push_cdata_element(out, "Title", &article.title);
        push_cdata_element(out, "Description", &article.description);
        push_cdata_element(out, "PicUrl", &article.pic_url);
        push_cdata_element(out, "Url", &article.url);
        out.push_str("</item>");
    }
    out.push_str("</Articles>");
}

/// Writes `<name>value</name>` for a number, which WeChat expects bare.
pub(crate) fn push_number_element(out: &mut String, name: &str, value: impl std::fmt::Display) {
    use std::fmt::Write as _;
    // Writing into a String cannot fail.
    let _ = write!(out, "<{name}>{value}</{name}>");
}

/// Writes `<name><![CDATA[value]]></name>`, splitting any `]]>` so the text survives unchanged.
pub(crate) fn push_cdata_element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_cdata(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn push_cdata(out: &mut String, value: &str) {
    out.push_str("<![CDATA[");
    // A CDATA section cannot contain `]]>`: end it after `]]` and start a new one at `>`.
    out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct ParsedText {
        #[serde(rename = "ToUserName")]
        to_user_name: String,
        #[serde(rename = "FromUserName")]
        from_user_name: String,
        #[serde(rename = "CreateTime")]
        create_time: i64,
        #[serde(rename = "MsgType")]
        msg_type: String,
        #[serde(rename = "Content")]
        content: String,
    }

    #[derive(Debug, Deserialize)]
    struct ParsedNews {
        #[serde(rename = "ArticleCount")]
        article_count: usize,
        #[serde(rename = "Articles")]
        articles: ParsedArticles,
    }

    #[derive(Debug, Deserialize)]
    struct ParsedArticles {
        #[serde(rename = "item", default)]
        items: Vec<ParsedArticle>,
    }

    #[derive(Debug, Deserialize)]
    struct ParsedArticle {
        #[serde(rename = "Title")]
        title: String,
        #[serde(rename = "Url")]
        url: String,
    }

    fn text(content: &str) -> Reply {
        Reply::Text {
            content: content.to_owned(),
        }
    }

    fn article(n: usize) -> Article {
        Article {
            title: format!("title {n}"),
            description: format!("description {n}"),
            pic_url: format!("https://example.com/{n}.jpg"),
            url: format!("https://example.com/{n}"),
        }
    }

    fn round_trip_content(content: &str) -> String {
        let xml = text(content).to_xml("oUser", "gh_ours", 1);
        let parsed: ParsedText = quick_xml::de::from_str(&xml).expect("reply parses back");
        parsed.content
    }

    #[test]
    fn text_reply_has_the_wechat_shape() {
        let xml = text("hi").to_xml("oUser", "gh_ours", 1714112445);
        assert_eq!(
            xml,
            "<xml><ToUserName><![CDATA[oUser]]></ToUserName>\
             <FromUserName><![CDATA[gh_ours]]></FromUserName>\
             <CreateTime>1714112445</CreateTime>\
             <MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[hi]]></Content></xml>"
        );
    }

    #[test]
    fn text_reply_round_trips_emoji_newlines_control_characters_and_cdata_end() {
        let content = "投票 👍🎉\nline two\ttabbed \u{1}\u{1b}\u{7f} a]]>b ]]]]> <b>&amp;</b> ";
        assert_eq!(round_trip_content(content), content);
    }

    #[test]
    fn text_reply_splits_every_cdata_end_marker() {
        let xml = text("]]>]]>").to_xml("u", "g", 1);
        assert!(xml.contains("<Content><![CDATA[]]]]><![CDATA[>]]]]><![CDATA[>]]></Content>"));
        assert_eq!(round_trip_content("]]>]]>"), "]]>]]>");
    }

    #[test]
    fn text_reply_keeps_leading_and_trailing_whitespace() {
        assert_eq!(round_trip_content("  spaced  \n"), "  spaced  \n");
    }

    #[test]
    fn text_reply_carriage_returns_read_back_as_line_feeds() {
        assert_eq!(round_trip_content("a\r\nb\rc"), "a\nb\nc");
    }

    #[test]
    fn text_reply_fields_parse_back() {
        let xml = text("x").to_xml("o<User>", "gh_]]>", -5);
        let parsed: ParsedText = quick_xml::de::from_str(&xml).expect("reply parses back");
        assert_eq!(parsed.to_user_name, "o<User>");
        assert_eq!(parsed.from_user_name, "gh_]]>");
        assert_eq!(parsed.create_time, -5);
        assert_eq!(parsed.msg_type, "text");
    }

    #[test]
    fn image_and_voice_replies_wrap_the_media_id() {
        let image = Reply::Image {
            media_id: "m1".into(),
        };
        assert!(
            image
                .to_xml("u", "g", 1)
                .ends_with("<MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[m1]]></MediaId></Image></xml>")
        );
        let voice = Reply::Voice {
            media_id: "m2".into(),
        };
        assert!(
            voice
                .to_xml("u", "g", 1)
                .ends_with("<MsgType><![CDATA[voice]]></MsgType><Voice><MediaId><![CDATA[m2]]></MediaId></Voice></xml>")
        );
    }

    #[test]
    fn video_reply_carries_title_and_description() {
        let video = Reply::Video {
            media_id: "v".into(),
            title: "T".into(),
            description: "D".into(),
        };
        assert!(video.to_xml("u", "g", 1).ends_with(
            "<Video><MediaId><![CDATA[v]]></MediaId><Title><![CDATA[T]]></Title>\
             <Description><![CDATA[D]]></Description></Video></xml>"
        ));
    }

    #[test]
    fn music_reply_uses_the_hq_music_url_element_name() {
        let music = Reply::Music {
            title: "T".into(),
            description: "D".into(),
            music_url: "http://m".into(),
            hq_music_url: "http://hq".into(),
            thumb_media_id: "th".into(),
        };
        assert!(music.to_xml("u", "g", 1).ends_with(
            "<MsgType><![CDATA[music]]></MsgType><Music><Title><![CDATA[T]]></Title>\
             <Description><![CDATA[D]]></Description><MusicUrl><![CDATA[http://m]]></MusicUrl>\
             <HQMusicUrl><![CDATA[http://hq]]></HQMusicUrl>\
             <ThumbMediaId><![CDATA[th]]></ThumbMediaId></Music></xml>"
        ));
    }

    #[test]
    fn news_reply_counts_its_articles_and_parses_back() {
        let xml = Reply::News(vec![article(1), article(2)]).to_xml("u", "g", 1);
        assert!(xml.contains("<ArticleCount>2</ArticleCount><Articles><item><Title>"));
        let parsed: ParsedNews = quick_xml::de::from_str(&xml).expect("news parses back");
        assert_eq!(parsed.article_count, 2);
        assert_eq!(parsed.articles.items[1].title, "title 2");
        assert_eq!(parsed.articles.items[1].url, "https://example.com/2");
    }

    #[test]
    fn news_reply_never_writes_more_than_the_event_cap() {
        let xml = Reply::News((0..12).map(article).collect()).to_xml("u", "g", 1);
        assert!(xml.contains("<ArticleCount>8</ArticleCount>"));
        assert_eq!(xml.matches("<item>").count(), NEWS_CAP_EVENT);
    }

    #[test]
    fn truncate_news_applies_the_message_cap_and_leaves_other_replies_alone() {
        let news = Reply::News(vec![article(1), article(2)]).truncate_news(NEWS_CAP_MESSAGE);
        assert_eq!(news, Reply::News(vec![article(1)]));
        assert_eq!(text("x").truncate_news(0), text("x"));
    }
}
