//! Known-answer tests against `tests/vectors/wechat-vectors.json` (produced with wechatpy).

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::crypto::{EncodingAesKey, KeySlot, MessageCrypt};
use super::inbound::{EncryptedEnvelope, Event, Inbound, InboundKind, SentItem, SubscribeItem};
use super::signature;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/wechat-vectors.json"
));

/// Fields a vector lists that our typed model deliberately drops, each always empty in practice.
const DROPPED_EMPTY_FIELDS: [(&str, &str); 1] = [("unsubscribe", "EventKey")];

#[derive(Deserialize)]
struct Vectors {
    signature: Vec<SignatureCase>,
    msg_signature: Vec<MsgSignatureCase>,
    official_doc_examples: Vec<DocCase>,
    decrypt: Vec<DecryptCase>,
    bad: Vec<BadCase>,
    xml: Vec<XmlCase>,
}

#[derive(Deserialize)]
struct SignatureCase {
    name: String,
    token: String,
    timestamp: String,
    nonce: String,
    signature: String,
    sorted_parts: Vec<String>,
}

#[derive(Deserialize)]
struct MsgSignatureCase {
    name: String,
    token: String,
    timestamp: String,
    nonce: String,
    encrypt: String,
    msg_signature: String,
    sorted_parts_head: Vec<String>,
}

#[derive(Deserialize)]
struct DocCase {
    name: String,
    encoding_aes_key: String,
    appid: String,
    token: String,
    timestamp: String,
    nonce: String,
    encrypt: String,
    msg_signature: String,
    plaintext: String,
    random_hex: String,
    msg_len: usize,
    pad_len: usize,
}

#[derive(Deserialize)]
struct DecryptCase {
    name: String,
    encoding_aes_key: String,
    encoding_aes_key_trailing_bits_nonzero: bool,
    aes_key_hex: String,
    iv_hex: String,
    appid: String,
    token: String,
    timestamp: String,
    nonce: String,
    random_hex: String,
    encrypt: String,
    msg_signature: String,
    plaintext_xml: String,
    plaintext_format: String,
    msg_len: usize,
    frame_len_unpadded: usize,
    pad_len: usize,
    ciphertext_len: usize,
    reply_envelope_xml: Option<String>,
    inbound_body_xml: Option<String>,
}

#[derive(Deserialize)]
struct BadCase {
    name: String,
    encoding_aes_key: String,
    appid: String,
    token: String,
    timestamp: String,
    nonce: String,
    encrypt: String,
    msg_signature: String,
    stage: String,
    signature_valid: bool,
}

#[derive(Deserialize)]
struct XmlCase {
    name: String,
    xml: String,
    fields: Map<String, Value>,
    dedup_key: DedupKey,
}

#[derive(Deserialize)]
struct DedupKey {
    kind: String,
    value: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("vectors parse")
}

fn key(encoded: &str) -> EncodingAesKey {
    EncodingAesKey::parse(encoded).expect("vector key parses")
}

fn random(random_hex: &str) -> [u8; 16] {
    hex::decode(random_hex)
        .expect("random_hex is hex")
        .try_into()
        .expect("random_hex is 16 bytes")
}

/// Checks the vector's frame arithmetic against the lengths we can observe.
fn assert_frame_lengths(name: &str, encrypt: &str, appid: &str, plaintext: &str, pad_len: usize) {
    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(encrypt)
        .expect("vector ciphertext is base64");
    let unpadded = 20 + plaintext.len() + appid.len();
    assert_eq!(
        ciphertext.len() % 32,
        0,
        "{name}: ciphertext is a multiple of 32"
    );
    assert_eq!(ciphertext.len() - unpadded, pad_len, "{name}: pad_len");
}

#[test]
fn signature_vectors_verify_and_sort_byte_wise() {
    for case in vectors().signature {
        let parts = [case.token.as_str(), &case.timestamp, &case.nonce];
        assert_eq!(
            signature::sorted_parts(&parts),
            case.sorted_parts,
            "{}",
            case.name
        );
        assert_eq!(signature::sign(&parts), case.signature, "{}", case.name);
        assert!(
            signature::verify_signature(&case.token, &case.timestamp, &case.nonce, &case.signature),
            "{}",
            case.name
        );
    }
}

