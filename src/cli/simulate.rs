//! `wangju simulate`: plays WeChat against a running server — a signed (and, when an
//! EncodingAESKey is configured, encrypted) message or event — and prints the reply.

use clap::{Args, Subcommand, ValueEnum};
use rand::RngExt;
use secrecy::ExposeSecret;

use crate::{
    cli::CliError,
    settings::Settings,
    wechat::{
        crypto::EncodingAesKey,
        push::{MessageMode, sign_push},
    },
};

/// Arguments of `wangju simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Callback URL (default: http://<listen>/wechat/callback).
    #[arg(long)]
    pub url: Option<String>,
    /// The sender's openid.
    #[arg(long, default_value = "o_simulated_worker")]
    pub from: String,
    /// plain, compatible or safe (default: safe when an EncodingAESKey is configured).
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// What to send.
    #[command(subcommand)]
    pub push: Push,
}

/// How the push travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Plain XML, `signature`.
    Plain,
    /// Plain fields plus `Encrypt`, `msg_signature`.
    Compatible,
    /// Only `Encrypt`, `msg_signature`.
    Safe,
}

/// A message or event as WeChat would push it.
#[derive(Debug, Subcommand)]
pub enum Push {
    /// A text message, e.g. `text "网言网语 文明上网"`.
    Text {
        /// The text.
        content: String,
    },
    /// An image message with a WeChat media id.
    Image {
        /// The media id.
        media_id: String,
    },
    /// A follow, optionally through a unit's QR code.
    Subscribe {
        /// The QR scene (`huangpu` becomes `qrscene_huangpu`).
        #[arg(long)]
        scene: Option<String>,
    },
    /// An unfollow.
    Unsubscribe,
    /// A follower scanning a unit's QR code.
    Scan {
        /// The scene.
        scene: String,
    },
    /// A menu click.
    Click {
        /// The menu key.
        key: String,
    },
}

fn cdata(name: &str, value: &str) -> String {
    format!(
        "<{name}><![CDATA[{}]]></{name}>",
        value.replace("]]>", "]]]]><![CDATA[>")
    )
}

/// The XML WeChat would push for `push` from `from` at `now`.
pub fn push_xml(push: &Push, from: &str, now: i64, msg_id: i64) -> String {
    let head = format!(
        "{}{}<CreateTime>{now}</CreateTime>",
        cdata("ToUserName", "gh_wangju_simulator"),
        cdata("FromUserName", from)
    );
    let event = |name: &str, key: Option<&str>| {
        format!(
            "{}{}{}",
            cdata("MsgType", "event"),
            cdata("Event", name),
            key.map(|k| cdata("EventKey", k)).unwrap_or_default()
        )
    };
    let body = match push {
        Push::Text { content } => format!(
            "{}{}<MsgId>{msg_id}</MsgId>",
            cdata("MsgType", "text"),
            cdata("Content", content)
        ),
        Push::Image { media_id } => format!(
            "{}{}{}<MsgId>{msg_id}</MsgId>",
            cdata("MsgType", "image"),
            cdata("PicUrl", "https://mmbiz.qpic.cn/simulated.jpg"),
            cdata("MediaId", media_id)
        ),
        Push::Subscribe { scene } => {
            let key = scene
                .as_ref()
                .map(|s| format!("qrscene_{s}"))
                .unwrap_or_default();
            event("subscribe", Some(&key))
        }
        Push::Unsubscribe => event("unsubscribe", Some("")),
        Push::Scan { scene } => event("SCAN", Some(scene)),
        Push::Click { key } => event("CLICK", Some(key)),
    };
    format!("<xml>{head}{body}</xml>")
}

fn field<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(
        xml[start..end]
            .trim_start_matches("<![CDATA[")
            .trim_end_matches("]]>"),
    )
}

/// Sends the push and prints the (decrypted) reply.
pub async fn run(settings: &Settings, args: SimulateArgs) -> Result<(), CliError> {
    let callback = &settings.wechat.callback.mp;
    let token = callback.token.expose_secret();
    let crypt = callback.crypt(&settings.wechat.mp.appid);
    let mode = args.mode.unwrap_or(if crypt.is_some() {
        Mode::Safe
    } else {
        Mode::Plain
    });
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}/wechat/callback", settings.http.listen));

    let now = chrono::Utc::now().timestamp();
    let msg_id: i64 = rand::rng().random_range(1..i64::MAX);
    let xml = push_xml(&args.push, &args.from, now, msg_id);
    let message_mode = match mode {
        Mode::Plain => MessageMode::Plain,
        Mode::Compatible => MessageMode::Compatible,
        Mode::Safe => MessageMode::Safe,
    };
    let Some(signed) = sign_push(token, crypt.as_ref(), message_mode, &xml, now) else {
        // The sandbox has no key of its own: offer one to set on both sides.
        return Err(CliError::Input(format!(
            "compatible and safe modes need the EncodingAESKey that the server uses; \
             for the sandbox, start the server and simulate with the same new key, for example \
             WANGJU_MP_AES_KEY={}",
            EncodingAesKey::generate()
        )));
    };
    let response = reqwest::Client::new()
        .post(&url)
        .query(&signed.query)
        .query(&[("openid", args.from.as_str())])
        .header("content-type", "text/xml")
        .body(signed.body)
        .send()
        .await
        .map_err(|e| CliError::Input(format!("cannot reach {url}: {e}")))?;
    let status = response.status();
    let reply = response
        .text()
        .await
        .map_err(|e| CliError::Input(e.to_string()))?;
    println!("HTTP {status}");
    let reply = match (&crypt, field(&reply, "Encrypt")) {
        (Some(crypt), Some(encrypt)) => crypt
            .decrypt(encrypt)
            .map(|d| d.plaintext)
            .map_err(|e| CliError::Input(format!("cannot decrypt the reply: {e}")))?,
        _ => reply,
    };
    println!("{reply}");
    if let Some(content) = field(&reply, "Content") {
        println!("\n{content}");
    }
    if status.is_success() {
        Ok(())
    } else {
        Err(CliError::Input(format!("the server answered {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::inbound::{Event, Inbound, InboundKind};

    #[test]
    fn simulated_pushes_parse_as_wechat_pushes() {
        let text = push_xml(
            &Push::Text {
                content: "网言网语 a]]>b".to_owned(),
            },
            "o1",
            1_700_000_000,
            42,
        );
        let parsed = Inbound::parse(&text).expect("parses");
        assert!(
            matches!(parsed.kind, InboundKind::Text { ref content, msg_id: 42, .. } if content == "网言网语 a]]>b")
        );
        let follow = push_xml(
            &Push::Subscribe {
                scene: Some("huangpu".to_owned()),
            },
            "o1",
            1,
            1,
        );
        let parsed = Inbound::parse(&follow).expect("parses");
        assert!(
            matches!(parsed.kind, InboundKind::Event(Event::Subscribe { event_key: Some(ref k), .. }) if k == "qrscene_huangpu")
        );
    }
}
