//! Inbound pushes: typed messages and events parsed from XML or JSON bodies.
//!
//! Both formats are first read into one flat envelope of optional strings (numbers included, so
//! ids and coordinates keep their exact text), then dispatched on `MsgType` and `Event`.

use serde::Deserialize;
use serde_json::Value;

/// Why a body could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// The body is not well-formed XML or does not have the expected shape.
    #[error("malformed XML: {0}")]
    Xml(#[from] quick_xml::DeError),
    /// The body is not well-formed JSON or does not have the expected shape.
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A JSON body whose top level is not an object.
    #[error("JSON body is not an object")]
    NotAnObject,
    /// A field every push of this kind must carry is absent.
    #[error("missing required field {0}")]
    MissingField(&'static str),
    /// An account id (`ToUserName`, `FromUserName`) or `EventKey` that is empty, too long or
    /// not printable; the value itself is not repeated (it may be huge).
    #[error("field {field} is {problem}")]
    BadField {
        /// The field name as WeChat spells it.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A field that must be an integer is not one.
    #[error("field {field} is not an integer: {value:?}")]
    InvalidNumber {
        /// The field name as WeChat spells it.
        field: &'static str,
        /// The text found.
        value: String,
    },
}

/// A parsed push: the common header and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Our account id (`gh_...`).
    pub to_user_name: String,
    /// The user's openid.
    pub from_user_name: String,
    /// Unix seconds.
    pub create_time: i64,
    /// The message or event.
    pub kind: InboundKind,
}

/// A user message or an event; absent optional text fields read as empty strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundKind {
    /// A text message.
    Text {
        /// The text, exactly as sent (not trimmed).
        content: String,
        /// 64-bit message id.
        msg_id: i64,
        /// Set when sent from an article.
        msg_data_id: Option<String>,
        /// Article index, set when sent from an article.
        idx: Option<String>,
    },
    /// An image message.
    Image {
        /// WeChat-hosted picture link.
        pic_url: String,
        /// Temporary media id.
        media_id: String,
        /// 64-bit message id.
        msg_id: i64,
    },
    /// A voice message.
    Voice {
        /// Temporary media id.
        media_id: String,
        /// `amr` or `speex`.
        format: String,
        /// 16 kHz media id, when present.
        media_id_16k: Option<String>,
        /// Speech recognition result; being withdrawn and often empty.
        recognition: Option<String>,
        /// 64-bit message id.
        msg_id: i64,
    },
    /// A video message.
    Video {
        /// Temporary media id.
        media_id: String,
        /// Thumbnail media id.
        thumb_media_id: String,
        /// 64-bit message id.
        msg_id: i64,
    },
    /// A short-video message.
    ShortVideo {
        /// Temporary media id.
        media_id: String,
        /// Thumbnail media id.
        thumb_media_id: String,
        /// 64-bit message id.
        msg_id: i64,
    },
    /// A location message; coordinates keep WeChat's decimal text.
    Location {
        /// `Location_X`: latitude.
        x: String,
        /// `Location_Y`: longitude.
        y: String,
        /// Map zoom level.
        scale: String,
        /// Place description.
        label: String,
        /// 64-bit message id.
        msg_id: i64,
    },
    /// A link message.
    Link {
        /// Link title.
        title: String,
        /// Link description.
        description: String,
        /// Link target.
        url: String,
        /// 64-bit message id.
        msg_id: i64,
    },
    /// An event (`MsgType` = `event`).
    Event(Event),
    /// A message type we do not know; answer it with `success`.
    Unknown {
        /// The `MsgType` as sent.
        msg_type: String,
        /// The `MsgId`, when present and numeric.
        msg_id: Option<i64>,
    },
}

/// An event push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A follow; via a parametric QR code `event_key` is `qrscene_<scene>` and `ticket` is set.
    Subscribe {
        /// `EventKey`: `None` when absent, empty for a normal follow.
        event_key: Option<String>,
        /// QR code ticket.
        ticket: Option<String>,
    },
    /// An unfollow: delete the user's data.
    Unsubscribe,
    /// A follower scanned a parametric QR code.
    Scan {
        /// The bare scene value.
        event_key: String,
        /// QR code ticket.
        ticket: Option<String>,
    },
    /// Periodic location report; values keep WeChat's decimal text.
    Location {
        /// Latitude.
        latitude: String,
        /// Longitude.
        longitude: String,
        /// Precision.
        precision: String,
    },
    /// A menu click.
    Click {
        /// The menu key.
        key: String,
    },
    /// A menu link was opened.
    View {
        /// The target URL.
        url: String,
        /// Personalised menu id, when present.
        menu_id: Option<String>,
    },
    /// Outcome of an official-account template message.
    TemplateSendJobFinish {
        /// The template message id (`MsgID`).
        msg_id: i64,
        /// `success`, `failed:user block` or `failed: system failed`.
        status: String,
    },
    /// The user answered a subscribe-message popup.
    SubscribeMsgPopup(Vec<SubscribeItem>),
    /// The user changed subscriptions in the settings (currently only rejections).
    SubscribeMsgChange(Vec<SubscribeItem>),
    /// Delivery results of subscribe messages.
    SubscribeMsgSent(Vec<SentItem>),
    /// Verdict of an asynchronous media check (mini program).
    WxaMediaCheck {
        /// The mini program's appid.
        appid: String,
        /// The id returned by `media_check_async`.
        trace_id: String,
        /// API version.
        version: Option<i64>,
        /// `result.suggest`: `pass`, `review` or `risky`.
        suggest: Option<String>,
        /// `result.label`: 100 normal, 20002 porn, ...
        label: Option<i64>,
        /// Per-strategy details.
        detail: Vec<MediaCheckDetail>,
        /// 0 (or absent) on success.
        errcode: i64,
        /// Error message.
        errmsg: String,
    },
    /// An event we do not handle; answer it with `success`.
    Unknown {
        /// The `Event` as sent.
        event: String,
        /// The `EventKey`, when present.
        event_key: Option<String>,
    },
}