#[test]
fn msg_signature_vectors_verify_and_sort_byte_wise() {
    for case in vectors().msg_signature {
        let parts = [
            case.token.as_str(),
            &case.timestamp,
            &case.nonce,
            &case.encrypt,
        ];
        let sorted = signature::sorted_parts(&parts);
        assert_eq!(sorted.len(), case.sorted_parts_head.len(), "{}", case.name);
        for (ours, head) in sorted.iter().zip(&case.sorted_parts_head) {
            assert!(
                ours.starts_with(head.as_str()),
                "{}: {ours} vs {head}",
                case.name
            );
        }
        assert!(
            signature::verify_msg_signature(
                &case.token,
                &case.timestamp,
                &case.nonce,
                &case.encrypt,
                &case.msg_signature
            ),
            "{}",
            case.name
        );
    }
}

#[test]
fn official_doc_examples_decrypt_and_re_encrypt_byte_for_byte() {
    for case in vectors().official_doc_examples {
        let name = &case.name;
        assert!(
            signature::verify_msg_signature(
                &case.token,
                &case.timestamp,
                &case.nonce,
                &case.encrypt,
                &case.msg_signature
            ),
            "{name}"
        );
        let crypt = MessageCrypt::new(&case.appid, key(&case.encoding_aes_key), None);
        let decrypted = crypt.decrypt(&case.encrypt).expect("doc example decrypts");
        assert_eq!(decrypted.plaintext, case.plaintext, "{name}");
        assert_eq!(decrypted.key, KeySlot::Current, "{name}");
        assert_eq!(case.plaintext.len(), case.msg_len, "{name}");
        assert_frame_lengths(
            name,
            &case.encrypt,
            &case.appid,
            &case.plaintext,
            case.pad_len,
        );
        let sealed =
            crypt.encrypt_with_random(KeySlot::Current, &case.plaintext, random(&case.random_hex));
        assert_eq!(sealed, case.encrypt, "{name}");
    }
}

#[test]
fn official_doc_inbound_json_parses_as_an_unknown_event() {
    let cases = vectors().official_doc_examples;
    let case = cases
        .iter()
        .find(|c| c.name == "official_doc_inbound_json")
        .expect("inbound doc example present");
    let inbound = Inbound::parse(&case.plaintext).expect("doc JSON parses");
    assert_eq!(inbound.to_user_name, "gh_97417a04a28d");
    assert_eq!(inbound.create_time, 1714112445);
    assert_eq!(
        inbound.kind,
        InboundKind::Event(Event::Unknown {
            event: "debug_demo".into(),
            event_key: None
        })
    );
}

