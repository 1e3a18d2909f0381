//! Opening a push: URL verification, the signatures, the replay window, safe-mode decryption
//! and the encrypted reply. Pure protocol: what the push says is the caller's business.

use std::{sync::Arc, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{
    crypto::{KeySlot, MessageCrypt, random_nonce},
    inbound::EncryptedEnvelope,
    signature,
};

/// The query WeChat sends with every push.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct PushQuery {
    /// sha1 of token, timestamp, nonce (plain mode and URL verification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Unix seconds, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Random text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// URL verification challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echostr: Option<String>,
    /// `aes` in compatible and safe modes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypt_type: Option<String>,
    /// sha1 of token, timestamp, nonce, Encrypt (aes mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_signature: Option<String>,
}

/// A push as WeChat sends it: the signed query and the body.
#[derive(Debug)]
pub struct SignedPush {
    /// The query string's fields.
    pub query: PushQuery,
    /// The body: the XML itself, or its encrypted envelope.
    pub body: String,
}

/// Signs `xml` the way WeChat pushes it to an endpoint in `mode`: plain with `signature`; in
/// compatible and safe mode also encrypted with `crypt` and signed over the ciphertext. `None`
/// when an encrypted mode has no key. For the simulators (the sandbox, `wangju simulate`).
pub fn sign_push(
    token: &str,
    crypt: Option<&MessageCrypt>,
    mode: MessageMode,
    xml: &str,
    timestamp: i64,
) -> Option<SignedPush> {
    let timestamp = timestamp.to_string();
    let nonce = random_nonce();
    let mut query = PushQuery {
        signature: Some(signature::sign(&[token, &timestamp, &nonce])),
        timestamp: Some(timestamp.clone()),
        nonce: Some(nonce.clone()),
        ..PushQuery::default()
    };
    if mode == MessageMode::Plain {
        return Some(SignedPush {
            query,
            body: xml.to_owned(),
        });
    }
    let encrypt = crypt?.encrypt(KeySlot::Current, xml);
    query.encrypt_type = Some("aes".to_owned());
    query.msg_signature = Some(signature::msg_signature(
        token, &timestamp, &nonce, &encrypt,
    ));
    // Base64 never holds `]]>`, so the CDATA needs no escaping.
    let sealed = format!("<Encrypt><![CDATA[{encrypt}]]></Encrypt>");
    let body = if mode == MessageMode::Safe {
        format!("<xml><ToUserName><![CDATA[gh_wangju_simulator]]></ToUserName>{sealed}</xml>")
    } else {
        xml.replacen("</xml>", &format!("{sealed}</xml>"), 1)
    };
    Some(SignedPush { query, body })
}

/// WeChat's message encryption setting (消息加解密方式) for a push endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageMode {
    /// 明文模式: plain XML, checked by `signature` (which does not cover the body).
    Plain,
    /// 兼容模式: plain fields plus `Encrypt`; only the encrypted, `msg_signature`-checked part counts.
    Compatible,
    /// 安全模式: encrypted only; a push without `encrypt_type=aes` and `msg_signature` is refused.
    Safe,
}

impl MessageMode {
    /// Whether pushes must come encrypted and signed over their body.
    pub fn requires_encryption(self) -> bool {
        self != Self::Plain
    }
}

/// Why a push (or a URL verification) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not from WeChat, or not any more: a signature, the timestamp or the mode is wrong.
    #[error("push refused: {0}")]
    Forbidden(&'static str),
    /// Signed, but its parts are missing or unreadable.
    #[error("unreadable push: {0}")]
    Unreadable(String),
}

/// One app's push gate: its Token, its key (if any), its mode and the replay window.
#[derive(Clone)]
pub struct PushGate {
    token: SecretString,
    crypt: Option<Arc<MessageCrypt>>,
    mode: MessageMode,
    replay_window: Option<Duration>,
}

/// An authenticated push, decrypted if it came encrypted.
pub struct Opened {
    /// The push XML.
    pub plaintext: String,
    /// What signed it: the same three again with another body is a forgery.
    pub signed: SignedQuery,
    key: Option<(Arc<MessageCrypt>, KeySlot)>,
}

/// The parts of a push query that identify one signed request.
pub struct SignedQuery {
    /// Unix seconds, as sent.
    pub timestamp: String,
    /// The nonce, as sent.
    pub nonce: String,
    /// `msg_signature` for encrypted pushes, else `signature`.
    pub signature: String,
}

impl PushGate {
    /// A gate with this Token, decryption (safe and compatible mode) and mode; pushes whose
    /// timestamp is further than `replay_window` from now are refused.
    pub fn new(
        token: SecretString,
        crypt: Option<MessageCrypt>,
        mode: MessageMode,
        replay_window: Option<Duration>,
    ) -> Self {
        Self {
            token,
            crypt: crypt.map(Arc::new),
            mode,
            replay_window,
        }
    }

    /// Whether pushes are checked against the replay window (and so worth sealing).
    pub fn replay_protected(&self) -> bool {
        self.replay_window.is_some()
    }

    /// URL verification (GET): the raw `echostr` if the signature is right.
    pub fn verify_url(&self, query: &PushQuery) -> Result<String, Refused> {
        let (Some(signature), Some(timestamp), Some(nonce), Some(echostr)) = (
            &query.signature,
            &query.timestamp,
            &query.nonce,
            &query.echostr,
        ) else {
            return Err(Refused::Unreadable(
                "signature, timestamp, nonce and echostr are required".to_owned(),
            ));
        };
        let token = self.token.expose_secret();
        if !signature::verify_signature(token, timestamp, nonce, signature) {
            return Err(Refused::Forbidden("bad signature on URL verification"));
        }
        Ok(echostr.clone())
    }