/// One template in a subscribe popup or change event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeItem {
    /// Template id.
    pub template_id: String,
    /// `SubscribeStatusString`: `accept`, `reject`, ...
    pub status: String,
    /// Popup scene (`0` = inside the mini program); absent on change events.
    pub popup_scene: Option<String>,
}

/// One delivery result in a subscribe-message sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentItem {
    /// Template id.
    pub template_id: String,
    /// The sent message id (`MsgID`).
    pub msg_id: i64,
    /// 0 on success.
    pub error_code: i64,
    /// `success` or the failure reason.
    pub error_status: String,
}

/// One strategy's verdict in a media check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCheckDetail {
    /// Strategy name.
    pub strategy: String,
    /// 0 when the strategy ran.
    pub errcode: i64,
    /// `pass`, `review` or `risky`.
    pub suggest: Option<String>,
    /// Label code.
    pub label: Option<i64>,
    /// Confidence 0..=100, as sent.
    pub prob: Option<String>,
}

/// The body of an `encrypt_type=aes` push: safe mode, or compatible mode with plain fields too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedEnvelope {
    /// Our account id, when sent.
    pub to_user_name: Option<String>,
    /// The base64 ciphertext (may be empty; decryption then fails at the base64 stage).
    pub encrypt: String,
}

#[derive(Debug, Deserialize)]
struct RawEnvelope {
    #[serde(rename = "ToUserName")]
    to_user_name: Option<String>,
    #[serde(rename = "Encrypt")]
    encrypt: Option<String>,
}

impl EncryptedEnvelope {
    /// Parses an XML or JSON body (by its first character); `None` when it has no `Encrypt`.
    pub fn parse(body: &str) -> Result<Option<Self>, InboundError> {
        if looks_like_json(body) {
            Self::from_json(body)
        } else {
            Self::from_xml(body)
        }
    }

    /// Parses `<xml><ToUserName/><Encrypt/></xml>`; other elements are ignored.
    pub fn from_xml(body: &str) -> Result<Option<Self>, InboundError> {
        let raw: RawEnvelope = quick_xml::de::from_str(body)?;
        Ok(Self::from_raw(raw))
    }

    /// Parses `{"ToUserName": .., "Encrypt": ..}`; other keys are ignored.
    pub fn from_json(body: &str) -> Result<Option<Self>, InboundError> {
        let raw: RawEnvelope = serde_json::from_value(normalize_json(body)?)?;
        Ok(Self::from_raw(raw))
    }

    fn from_raw(raw: RawEnvelope) -> Option<Self> {
        raw.encrypt.map(|encrypt| Self {
            to_user_name: raw.to_user_name,
            encrypt,
        })
    }
}

/// The flat shape shared by every push; every scalar is kept as the text WeChat sent.
#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(rename = "ToUserName")]
    to_user_name: Option<String>,
    #[serde(rename = "FromUserName")]
    from_user_name: Option<String>,
    #[serde(rename = "CreateTime")]
    create_time: Option<String>,
    #[serde(rename = "MsgType")]
    msg_type: Option<String>,
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "Content")]
    content: Option<String>,
    #[serde(rename = "MsgId")]
    msg_id: Option<String>,
    #[serde(rename = "MsgDataId")]
    msg_data_id: Option<String>,
    #[serde(rename = "Idx")]
    idx: Option<String>,
    #[serde(rename = "PicUrl")]
    pic_url: Option<String>,
    #[serde(rename = "MediaId")]
    media_id: Option<String>,
    #[serde(rename = "Format")]
    format: Option<String>,
    #[serde(rename = "MediaId16K")]
    media_id_16k: Option<String>,
    #[serde(rename = "Recognition")]
    recognition: Option<String>,
    #[serde(rename = "ThumbMediaId")]
    thumb_media_id: Option<String>,
    #[serde(rename = "Location_X")]
    location_x: Option<String>,
    #[serde(rename = "Location_Y")]
    location_y: Option<String>,
    #[serde(rename = "Scale")]
    scale: Option<String>,
    #[serde(rename = "Label")]
    label: Option<String>,
    #[serde(rename = "Title")]
    title: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
    #[serde(rename = "Url")]
    url: Option<String>,
    #[serde(rename = "EventKey")]
    event_key: Option<String>,
    #[serde(rename = "Ticket")]
    ticket: Option<String>,
    #[serde(rename = "Latitude")]
    latitude: Option<String>,
    #[serde(rename = "Longitude")]
    longitude: Option<String>,
    #[serde(rename = "Precision")]
    precision: Option<String>,
    #[serde(rename = "MenuId")]
    menu_id: Option<String>,
    /// Template and subscribe-sent ids are spelt `MsgID`.
    #[serde(rename = "MsgID")]
    msg_id_upper: Option<String>,
    #[serde(rename = "Status")]
    status: Option<String>,
    #[serde(rename = "SubscribeMsgPopupEvent")]
    popup: Option<RawList>,
    #[serde(rename = "SubscribeMsgChangeEvent")]
    change: Option<RawList>,
    #[serde(rename = "SubscribeMsgSentEvent")]
    sent: Option<RawList>,
    /// JSON pushes put the list at the top level.
    #[serde(rename = "List", default)]
    list: Vec<RawItem>,
    appid: Option<String>,
    trace_id: Option<String>,
    version: Option<String>,
    result: Option<RawResult>,
    #[serde(default)]
    detail: Vec<RawDetail>,
    errcode: Option<String>,
    errmsg: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawList {
    #[serde(rename = "List", default)]
    list: Vec<RawItem>,
}