#[test]
fn decrypt_vectors_match_in_both_directions() {
    for case in vectors().decrypt {
        let name = &case.name;
        let aes_key = key(&case.encoding_aes_key);
        assert_eq!(hex::encode(aes_key.bytes()), case.aes_key_hex, "{name}");
        assert_eq!(hex::encode(aes_key.iv()), case.iv_hex, "{name}");
        let strict =
            base64::engine::general_purpose::STANDARD.decode(format!("{}=", case.encoding_aes_key));
        assert_eq!(
            strict.is_err(),
            case.encoding_aes_key_trailing_bits_nonzero,
            "{name}: trailing-bits flag"
        );

        assert!(
            signature::verify_msg_signature(
                &case.token,
                &case.timestamp,
                &case.nonce,
                &case.encrypt,
                &case.msg_signature
            ),
            "{name}"
        );

        let crypt = MessageCrypt::new(&case.appid, aes_key, None);
        let decrypted = crypt.decrypt(&case.encrypt).expect("vector decrypts");
        assert_eq!(decrypted.plaintext, case.plaintext_xml, "{name}");
        assert_eq!(case.plaintext_xml.len(), case.msg_len, "{name}");
        assert_eq!(
            case.frame_len_unpadded,
            20 + case.msg_len + case.appid.len(),
            "{name}"
        );
        assert_eq!(
            case.ciphertext_len,
            case.frame_len_unpadded + case.pad_len,
            "{name}"
        );
        assert_frame_lengths(
            name,
            &case.encrypt,
            &case.appid,
            &case.plaintext_xml,
            case.pad_len,
        );

        let random = random(&case.random_hex);
        let sealed = crypt.encrypt_with_random(KeySlot::Current, &case.plaintext_xml, random);
        assert_eq!(sealed, case.encrypt, "{name}");

        if let Some(expected) = &case.reply_envelope_xml {
            let timestamp: i64 = case.timestamp.parse().expect("numeric timestamp");
            let envelope = crypt.encrypted_reply_with_random(
                KeySlot::Current,
                &case.token,
                &case.plaintext_xml,
                timestamp,
                &case.nonce,
                random,
            );
            assert_eq!(&envelope, expected, "{name}");
        }

        if let Some(body) = &case.inbound_body_xml {
            let envelope = EncryptedEnvelope::parse(body)
                .expect("inbound body parses")
                .expect("inbound body has Encrypt");
            assert_eq!(envelope.encrypt, case.encrypt, "{name}");
            assert_eq!(
                envelope.to_user_name.as_deref(),
                Some("gh_1a2b3c4d5e6f"),
                "{name}"
            );
        }

        let inbound = Inbound::parse(&case.plaintext_xml).expect("decrypted payload parses");
        let format_is_json = case.plaintext_format == "json";
        assert_eq!(
            format_is_json,
            case.plaintext_xml.starts_with('{'),
            "{name}"
        );
        assert!(!inbound.from_user_name.is_empty(), "{name}");
    }
}

#[test]
fn decrypted_text_vectors_keep_their_content() {
    let cases = vectors().decrypt;
    let case = cases
        .iter()
        .find(|c| c.name == "chinese_text_with_emoji")
        .expect("emoji case present");
    let inbound = Inbound::parse(&case.plaintext_xml).expect("parses");
    assert_eq!(
        inbound.kind,
        InboundKind::Text {
            content: "给第42号作品投票 👍🎉 谢谢！".into(),
            msg_id: 7250021412600020992,
            msg_data_id: None,
            idx: None,
        }
    );
}

#[test]
fn miniprogram_media_check_json_vector_parses_with_its_trace_id() {
    let cases = vectors().decrypt;
    let case = cases
        .iter()
        .find(|c| c.name == "miniprogram_wxa_media_check_json")
        .expect("media check case present");
    let inbound = Inbound::parse(&case.plaintext_xml).expect("parses");
    let InboundKind::Event(Event::WxaMediaCheck {
        appid,
        trace_id,
        version,
        suggest,
        label,
        detail,
        errcode,
        errmsg,
    }) = &inbound.kind
    else {
        panic!("not a media check: {:?}", inbound.kind)
    };
    assert_eq!(appid, "wxd4b2f38c9e1a7b60");
    assert_eq!(trace_id, "60f96f1d-3845297a-1976a3ae");
    assert_eq!(*version, Some(2));
    assert_eq!(suggest.as_deref(), Some("risky"));
    assert_eq!(*label, Some(20002));
    assert_eq!(*errcode, 0);
    assert_eq!(errmsg, "ok");
    assert_eq!(detail.len(), 1);
    assert_eq!(detail[0].strategy, "content_model");
    assert_eq!(detail[0].label, Some(20002));
    assert_eq!(detail[0].prob.as_deref(), Some("90"));
    assert_eq!(
        inbound.dedup_key(),
        "evt:o4_t144jTUSEoxydysUA2E234_tc|1626959646|wxa_media_check||60f96f1d-3845297a-1976a3ae"
    );
}

#[test]
fn decrypt_vectors_also_decrypt_as_the_previous_key_during_rotation() {
    let stranger = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    for case in vectors().decrypt {
        if case.encoding_aes_key == stranger {
            continue;
        }
        let crypt = MessageCrypt::new(
            &case.appid,
            key(stranger),
            Some(key(&case.encoding_aes_key)),
        );
        let decrypted = crypt.decrypt(&case.encrypt).expect("previous key decrypts");
        assert_eq!(decrypted.key, KeySlot::Previous, "{}", case.name);
        assert_eq!(decrypted.plaintext, case.plaintext_xml, "{}", case.name);
    }
}