    /// Checks a push (POST) received at `now_unix` and returns its XML, decrypted if needed.
    pub fn open(&self, query: &PushQuery, body: &str, now_unix: i64) -> Result<Opened, Refused> {
        let (Some(timestamp), Some(nonce)) = (&query.timestamp, &query.nonce) else {
            return Err(Refused::Forbidden("timestamp or nonce missing"));
        };
        let sent = timestamp
            .parse::<i64>()
            .map_err(|_| Refused::Forbidden("timestamp is not a number"))?;
        if let Some(window) = self.replay_window
            && now_unix.abs_diff(sent) > window.as_secs()
        {
            return Err(Refused::Forbidden("timestamp outside the replay window"));
        }
        let token = self.token.expose_secret();
        let encrypted = query.encrypt_type.as_deref() == Some("aes");
        // In safe and compatible mode only the encrypted part, signed over its bytes, counts: a
        // plain push there is a downgrade, since `signature` does not cover the body.
        if self.mode.requires_encryption() && !encrypted {
            return Err(Refused::Forbidden(
                "unencrypted push while the account is in safe mode",
            ));
        }
        match &query.signature {
            Some(signature) if !signature::verify_signature(token, timestamp, nonce, signature) => {
                return Err(Refused::Forbidden("bad signature"));
            }
            None if !encrypted => return Err(Refused::Forbidden("signature missing")),
            _ => {}
        }
        let signed = |signature: &str| SignedQuery {
            timestamp: timestamp.clone(),
            nonce: nonce.clone(),
            signature: signature.to_owned(),
        };
        if !encrypted {
            return Ok(Opened {
                plaintext: body.to_owned(),
                signed: signed(query.signature.as_deref().unwrap_or_default()),
                key: None,
            });
        }
        let Some(msg_signature) = &query.msg_signature else {
            return Err(Refused::Forbidden("msg_signature missing"));
        };
        let envelope = EncryptedEnvelope::parse(body)
            .map_err(|e| Refused::Unreadable(e.to_string()))?
            .ok_or_else(|| Refused::Unreadable("aes push without Encrypt".to_owned()))?;
        if !signature::verify_msg_signature(
            token,
            timestamp,
            nonce,
            &envelope.encrypt,
            msg_signature,
        ) {
            return Err(Refused::Forbidden("bad msg_signature"));
        }
        let crypt = self.crypt.clone().ok_or_else(|| {
            Refused::Unreadable("encrypted push but no EncodingAESKey is configured".to_owned())
        })?;
        let decrypted = crypt
            .decrypt(&envelope.encrypt)
            .map_err(|e| Refused::Unreadable(format!("cannot decrypt push ({})", e.stage())))?;
        Ok(Opened {
            plaintext: decrypted.plaintext,
            signed: signed(msg_signature),
            key: Some((crypt, decrypted.key)),
        })
    }

    /// The HTTP body for a passive reply to `opened`: encrypted, with the key the push came
    /// with, when the push was.
    pub fn answer(&self, opened: &Opened, reply_xml: String, now_unix: i64) -> String {
        match &opened.key {
            Some((crypt, slot)) => crypt.encrypted_reply(
                *slot,
                self.token.expose_secret(),
                &reply_xml,
                now_unix,
                &random_nonce(),
            ),
            None => reply_xml,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::crypto::EncodingAesKey;

    fn gate(mode: MessageMode, crypt: Option<MessageCrypt>) -> PushGate {
        PushGate::new(
            SecretString::from("token"),
            crypt,
            mode,
            Some(Duration::from_secs(300)),
        )
    }

    fn crypt() -> Option<MessageCrypt> {
        let key = EncodingAesKey::parse(&EncodingAesKey::generate()).ok()?;
        Some(MessageCrypt::new("wxappid", key, None))
    }

    #[test]
    fn a_signed_push_opens_in_every_mode_and_a_changed_one_does_not() {
        let xml = "<xml><MsgType><![CDATA[text]]></MsgType></xml>";
        let now = 1_700_000_000;
        for mode in [
            MessageMode::Plain,
            MessageMode::Compatible,
            MessageMode::Safe,
        ] {
            let crypt = crypt();
            let signed = sign_push("token", crypt.as_ref(), mode, xml, now);
            let Some(signed) = signed else {
                panic!("{mode:?}: a key was given");
            };
            let gate = gate(mode, crypt);
            let opened = gate
                .open(&signed.query, &signed.body, now)
                .map(|o| o.plaintext);
            assert_eq!(opened.as_deref(), Ok(xml), "{mode:?}");
            let late = gate
                .open(&signed.query, &signed.body, now + 301)
                .map(|_| ());
            assert_eq!(
                late,
                Err(Refused::Forbidden("timestamp outside the replay window"))
            );
        }
        let plain = sign_push("token", None, MessageMode::Plain, xml, now);
        let Some(plain) = plain else {
            panic!("plain needs no key");
        };
        let wrong = gate(MessageMode::Plain, None).open(&plain.query, &plain.body, now);
        assert!(
            wrong.is_ok(),
            "plain mode does not sign the body (its known weakness)"
        );
        assert!(
            gate(MessageMode::Safe, crypt())
                .open(&plain.query, &plain.body, now)
                .is_err()
        );
        assert!(sign_push("token", None, MessageMode::Safe, xml, now).is_none());
    }
}