#[derive(Debug, Deserialize)]
struct RawItem {
    #[serde(rename = "TemplateId")]
    template_id: Option<String>,
    #[serde(rename = "SubscribeStatusString")]
    status: Option<String>,
    #[serde(rename = "PopupScene")]
    popup_scene: Option<String>,
    #[serde(rename = "MsgID")]
    msg_id: Option<String>,
    #[serde(rename = "ErrorCode")]
    error_code: Option<String>,
    #[serde(rename = "ErrorStatus")]
    error_status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawResult {
    suggest: Option<String>,
    label: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawDetail {
    strategy: Option<String>,
    errcode: Option<String>,
    suggest: Option<String>,
    label: Option<String>,
    prob: Option<String>,
}

impl Inbound {
    /// Parses a plain or decrypted body, choosing JSON when it starts with `{`.
    pub fn parse(body: &str) -> Result<Self, InboundError> {
        if looks_like_json(body) {
            Self::from_json(body)
        } else {
            Self::from_xml(body)
        }
    }

    /// Parses an XML push.
    pub fn from_xml(body: &str) -> Result<Self, InboundError> {
        let raw: Raw = quick_xml::de::from_str(body)?;
        Self::from_raw(raw)
    }

    /// Parses a JSON push (mini programs configured for JSON).
    pub fn from_json(body: &str) -> Result<Self, InboundError> {
        let raw: Raw = serde_json::from_value(normalize_json(body)?)?;
        Self::from_raw(raw)
    }

    /// The key that identifies a re-sent push, stored to drop duplicates.
    ///
    /// Messages: `msg:<MsgId>|<FromUserName>` (a re-sent message keeps its MsgId whatever its
    /// CreateTime says). Events:
    /// `evt:<FromUserName>|<CreateTime>|<Event>|<EventKey or empty>`, plus `|<trace_id>` for
    /// media checks, `|<MsgID>` for template results and `|<MsgID,..>` for subscribe-sent results,
    /// whose distinct pushes may share a second. An unknown `MsgType` without a numeric `MsgId`:
    /// `unknown:<MsgType>|<FromUserName>|<CreateTime>`.
    pub fn dedup_key(&self) -> String {
        let (from, time) = (&self.from_user_name, self.create_time);
        match &self.kind {
            InboundKind::Event(event) => {
                let mut key = format!(
                    "evt:{from}|{time}|{}|{}",
                    event.name(),
                    event.event_key().unwrap_or("")
                );
                if let Some(extra) = event.dedup_suffix() {
                    key.push('|');
                    key.push_str(&extra);
                }
                key
            }
            InboundKind::Unknown {
                msg_type,
                msg_id: None,
            } => format!("unknown:{msg_type}|{from}|{time}"),
            kind => format!("msg:{}|{from}", kind.msg_id().unwrap_or_default()),
        }
    }

    fn from_raw(mut raw: Raw) -> Result<Self, InboundError> {
        let to_user_name = raw
            .to_user_name
            .take()
            .ok_or(InboundError::MissingField("ToUserName"))?;
        let from_user_name = raw
            .from_user_name
            .take()
            .ok_or(InboundError::MissingField("FromUserName"))?;
        let create_time = required_int("CreateTime", raw.create_time.take())?;
        let msg_type = raw
            .msg_type
            .take()
            .ok_or(InboundError::MissingField("MsgType"))?;
        check_account("ToUserName", &to_user_name)?;
        check_account("FromUserName", &from_user_name)?;
        if let Some(key) = &raw.event_key {
            check_printable("EventKey", key, MAX_EVENT_KEY_BYTES)?;
        }
        let kind = InboundKind::from_raw(msg_type, raw)?;
        Ok(Self {
            to_user_name,
            from_user_name,
            create_time,
            kind,
        })
    }
}

/// Longest account id accepted (openids are 28 characters, `gh_` ids 15; unionids 29).
pub const MAX_ACCOUNT_BYTES: usize = 64;
/// Longest `EventKey` accepted: menu keys are at most 128 bytes, QR scenes 64 plus `qrscene_`.
pub const MAX_EVENT_KEY_BYTES: usize = 128;

fn check_account(field: &'static str, value: &str) -> Result<(), InboundError> {
    if value.is_empty() {
        return Err(InboundError::BadField {
            field,
            problem: "empty",
        });
    }
    check_printable(field, value, MAX_ACCOUNT_BYTES)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(InboundError::BadField {
            field,
            problem: "not an account id",
        });
    }
    Ok(())
}

fn check_printable(field: &'static str, value: &str, max_bytes: usize) -> Result<(), InboundError> {
    if value.len() > max_bytes {
        return Err(InboundError::BadField {
            field,
            problem: "too long",
        });
    }
    if value.chars().any(char::is_control) {
        return Err(InboundError::BadField {
            field,
            problem: "not printable",
        });
    }
    Ok(())
}

impl InboundKind {
    /// The `MsgType`: lowercase for known kinds, as sent for unknown ones.
    pub fn msg_type(&self) -> &str {
        match self {
            InboundKind::Text { .. } => "text",
            InboundKind::Image { .. } => "image",
            InboundKind::Voice { .. } => "voice",
            InboundKind::Video { .. } => "video",
            InboundKind::ShortVideo { .. } => "shortvideo",
            InboundKind::Location { .. } => "location",
            InboundKind::Link { .. } => "link",
            InboundKind::Event(_) => "event",
            InboundKind::Unknown { msg_type, .. } => msg_type,
        }
    }