#[test]
fn bad_vectors_fail_at_exactly_their_stage() {
    for case in vectors().bad {
        let name = &case.name;
        let signed = signature::verify_msg_signature(
            &case.token,
            &case.timestamp,
            &case.nonce,
            &case.encrypt,
            &case.msg_signature,
        );
        assert_eq!(signed, case.signature_valid, "{name}");
        if case.stage == "signature" {
            assert!(!signed, "{name}");
            continue;
        }
        assert!(signed, "{name}");
        let err = match EncodingAesKey::parse(&case.encoding_aes_key) {
            Err(err) => err,
            Ok(aes_key) => MessageCrypt::new(&case.appid, aes_key, None)
                .decrypt(&case.encrypt)
                .expect_err(name),
        };
        assert_eq!(err.stage(), case.stage, "{name}: {err}");
    }
}

#[test]
fn xml_vectors_parse_to_their_exact_fields() {
    for case in vectors().xml {
        let name = &case.name;
        let inbound = Inbound::from_xml(&case.xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut expected = case.fields.clone();
        for (event, field) in DROPPED_EMPTY_FIELDS {
            if expected.get("Event").and_then(Value::as_str) == Some(event) {
                let dropped = expected.remove(field);
                assert_eq!(dropped, Some(json!("")), "{name}: dropped {field} is empty");
            }
        }
        assert_eq!(
            Value::Object(field_map(&inbound)),
            Value::Object(expected),
            "{name}"
        );
    }
}

#[test]
fn xml_vectors_dedup_keys_follow_the_vector_kind() {
    for case in vectors().xml {
        let name = &case.name;
        let inbound = Inbound::from_xml(&case.xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = inbound.dedup_key();
        let prefix = match case.dedup_key.kind.as_str() {
            "MsgId" => format!("msg:{}|", case.dedup_key.value),
            "FromUserName+CreateTime" => format!("evt:{}|", case.dedup_key.value),
            other => panic!("{name}: unknown dedup kind {other}"),
        };
        assert!(ours.starts_with(&prefix), "{name}: {ours} vs {prefix}");
    }
}

#[test]
fn xml_vectors_have_distinct_dedup_keys() {
    let keys: std::collections::BTreeSet<String> = vectors()
        .xml
        .iter()
        .map(|case| Inbound::from_xml(&case.xml).expect("parses").dedup_key())
        .collect();
    assert_eq!(keys.len(), vectors().xml.len());
}

/// Renders a parsed push back into the vectors' field map: strings as sent, lists as arrays.
fn field_map(inbound: &Inbound) -> Map<String, Value> {
    let mut map = Map::new();
    put(&mut map, "ToUserName", &inbound.to_user_name);
    put(&mut map, "FromUserName", &inbound.from_user_name);
    put(&mut map, "CreateTime", inbound.create_time);
    put(&mut map, "MsgType", inbound.kind.msg_type());
    match &inbound.kind {
        InboundKind::Text {
            content,
            msg_id,
            msg_data_id,
            idx,
        } => {
            put(&mut map, "Content", content);
            put(&mut map, "MsgId", msg_id);
            put_opt(&mut map, "MsgDataId", msg_data_id);
            put_opt(&mut map, "Idx", idx);
        }
        InboundKind::Image {
            pic_url,
            media_id,
            msg_id,
        } => {
            put(&mut map, "PicUrl", pic_url);
            put(&mut map, "MediaId", media_id);
            put(&mut map, "MsgId", msg_id);
        }
        InboundKind::Voice {
            media_id,
            format,
            media_id_16k,
            recognition,
            msg_id,
        } => {
            put(&mut map, "MediaId", media_id);
            put(&mut map, "Format", format);
            put_opt(&mut map, "MediaId16K", media_id_16k);
            put_opt(&mut map, "Recognition", recognition);
            put(&mut map, "MsgId", msg_id);
        }
        InboundKind::Video {
            media_id,
            thumb_media_id,
            msg_id,
        }
        | InboundKind::ShortVideo {
            media_id,
            thumb_media_id,
            msg_id,
        } => {
            put(&mut map, "MediaId", media_id);
            put(&mut map, "ThumbMediaId", thumb_media_id);
            put(&mut map, "MsgId", msg_id);
        }
        InboundKind::Location {
            x,
            y,
            scale,
            label,
            msg_id,
        } => {
            put(&mut map, "Location_X", x);
            put(&mut map, "Location_Y", y);
            put(&mut map, "Scale", scale);
            put(&mut map, "Label", label);
            put(&mut map, "MsgId", msg_id);
        }
        InboundKind::Link {
            title,
            description,
            url,
            msg_id,
        } => {
            put(&mut map, "Title", title);
            put(&mut map, "Description", description);
            put(&mut map, "Url", url);
            put(&mut map, "MsgId", msg_id);
        }
        InboundKind::Event(event) => event_fields(&mut map, event),
        InboundKind::Unknown { msg_id, .. } => put_opt(&mut map, "MsgId", msg_id),
    }
    map
}

fn event_fields(map: &mut Map<String, Value>, event: &Event) {
    put(map, "Event", event.name());
    match event {
        Event::Subscribe { event_key, ticket } => {
            put_opt(map, "EventKey", event_key);
            put_opt(map, "Ticket", ticket);
        }
        Event::Unsubscribe => {}
        Event::Scan { event_key, ticket } => {
            put(map, "EventKey", event_key);
            put_opt(map, "Ticket", ticket);
        }
        Event::Location {
            latitude,
            longitude,
            precision,
        } => {
            put(map, "Latitude", latitude);
            put(map, "Longitude", longitude);
            put(map, "Precision", precision);
        }
        Event::Click { key } => put(map, "EventKey", key),
        Event::View { url, menu_id } => {
            put(map, "EventKey", url);
            put_opt(map, "MenuId", menu_id);
        }
        Event::TemplateSendJobFinish { msg_id, status } => {
            put(map, "MsgID", msg_id);
            put(map, "Status", status);
        }
        Event::SubscribeMsgPopup(items) => {
            put_list(map, "SubscribeMsgPopupEvent", subscribe_rows(items))
        }
        Event::SubscribeMsgChange(items) => {
            put_list(map, "SubscribeMsgChangeEvent", subscribe_rows(items));
        }
        Event::SubscribeMsgSent(items) => put_list(map, "SubscribeMsgSentEvent", sent_rows(items)),
        Event::WxaMediaCheck { .. } => panic!("no XML vector for wxa_media_check"),
        Event::Unknown { event_key, .. } => put_opt(map, "EventKey", event_key),
    }
}

fn subscribe_rows(items: &[SubscribeItem]) -> Vec<Value> {
    items
        .iter()
        .map(|item| {
            let mut row = Map::new();
            put(&mut row, "TemplateId", &item.template_id);
            put(&mut row, "SubscribeStatusString", &item.status);
            put_opt(&mut row, "PopupScene", &item.popup_scene);
            Value::Object(row)
        })
        .collect()
}

fn sent_rows(items: &[SentItem]) -> Vec<Value> {
    items
        .iter()
        .map(|item| {
            let mut row = Map::new();
            put(&mut row, "TemplateId", &item.template_id);
            put(&mut row, "MsgID", item.msg_id);
            put(&mut row, "ErrorCode", item.error_code);
            put(&mut row, "ErrorStatus", &item.error_status);
            Value::Object(row)
        })
        .collect()
}

fn put(map: &mut Map<String, Value>, field: &str, value: impl ToString) {
    map.insert(field.to_owned(), Value::String(value.to_string()));
}

fn put_opt<T: std::fmt::Display>(map: &mut Map<String, Value>, field: &str, value: &Option<T>) {
    if let Some(value) = value {
        put(map, field, value);
    }
}

fn put_list(map: &mut Map<String, Value>, container: &str, rows: Vec<Value>) {
    map.insert(container.to_owned(), json!({ "List": rows }));
}
