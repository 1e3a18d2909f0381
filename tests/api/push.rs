//! Building and sending WeChat pushes as WeChat does: signed, and encrypted in aes mode.

use wangju::wechat::{
    crypto::{EncodingAesKey, KeySlot, MessageCrypt},
    signature,
};

use crate::helpers::TestApp;

/// The sandbox Token every test app uses (the settings default).
pub const TOKEN: &str = "sandbox-token";
/// The sandbox official-account appid (the settings default).
pub const MP_APPID: &str = "wxsandbox0000mp01";
/// An EncodingAESKey for safe-mode tests.
pub const AES_KEY: &str = "ELWIuNG2cD6SDYxKq6GcCJPuKePruKAERf3lWP9FRVY";
/// Our account id.
pub const GH: &str = "gh_1a2b3c4d5e6f";

/// How a push travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain XML, `signature`.
    Plain,
    /// Plain fields plus `Encrypt`, `msg_signature`.
    Compatible,
    /// Only `Encrypt`, `msg_signature`.
    Safe,
}

/// A text message XML.
pub fn text(openid: &str, msg_id: i64, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

/// An image message XML.
pub fn image(openid: &str, msg_id: i64, create_time: i64, media_id: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[image]]></MsgType>\
         <PicUrl><![CDATA[http://127.0.0.1:9/pic.jpg]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>\
         <MsgId>{msg_id}</MsgId></xml>"
    )
}

/// An event XML with an optional EventKey.
pub fn event(openid: &str, create_time: i64, event: &str, key: Option<&str>) -> String {
    let key = key
        .map(|k| format!("<EventKey><![CDATA[{k}]]></EventKey>"))
        .unwrap_or_default();
    format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[{event}]]></Event>{key}</xml>"
    )
}

/// The mini program's push Token in the sandbox (its own, as WeChat's console sets it).
pub const MINIAPP_TOKEN: &str = "sandbox-miniapp-token";
/// An EncodingAESKey for the mini program's endpoint, unlike the official account's.
pub const MINIAPP_AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";

fn crypt(appid: &str, key: &str) -> MessageCrypt {
    MessageCrypt::new(appid, EncodingAesKey::parse(key).unwrap(), None)
}

/// The query and body WeChat would send for `xml` in `mode`.
pub fn wrap(xml: &str, mode: Mode, appid: &str) -> (Vec<(String, String)>, String) {
    wrap_at(xml, mode, appid, chrono::Utc::now().timestamp())
}

/// As [`wrap`], signed with the given timestamp.
pub fn wrap_at(
    xml: &str,
    mode: Mode,
    appid: &str,
    timestamp: i64,
) -> (Vec<(String, String)>, String) {
    wrap_with((TOKEN, AES_KEY), xml, mode, appid, timestamp)
}

/// As [`wrap_at`], with another app's Token and EncodingAESKey.
pub fn wrap_with(
    (token, aes_key): (&str, &str),
    xml: &str,
    mode: Mode,
    appid: &str,
    timestamp: i64,
) -> (Vec<(String, String)>, String) {
    let timestamp = timestamp.to_string();
    // WeChat's nonces are random: a fixed one would make two pushes in one second one query.
    let nonce = (u64::from(uuid::Uuid::new_v4().as_u128() as u32)).to_string();
    let signature = signature::sign(&[token, &timestamp, &nonce]);
    let mut query = vec![
        ("signature".to_owned(), signature),
        ("timestamp".to_owned(), timestamp.clone()),
        ("nonce".to_owned(), nonce.clone()),
        ("openid".to_owned(), "ignored".to_owned()),
    ];
    let body = match mode {
        Mode::Plain => xml.to_owned(),
        Mode::Compatible | Mode::Safe => {
            let encrypt = crypt(appid, aes_key).encrypt(KeySlot::Current, xml);
            query.push(("encrypt_type".to_owned(), "aes".to_owned()));
            query.push((
                "msg_signature".to_owned(),
                signature::msg_signature(token, &timestamp, &nonce, &encrypt),
            ));
            if mode == Mode::Safe {
                format!(
                    "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
                )
            } else {
                xml.replacen(
                    "</xml>",
                    &format!("<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
                    1,
                )
            }
        }
    };
    (query, body)
}

/// Sends a push to the official-account callback; returns the status and the body.
pub async fn send(app: &TestApp, xml: &str, mode: Mode) -> (u16, String) {
    send_to(app, "/wechat/callback", xml, mode, MP_APPID).await
}

/// Sends a push to a callback path, signed (and encrypted) with that endpoint's own keys.
pub async fn send_to(
    app: &TestApp,
    path: &str,
    xml: &str,
    mode: Mode,
    appid: &str,
) -> (u16, String) {
    let keys = if path.contains("miniapp") {
        (MINIAPP_TOKEN, MINIAPP_AES_KEY)
    } else {
        (TOKEN, AES_KEY)
    };
    let (query, body) = wrap_with(keys, xml, mode, appid, chrono::Utc::now().timestamp());
    let res = app
        .client
        .post(app.url(path))
        .query(&query)
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The decrypted inner XML of an encrypted reply, after checking its signature.
pub fn open_reply(body: &str, appid: &str) -> String {
    let field = |name: &str| {
        let start = body.find(&format!("<{name}>")).unwrap() + name.len() + 2;
        let end = body.find(&format!("</{name}>")).unwrap();
        body[start..end]
            .trim_start_matches("<![CDATA[")
            .trim_end_matches("]]>")
            .to_owned()
    };
    let (encrypt, sig, timestamp, nonce) = (
        field("Encrypt"),
        field("MsgSignature"),
        field("TimeStamp"),
        field("Nonce"),
    );
    assert!(
        signature::verify_msg_signature(TOKEN, &timestamp, &nonce, &encrypt, &sig),
        "reply signature"
    );
    crypt(appid, AES_KEY).decrypt(&encrypt).unwrap().plaintext
}

/// The `Content` of a text reply.
pub fn content(reply_xml: &str) -> String {
    let start = reply_xml
        .find("<Content><![CDATA[")
        .map(|i| i + 18)
        .unwrap_or_else(|| panic!("no content in {reply_xml}"));
    let end = reply_xml[start..].find("]]></Content>").unwrap() + start;
    reply_xml[start..end].to_owned()
}