    /// The `MsgId` of a user message; `None` for events.
    pub fn msg_id(&self) -> Option<i64> {
        match self {
            InboundKind::Text { msg_id, .. }
            | InboundKind::Image { msg_id, .. }
            | InboundKind::Voice { msg_id, .. }
            | InboundKind::Video { msg_id, .. }
            | InboundKind::ShortVideo { msg_id, .. }
            | InboundKind::Location { msg_id, .. }
            | InboundKind::Link { msg_id, .. } => Some(*msg_id),
            InboundKind::Unknown { msg_id, .. } => *msg_id,
            InboundKind::Event(_) => None,
        }
    }

    fn from_raw(msg_type: String, mut raw: Raw) -> Result<Self, InboundError> {
        let kind = match msg_type.to_ascii_lowercase().as_str() {
            "text" => InboundKind::Text {
                content: text(raw.content),
                msg_id: required_int("MsgId", raw.msg_id)?,
                msg_data_id: raw.msg_data_id,
                idx: raw.idx,
            },
            "image" => InboundKind::Image {
                pic_url: text(raw.pic_url),
                media_id: text(raw.media_id),
                msg_id: required_int("MsgId", raw.msg_id)?,
            },
            "voice" => InboundKind::Voice {
                media_id: text(raw.media_id),
                format: text(raw.format),
                media_id_16k: raw.media_id_16k,
                recognition: raw.recognition,
                msg_id: required_int("MsgId", raw.msg_id)?,
            },
            "video" => InboundKind::Video {
                media_id: text(raw.media_id),
                thumb_media_id: text(raw.thumb_media_id),
                msg_id: required_int("MsgId", raw.msg_id)?,
            },
            "shortvideo" => InboundKind::ShortVideo {
                media_id: text(raw.media_id),
                thumb_media_id: text(raw.thumb_media_id),
                msg_id: required_int("MsgId", raw.msg_id)?,
            },
            "location" => InboundKind::Location {
                x: text(raw.location_x),
                y: text(raw.location_y),
                scale: text(raw.scale),
                label: text(raw.label),
                msg_id: required_int("MsgId", raw.msg_id)?,
            },
            "link" => InboundKind::Link {
                title: text(raw.title),
                description: text(raw.description),
                url: text(raw.url),
                msg_id: required_int("MsgId", raw.msg_id)?,
            },
            "event" => {
                let name = raw.event.take().unwrap_or_default();
                InboundKind::Event(Event::from_raw(name, raw)?)
            }
            // Unknown types must never fail: a garbled MsgId just goes unused.
            _ => InboundKind::Unknown {
                msg_id: raw.msg_id.and_then(|id| id.trim().parse().ok()),
                msg_type,
            },
        };
        Ok(kind)
    }
}

impl Event {
    /// The `Event` name: canonical spelling for known events, as sent for unknown ones.
    pub fn name(&self) -> &str {
        match self {
            Event::Subscribe { .. } => "subscribe",
            Event::Unsubscribe => "unsubscribe",
            Event::Scan { .. } => "SCAN",
            Event::Location { .. } => "LOCATION",
            Event::Click { .. } => "CLICK",
            Event::View { .. } => "VIEW",
            Event::TemplateSendJobFinish { .. } => "TEMPLATESENDJOBFINISH",
            Event::SubscribeMsgPopup(_) => "subscribe_msg_popup_event",
            Event::SubscribeMsgChange(_) => "subscribe_msg_change_event",
            Event::SubscribeMsgSent(_) => "subscribe_msg_sent_event",
            Event::WxaMediaCheck { .. } => "wxa_media_check",
            Event::Unknown { event, .. } => event,
        }
    }

    /// The `EventKey` this event carries, if any.
    pub fn event_key(&self) -> Option<&str> {
        match self {
            Event::Subscribe { event_key, .. } | Event::Unknown { event_key, .. } => {
                event_key.as_deref()
            }
            Event::Scan { event_key, .. } => Some(event_key),
            Event::Click { key } => Some(key),
            Event::View { url, .. } => Some(url),
            _ => None,
        }
    }

    /// The parametric QR scene: `qrscene_` stripped on a follow, the bare key on a scan.
    pub fn qr_scene(&self) -> Option<&str> {
        match self {
            Event::Subscribe {
                event_key: Some(key),
                ..
            } => key
                .strip_prefix("qrscene_")
                .filter(|scene| !scene.is_empty()),
            Event::Scan { event_key, .. } if !event_key.is_empty() => Some(event_key),
            _ => None,
        }
    }

    fn dedup_suffix(&self) -> Option<String> {
        match self {
            Event::WxaMediaCheck { trace_id, .. } => Some(trace_id.clone()),
            Event::TemplateSendJobFinish { msg_id, .. } => Some(msg_id.to_string()),
            Event::SubscribeMsgSent(items) => Some(
                items
                    .iter()
                    .map(|item| item.msg_id.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        }
    }

    fn from_raw(name: String, raw: Raw) -> Result<Self, InboundError> {
        let event = match name.to_ascii_lowercase().as_str() {
            "subscribe" => Event::Subscribe {
                event_key: raw.event_key,
                ticket: raw.ticket,
            },
            "unsubscribe" => Event::Unsubscribe,
            "scan" => Event::Scan {
                event_key: text(raw.event_key),
                ticket: raw.ticket,
            },
            "location" => Event::Location {
                latitude: text(raw.latitude),
                longitude: text(raw.longitude),
                precision: text(raw.precision),
            },
            "click" => Event::Click {
                key: text(raw.event_key),
            },
            "view" => Event::View {
                url: text(raw.event_key),
                menu_id: raw.menu_id,
            },
            "templatesendjobfinish" => Event::TemplateSendJobFinish {
                msg_id: required_int("MsgID", raw.msg_id_upper)?,
                status: text(raw.status),
            },
            "subscribe_msg_popup_event" => {
                Event::SubscribeMsgPopup(subscribe_items(pick_list(raw.popup, None, raw.list)))
            }
            // One documentation page wraps the change list in SubscribeMsgPopupEvent.
            "subscribe_msg_change_event" => Event::SubscribeMsgChange(subscribe_items(pick_list(
                raw.change, raw.popup, raw.list,
            ))),
            "subscribe_msg_sent_event" => {
                Event::SubscribeMsgSent(sent_items(pick_list(raw.sent, None, raw.list))?)
            }
            "wxa_media_check" => media_check(raw)?,
            _ => Event::Unknown {
                event: name,
                event_key: raw.event_key,
            },
        };
        Ok(event)
    }
}

fn media_check(raw: Raw) -> Result<Event, InboundError> {
    let (suggest, label) = match raw.result {
        Some(result) => (result.suggest, optional_int("label", result.label)?),
        None => (None, None),
    };
    let detail = raw
        .detail
        .into_iter()
        .map(|d| {
            Ok(MediaCheckDetail {
                strategy: text(d.strategy),
                errcode: optional_int("errcode", d.errcode)?.unwrap_or(0),
                suggest: d.suggest,
                label: optional_int("label", d.label)?,
                prob: d.prob,
            })
        })
        .collect::<Result<_, InboundError>>()?;
    Ok(Event::WxaMediaCheck {
        appid: text(raw.appid),
        trace_id: text(raw.trace_id),
        version: optional_int("version", raw.version)?,
        suggest,
        label,
        detail,
        errcode: optional_int("errcode", raw.errcode)?.unwrap_or(0),
        errmsg: text(raw.errmsg),
    })
}

/// The first non-empty list among the event's own container, an alternative one, and the top level.
fn pick_list(own: Option<RawList>, alt: Option<RawList>, top: Vec<RawItem>) -> Vec<RawItem> {
    [own.map(|l| l.list), alt.map(|l| l.list), Some(top)]
        .into_iter()
        .flatten()
        .find(|list| !list.is_empty())
        .unwrap_or_default()
}

fn subscribe_items(items: Vec<RawItem>) -> Vec<SubscribeItem> {
    items
        .into_iter()
        .map(|item| SubscribeItem {
            template_id: text(item.template_id),
            status: text(item.status),
            popup_scene: item.popup_scene,
        })
        .collect()
}

fn sent_items(items: Vec<RawItem>) -> Result<Vec<SentItem>, InboundError> {
    items
        .into_iter()
        .map(|item| {
            Ok(SentItem {
                template_id: text(item.template_id),
                msg_id: required_int("MsgID", item.msg_id)?,
                error_code: optional_int("ErrorCode", item.error_code)?.unwrap_or(0),
                error_status: text(item.error_status),
            })
        })
        .collect()
}

fn text(value: Option<String>) -> String {
    value.unwrap_or_default()
}

fn parse_int(field: &'static str, value: String) -> Result<i64, InboundError> {
    // Numbers sit outside CDATA and may be pretty-printed; surrounding blanks carry no meaning.
    value
        .trim()
        .parse()
        .map_err(|_| InboundError::InvalidNumber { field, value })
}

fn required_int(field: &'static str, value: Option<String>) -> Result<i64, InboundError> {
    parse_int(field, value.ok_or(InboundError::MissingField(field))?)
}

fn optional_int(field: &'static str, value: Option<String>) -> Result<Option<i64>, InboundError> {
    value.map(|v| parse_int(field, v)).transpose()
}

fn looks_like_json(body: &str) -> bool {
    body.trim_start().starts_with('{')
}

/// Keys whose value is a list that JSON pushes may send as a bare object.
const LIST_KEYS: [&str; 2] = ["List", "detail"];
/// Subscribe containers that JSON pushes may send as the list itself.
const CONTAINER_KEYS: [&str; 3] = [
    "SubscribeMsgPopupEvent",
    "SubscribeMsgChangeEvent",
    "SubscribeMsgSentEvent",
];

/// Reads a JSON body into the XML envelope's shape: scalars become their text, nulls vanish,
/// single-item lists become arrays and bare subscribe containers gain their `List`.
fn normalize_json(body: &str) -> Result<Value, InboundError> {
    match serde_json::from_str(body)? {
        value @ Value::Object(_) => Ok(normalize_value(value)),
        _ => Err(InboundError::NotAnObject),
    }
}

fn normalize_value(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let v = normalize_value(v);
                    let v = if LIST_KEYS.contains(&k.as_str()) {
                        as_array(v)
                    } else if CONTAINER_KEYS.contains(&k.as_str()) {
                        as_container(v)
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

fn as_array(value: Value) -> Value {
    match value {
        Value::Array(_) => value,
        other => Value::Array(vec![other]),
    }
}

fn as_container(value: Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key("List") => Value::Object(map),
        other => {
            let mut map = serde_json::Map::new();
            map.insert("List".to_owned(), as_array(other));
            Value::Object(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "<ToUserName><![CDATA[gh_1]]></ToUserName>\
        <FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime>";

    fn xml(body: &str) -> String {
        format!("<xml>{HEAD}{body}</xml>")
    }

    fn parse(body: &str) -> Inbound {
        Inbound::from_xml(&xml(body)).expect("parses")
    }

    fn event(body: &str) -> Event {
        match parse(&format!("<MsgType><![CDATA[event]]></MsgType>{body}")).kind {
            InboundKind::Event(event) => event,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn cdata_split_around_a_cdata_end_marker_is_joined() {
        let inbound = parse(
            "<MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[a]]]]><![CDATA[>b]]></Content><MsgId>1</MsgId>",
        );
        assert!(
            matches!(inbound.kind, InboundKind::Text { ref content, .. } if content == "a]]>b")
        );
    }

    #[test]
    fn content_keeps_newlines_tabs_control_characters_and_emoji() {
        let content = " \n\t\u{1}x 😀\u{1b} ";
        let inbound = parse(&format!(
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>1</MsgId>"
        ));
        assert!(matches!(inbound.kind, InboundKind::Text { content: ref c, .. } if c == content));
    }

    #[test]
    fn text_from_an_article_carries_msg_data_id_and_idx() {
        let inbound = parse(
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>\
             <MsgId>5</MsgId><MsgDataId>2247483650</MsgDataId><Idx>1</Idx>",
        );
        assert_eq!(
            inbound.kind,
            InboundKind::Text {
                content: "hi".into(),
                msg_id: 5,
                msg_data_id: Some("2247483650".into()),
                idx: Some("1".into()),
            }
        );
    }

    #[test]
    fn unknown_msg_type_is_not_an_error() {
        let inbound = parse("<MsgType><![CDATA[miniprogrampage]]></MsgType><MsgId>9</MsgId>");
        assert_eq!(
            inbound.kind,
            InboundKind::Unknown {
                msg_type: "miniprogrampage".into(),
                msg_id: Some(9)
            }
        );
        assert_eq!(inbound.dedup_key(), "msg:9|oUser");
    }

    #[test]
    fn a_message_resent_with_another_create_time_keeps_its_key() {
        let body = |time: i64| {
            format!(
                "<xml><ToUserName>gh_1</ToUserName><FromUserName>oUser</FromUserName>\
                 <CreateTime>{time}</CreateTime><MsgType>text</MsgType><Content>hi</Content>\
                 <MsgId>42</MsgId></xml>"
            )
        };
        let first = Inbound::parse(&body(1_700_000_000)).unwrap();
        let again = Inbound::parse(&body(1_800_000_000)).unwrap();
        assert_eq!(first.dedup_key(), again.dedup_key());
    }

    #[test]
    fn empty_long_or_unprintable_account_ids_and_event_keys_are_refused() {
        let body = |from: &str, key: &str| {
            format!(
                "<xml><ToUserName>gh_1</ToUserName><FromUserName><![CDATA[{from}]]></FromUserName>\
                 <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>CLICK</Event>\
                 <EventKey><![CDATA[{key}]]></EventKey></xml>"
            )
        };
        let refused = [
            (body("", "k"), "FromUserName"),
            (body(&"o".repeat(65), "k"), "FromUserName"),
            (body("o\u{1}x", "k"), "FromUserName"),
            (body("o user", "k"), "FromUserName"),
            (body("oUser", &"k".repeat(129)), "EventKey"),
            (body("oUser", "k\u{0}"), "EventKey"),
        ];
        for (xml, field) in refused {
            match Inbound::parse(&xml) {
                Err(InboundError::BadField { field: f, .. }) => assert_eq!(f, field, "{xml:?}"),
                other => panic!("{xml:?} must be refused, got {other:?}"),
            }
        }
        assert!(Inbound::parse(&body("oUser", &"k".repeat(128))).is_ok());
    }

    #[test]
    fn unknown_msg_type_without_msg_id_still_has_a_dedup_key() {
        let inbound = parse("<MsgType><![CDATA[new_kind]]></MsgType><MsgId>x</MsgId>");
        assert_eq!(inbound.dedup_key(), "unknown:new_kind|oUser|1700000000");
    }

    #[test]
    fn unknown_event_keeps_its_name_and_key() {
        let event = event(
            "<Event><![CDATA[view_miniprogram]]></Event><EventKey><![CDATA[pages/a]]></EventKey>",
        );
        assert_eq!(
            event,
            Event::Unknown {
                event: "view_miniprogram".into(),
                event_key: Some("pages/a".into())
            }
        );
    }

    #[test]
    fn unknown_elements_are_ignored() {
        let inbound = parse(
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[x]]></Content>\
             <MsgId>1</MsgId><Bizmsgmenuid>7</Bizmsgmenuid><Nested><A>1</A><B/></Nested>",
        );
        assert_eq!(inbound.kind.msg_id(), Some(1));
    }

    #[test]
    fn missing_base_fields_are_errors() {
        for (field, body) in [
            (
                "ToUserName",
                "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
            ),
            (
                "FromUserName",
                "<xml><ToUserName>g</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
            ),
            (
                "CreateTime",
                "<xml><ToUserName>g</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType></xml>",
            ),
            (
                "MsgType",
                "<xml><ToUserName>g</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime></xml>",
            ),
        ] {
            let err = Inbound::from_xml(body).expect_err(field);
            assert!(
                matches!(err, InboundError::MissingField(f) if f == field),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn a_message_without_msg_id_is_an_error() {
        let err = Inbound::from_xml(&xml("<MsgType>text</MsgType><Content>x</Content>"))
            .expect_err("no MsgId");
        assert!(matches!(err, InboundError::MissingField("MsgId")));
    }

    #[test]
    fn a_non_numeric_create_time_is_an_error() {
        let body = "<xml><ToUserName>g</ToUserName><FromUserName>u</FromUserName>\
                    <CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>";
        let err = Inbound::from_xml(body).expect_err("bad time");
        assert!(
            matches!(err, InboundError::InvalidNumber { field: "CreateTime", ref value } if value == "soon")
        );
    }

    #[test]
    fn a_msg_id_beyond_i64_is_an_error() {
        let err = Inbound::from_xml(&xml(
            "<MsgType>text</MsgType><MsgId>9223372036854775808</MsgId>",
        ))
        .expect_err("overflow");
        assert!(matches!(
            err,
            InboundError::InvalidNumber { field: "MsgId", .. }
        ));
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(matches!(
            Inbound::from_xml("<xml><ToUserName>"),
            Err(InboundError::Xml(_))
        ));
        assert!(Inbound::from_xml("").is_err());
        assert!(Inbound::from_xml("not xml").is_err());
    }

    #[test]
    fn json_scalars_may_be_numbers_or_strings() {
        let body = r#"{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":"1700000000",
            "MsgType":"text","Content":"hi","MsgId":7250021412600020992}"#;
        let inbound = Inbound::parse(body).expect("parses");
        assert_eq!(inbound.create_time, 1_700_000_000);
        assert_eq!(inbound.kind.msg_id(), Some(7250021412600020992));
    }

    #[test]
    fn json_top_level_must_be_an_object() {
        assert!(matches!(
            Inbound::from_json("[1]"),
            Err(InboundError::NotAnObject)
        ));
        assert!(matches!(
            Inbound::from_json("{"),
            Err(InboundError::Json(_))
        ));
    }

    #[test]
    fn json_subscribe_popup_with_a_single_bare_list_object_is_a_list_of_one() {
        let body = r#"{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1620963428,
            "MsgType":"event","Event":"subscribe_msg_popup_event",
            "List":{"PopupScene":"0","SubscribeStatusString":"accept","TemplateId":"T1"}}"#;
        let inbound = Inbound::from_json(body).expect("parses");
        assert_eq!(
            inbound.kind,
            InboundKind::Event(Event::SubscribeMsgPopup(vec![SubscribeItem {
                template_id: "T1".into(),
                status: "accept".into(),
                popup_scene: Some("0".into()),
            }]))
        );
    }

    #[test]
    fn json_subscribe_change_with_a_list_array_keeps_every_item() {
        let body = r#"{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1625575681,
            "MsgType":"event","Event":"subscribe_msg_change_event",
            "List":[{"SubscribeStatusString":"reject","TemplateId":"A"},
                    {"SubscribeStatusString":"reject","TemplateId":"B"}]}"#;
        let Event::SubscribeMsgChange(items) = event_of(body) else {
            panic!("not a change event")
        };
        assert_eq!(
            items
                .iter()
                .map(|i| i.template_id.as_str())
                .collect::<Vec<_>>(),
            ["A", "B"]
        );
    }

    #[test]
    fn json_subscribe_container_given_as_the_list_itself_is_accepted() {
        let body = r#"{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1,
            "MsgType":"event","Event":"subscribe_msg_sent_event",
            "SubscribeMsgSentEvent":{"TemplateId":"T","MsgID":1700827132819554304,
            "ErrorCode":0,"ErrorStatus":"success"}}"#;
        let Event::SubscribeMsgSent(items) = event_of(body) else {
            panic!("not a sent event")
        };
        assert_eq!(
            items,
            [SentItem {
                template_id: "T".into(),
                msg_id: 1700827132819554304,
                error_code: 0,
                error_status: "success".into(),
            }]
        );
    }

    #[test]
    fn subscribe_change_wrapped_in_the_popup_container_is_accepted() {
        let event = event(
            "<Event><![CDATA[subscribe_msg_change_event]]></Event><SubscribeMsgPopupEvent>\
             <List><TemplateId><![CDATA[T]]></TemplateId>\
             <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List>\
             </SubscribeMsgPopupEvent>",
        );
        assert_eq!(
            event,
            Event::SubscribeMsgChange(vec![SubscribeItem {
                template_id: "T".into(),
                status: "reject".into(),
                popup_scene: None,
            }])
        );
    }

    #[test]
    fn subscribe_event_without_items_is_an_empty_list() {
        let event = event("<Event><![CDATA[subscribe_msg_popup_event]]></Event>");
        assert_eq!(event, Event::SubscribeMsgPopup(vec![]));
    }

    #[test]
    fn event_names_match_case_insensitively() {
        let event = event("<Event><![CDATA[scan]]></Event><EventKey><![CDATA[42]]></EventKey>");
        assert_eq!(event.name(), "SCAN");
        assert_eq!(event.qr_scene(), Some("42"));
    }

    #[test]
    fn qr_scene_strips_the_qrscene_prefix_of_a_follow() {
        let follow =
            event("<Event>subscribe</Event><EventKey><![CDATA[qrscene_work_42]]></EventKey>");
        assert_eq!(follow.qr_scene(), Some("work_42"));
        let plain = event("<Event>subscribe</Event><EventKey><![CDATA[]]></EventKey>");
        assert_eq!(plain.qr_scene(), None);
        assert_eq!(plain.event_key(), Some(""));
        let bare = event("<Event>subscribe</Event>");
        assert_eq!(bare.event_key(), None);
    }

    #[test]
    fn template_and_subscribe_sent_dedup_keys_include_the_message_ids() {
        let template = parse(
            "<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event>\
             <MsgID>77</MsgID><Status><![CDATA[success]]></Status>",
        );
        assert_eq!(
            template.dedup_key(),
            "evt:oUser|1700000000|TEMPLATESENDJOBFINISH||77"
        );
        let sent = parse(
            "<MsgType>event</MsgType><Event>subscribe_msg_sent_event</Event><SubscribeMsgSentEvent>\
             <List><TemplateId>A</TemplateId><MsgID>1</MsgID><ErrorCode>0</ErrorCode><ErrorStatus>success</ErrorStatus></List>\
             <List><TemplateId>B</TemplateId><MsgID>2</MsgID><ErrorCode>43101</ErrorCode><ErrorStatus>fail</ErrorStatus></List>\
             </SubscribeMsgSentEvent>",
        );
        assert_eq!(
            sent.dedup_key(),
            "evt:oUser|1700000000|subscribe_msg_sent_event||1,2"
        );
    }

    #[test]
    fn wxa_media_check_in_xml_is_parsed_like_json() {
        let event = event(
            "<Event><![CDATA[wxa_media_check]]></Event><appid><![CDATA[wxapp]]></appid>\
             <trace_id><![CDATA[t-1]]></trace_id><version>2</version>\
             <result><suggest><![CDATA[pass]]></suggest><label>100</label></result>\
             <detail><strategy><![CDATA[content_model]]></strategy><errcode>0</errcode>\
             <suggest><![CDATA[pass]]></suggest><label>100</label><prob>90</prob></detail>\
             <errcode>0</errcode><errmsg><![CDATA[ok]]></errmsg>",
        );
        assert_eq!(
            event,
            Event::WxaMediaCheck {
                appid: "wxapp".into(),
                trace_id: "t-1".into(),
                version: Some(2),
                suggest: Some("pass".into()),
                label: Some(100),
                detail: vec![MediaCheckDetail {
                    strategy: "content_model".into(),
                    errcode: 0,
                    suggest: Some("pass".into()),
                    label: Some(100),
                    prob: Some("90".into()),
                }],
                errcode: 0,
                errmsg: "ok".into(),
            }
        );
    }

    #[test]
    fn encrypted_envelope_tells_a_missing_encrypt_from_an_empty_one() {
        let plain = EncryptedEnvelope::from_xml(&xml("<MsgType>text</MsgType>")).expect("parses");
        assert_eq!(plain, None);
        let empty = EncryptedEnvelope::from_xml("<xml><Encrypt><![CDATA[]]></Encrypt></xml>")
            .expect("parses");
        let expected = Some(EncryptedEnvelope {
            to_user_name: None,
            encrypt: String::new(),
        });
        assert_eq!(empty, expected);
        for body in ["<xml><Encrypt/></xml>", "<xml><Encrypt></Encrypt></xml>"] {
            assert_eq!(
                EncryptedEnvelope::from_xml(body).expect(body),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn encrypted_envelope_in_compatible_mode_ignores_the_plain_fields() {
        let body = xml(
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>\
             <MsgId>1</MsgId><Encrypt><![CDATA[abc=]]></Encrypt>",
        );
        let envelope = EncryptedEnvelope::parse(&body)
            .expect("parses")
            .expect("has Encrypt");
        assert_eq!(envelope.to_user_name.as_deref(), Some("gh_1"));
        assert_eq!(envelope.encrypt, "abc=");
    }

    #[test]
    fn encrypted_envelope_reads_json_bodies() {
        let envelope = EncryptedEnvelope::parse(r#" {"ToUserName":"gh_1","Encrypt":"abc="}"#)
            .expect("parses")
            .expect("has Encrypt");
        assert_eq!(envelope.encrypt, "abc=");
        assert_eq!(
            EncryptedEnvelope::parse(r#"{"ToUserName":"gh_1"}"#).expect("parses"),
            None
        );
    }

    fn event_of(body: &str) -> Event {
        match Inbound::from_json(body).expect("parses").kind {
            InboundKind::Event(event) => event,
            other => panic!("not an event: {other:?}"),
        }
    }
}
