//! Safe-mode message crypto: AES-256-CBC over `random(16) | len | msg | appid`, PKCS#7 to 32 bytes.

use std::fmt;
use std::str::FromStr;

use aes::Aes256;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::array::Array;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use rand::RngExt as _;

use super::reply::{push_cdata_element, push_number_element};
use super::signature;

/// Length of an EncodingAESKey as shown in the console.
const ENCODING_AES_KEY_LEN: usize = 43;
/// AES block size; ciphertext must be a whole number of these.
const AES_BLOCK: usize = 16;
/// WeChat's PKCS#7 block: 32 bytes, not AES's 16.
const PAD_BLOCK: usize = 32;
/// Random prefix length of the plaintext frame.
const RANDOM_LEN: usize = 16;
/// Random prefix plus the big-endian `u32` message length.
const HEADER_LEN: usize = RANDOM_LEN + 4;

/// Standard alphabet with canonical padding, but tolerant of the 2 spare bits a 43-char key carries.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Why a key could not be parsed or a message could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The EncodingAESKey is not 43 base64 characters.
    #[error("EncodingAESKey must be 43 base64 characters")]
    Key,
    /// The Encrypt text is empty or not base64.
    #[error("Encrypt is empty or not valid base64")]
    Base64,
    /// The ciphertext length is not a multiple of the AES block.
    #[error("ciphertext length {0} is not a non-zero multiple of 16")]
    Aes(usize),
    /// The PKCS#7 padding (32-byte block) is malformed.
    #[error("bad PKCS#7 padding")]
    Padding,
    /// The decrypted frame is too short or declares a message longer than it holds.
    #[error("bad plaintext frame")]
    Frame,
    /// The receiver id after the message is not our appid.
    #[error("receiver id does not match our appid")]
    Appid,
    /// The message is not UTF-8.
    #[error("message is not valid UTF-8")]
    Utf8,
}

impl CryptoError {
    /// The check that failed, named as in the test vectors' `stage` field.
    pub fn stage(&self) -> &'static str {
        match self {
            CryptoError::Key => "key",
            CryptoError::Base64 => "base64",
            CryptoError::Aes(_) => "aes",
            CryptoError::Padding => "padding",
            CryptoError::Frame => "frame",
            CryptoError::Appid => "appid",
            CryptoError::Utf8 => "utf8",
        }
    }
}

/// A parsed EncodingAESKey: the 32-byte AES key; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodingAesKey([u8; 32]);

impl EncodingAesKey {
    /// Parses the 43-character console value (base64 of the key without its `=`).
    pub fn parse(encoded: &str) -> Result<Self, CryptoError> {
        if encoded.len() != ENCODING_AES_KEY_LEN {
            return Err(CryptoError::Key);
        }
        let mut padded = String::with_capacity(ENCODING_AES_KEY_LEN + 1);
        padded.push_str(encoded);
        padded.push('=');
        let bytes = LENIENT.decode(padded).map_err(|_| CryptoError::Key)?;
        bytes.try_into().map(Self).map_err(|_| CryptoError::Key)
    }

    /// A fresh random key in the 43-character console form, for a sandbox or a new account.
    pub fn generate() -> String {
        let key: [u8; 32] = rand::rng().random();
        let mut encoded = LENIENT.encode(key);
        encoded.pop(); // the console form drops base64's single `=`
        encoded
    }

    /// The AES-256 key.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The CBC IV: the first 16 key bytes.
    pub(crate) fn iv(&self) -> [u8; AES_BLOCK] {
        let mut iv = [0; AES_BLOCK];
        iv.copy_from_slice(&self.0[..AES_BLOCK]);
        iv
    }
}

impl FromStr for EncodingAesKey {
    type Err = CryptoError;

    fn from_str(encoded: &str) -> Result<Self, Self::Err> {
        Self::parse(encoded)
    }
}

impl fmt::Debug for EncodingAesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncodingAesKey(<redacted>)")
    }
}

/// Which configured key decrypted a request, so the reply can use the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlot {
    /// The current EncodingAESKey.
    Current,
    /// The previous EncodingAESKey, kept during a key rotation.
    Previous,
}

/// A successfully decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The message (XML or JSON, as configured in the console).
    pub plaintext: String,
    /// The key that decrypted it.
    pub key: KeySlot,
}

/// Encrypts and decrypts safe-mode messages for one appid, with an optional previous key.
#[derive(Clone)]
pub struct MessageCrypt {
    appid: String,
    current: EncodingAesKey,
    previous: Option<EncodingAesKey>,
}

impl fmt::Debug for MessageCrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageCrypt")
            .field("appid", &self.appid)
            .field("current", &self.current)
            .field("previous", &self.previous)
            .finish()
    }
}

impl MessageCrypt {
    /// Creates a crypt for `appid` (the receiver id; a component appid for a third-party platform).
    pub fn new(
        appid: impl Into<String>,
        current: EncodingAesKey,
        previous: Option<EncodingAesKey>,
    ) -> Self {
        Self {
            appid: appid.into(),
            current,
            previous,
        }
    }

    /// The appid messages must be addressed to.
    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// Decrypts an `Encrypt` value with the current key, then the previous one.
    ///
    /// Check `msg_signature` first. If every key fails, the current key's error is returned.
    pub fn decrypt(&self, encrypt: &str) -> Result<Decrypted, CryptoError> {
        let ciphertext = decode_ciphertext(encrypt)?;
        let first = match self.decrypt_with(&self.current, &ciphertext) {
            Ok(plaintext) => {
                return Ok(Decrypted {
                    plaintext,
                    key: KeySlot::Current,
                });
            }
            Err(err) => err,
        };
        match &self.previous {
            Some(previous) => match self.decrypt_with(previous, &ciphertext) {
                Ok(plaintext) => Ok(Decrypted {
                    plaintext,
                    key: KeySlot::Previous,
                }),
                Err(_) => Err(first),
            },
            None => Err(first),
        }
    }

    /// Encrypts with a random 16-byte prefix; returns the base64 `Encrypt` value.
    pub fn encrypt(&self, key: KeySlot, plaintext: &str) -> String {
        self.encrypt_with_random(key, plaintext, random_prefix())
    }

    /// Encrypts with the given random prefix (deterministic, for known-answer tests).
    ///
    /// [`KeySlot::Previous`] without a previous key uses the current key.
    pub fn encrypt_with_random(&self, key: KeySlot, plaintext: &str, random: [u8; 16]) -> String {
        let key = self.key(key);
        let mut buf = frame(&random, plaintext.as_bytes(), self.appid.as_bytes());
        let mut cipher = cbc::Encryptor::<Aes256>::new(key.bytes().into(), &key.iv().into());
        let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
        cipher.encrypt_blocks(blocks);
        LENIENT.encode(buf)
    }

    /// Builds the encrypted reply envelope with a random prefix.
    pub fn encrypted_reply(
        &self,
        key: KeySlot,
        token: &str,
        plaintext: &str,
        timestamp: i64,
        nonce: &str,
    ) -> String {
        self.encrypted_reply_with_random(key, token, plaintext, timestamp, nonce, random_prefix())
    }

    /// Builds `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>` with the given prefix.
    pub fn encrypted_reply_with_random(
        &self,
        key: KeySlot,
        token: &str,
        plaintext: &str,
        timestamp: i64,
        nonce: &str,
        random: [u8; 16],
    ) -> String {
        let encrypt = self.encrypt_with_random(key, plaintext, random);
        let signature = signature::msg_signature(token, &timestamp.to_string(), nonce, &encrypt);
        // Same layout as the platform's samples: one element per line.
        let mut out = String::with_capacity(encrypt.len() + 160);
        out.push_str("<xml>\n");
        push_cdata_element(&mut out, "Encrypt", &encrypt);
        out.push('\n');
        push_cdata_element(&mut out, "MsgSignature", &signature);
        out.push('\n');
        push_number_element(&mut out, "TimeStamp", timestamp);
        out.push('\n');
        push_cdata_element(&mut out, "Nonce", nonce);
        out.push_str("\n</xml>");
        out
    }

    fn key(&self, slot: KeySlot) -> &EncodingAesKey {
        match (slot, &self.previous) {
            (KeySlot::Previous, Some(previous)) => previous,
            _ => &self.current,
        }
    }

    fn decrypt_with(&self, key: &EncodingAesKey, ciphertext: &[u8]) -> Result<String, CryptoError> {
        let mut buf = ciphertext.to_vec();
        let mut cipher = cbc::Decryptor::<Aes256>::new(key.bytes().into(), &key.iv().into());
        let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
        cipher.decrypt_blocks(blocks);
        let unpadded = unpad(&buf)?;
        let (message, receiver) = split_frame(unpadded)?;
        if receiver != self.appid.as_bytes() {
            return Err(CryptoError::Appid);
        }
        String::from_utf8(message.to_vec()).map_err(|_| CryptoError::Utf8)
    }
}

/// A random nonce for our own encrypted replies: decimal digits, like WeChat's.
pub fn random_nonce() -> String {
    rand::rng().random::<u32>().to_string()
}

fn random_prefix() -> [u8; RANDOM_LEN] {
    rand::rng().random()
}

/// Base64-decodes and checks the AES block multiple; an empty value fails as base64.
fn decode_ciphertext(encrypt: &str) -> Result<Vec<u8>, CryptoError> {
    let ciphertext = LENIENT.decode(encrypt).map_err(|_| CryptoError::Base64)?;
    if ciphertext.is_empty() {
        return Err(CryptoError::Base64);
    }
    if ciphertext.len() % AES_BLOCK != 0 {
        return Err(CryptoError::Aes(ciphertext.len()));
    }
    Ok(ciphertext)
}

/// Builds `random | len | msg | appid | padding`, a multiple of 32 bytes.
fn frame(random: &[u8; RANDOM_LEN], message: &[u8], appid: &[u8]) -> Vec<u8> {
    let unpadded = HEADER_LEN + message.len() + appid.len();
    let pad = PAD_BLOCK - unpadded % PAD_BLOCK;
    let mut buf = Vec::with_capacity(unpadded + pad);
    buf.extend_from_slice(random);
    // WeChat messages are far below 4 GiB; saturating keeps this total without a panic path.
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(message);
    buf.extend_from_slice(appid);
    // `pad` is 1..=32, so the cast is lossless.
    buf.resize(unpadded + pad, pad as u8);
    buf
}

/// Strips PKCS#7 padding with a 32-byte block: 1..=32 bytes, all equal to their count.
fn unpad(buf: &[u8]) -> Result<&[u8], CryptoError> {
    let pad = usize::from(*buf.last().ok_or(CryptoError::Padding)?);
    if pad == 0 || pad > PAD_BLOCK || pad > buf.len() {
        return Err(CryptoError::Padding);
    }
    let (data, padding) = buf.split_at(buf.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::Padding);
    }
    Ok(data)
}

/// Splits `random | len | msg | receiver` into `(msg, receiver)`, with checked lengths.
fn split_frame(frame: &[u8]) -> Result<(&[u8], &[u8]), CryptoError> {
    let header = frame.get(..HEADER_LEN).ok_or(CryptoError::Frame)?;
    let len_bytes: [u8; 4] = header[RANDOM_LEN..]
        .try_into()
        .map_err(|_| CryptoError::Frame)?;
    let msg_len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| CryptoError::Frame)?;
    let msg_end = HEADER_LEN.checked_add(msg_len).ok_or(CryptoError::Frame)?;
    let message = frame.get(HEADER_LEN..msg_end).ok_or(CryptoError::Frame)?;
    Ok((message, &frame[msg_end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ELWIuNG2cD6SDYxKq6GcCJPuKePruKAERf3lWP9FRVY";
    const OTHER_KEY: &str = "9qghCk01hvOGjHFXGAEqi0NwoYQdlBJu7q22UdAYGSW";
    const APPID: &str = "wx7c3ed5a1f0b29e84";

    fn key(encoded: &str) -> EncodingAesKey {
        EncodingAesKey::parse(encoded).expect("valid key")
    }

    #[test]
    fn key_debug_output_is_redacted() {
        assert_eq!(format!("{:?}", key(KEY)), "EncodingAesKey(<redacted>)");
        let crypt = MessageCrypt::new(APPID, key(KEY), Some(key(OTHER_KEY)));
        assert!(!format!("{crypt:?}").contains(&hex::encode(key(KEY).bytes())));
    }

    #[test]
    fn key_parse_rejects_wrong_lengths_and_non_base64() {
        let non_ascii = format!("{}é", &KEY[..41]);
        assert_eq!(non_ascii.len(), 43);
        for bad in [
            KEY[..42].to_owned(),
            format!("{KEY}A"),
            format!("{KEY}="),
            String::new(),
            format!("{}*", &KEY[..42]),
            non_ascii,
        ] {
            let parsed = EncodingAesKey::parse(&bad);
            assert!(matches!(parsed, Err(CryptoError::Key)), "{bad:?}");
        }
    }

    #[test]
    fn key_parse_accepts_nonzero_trailing_bits() {
        assert!(
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
                .parse::<EncodingAesKey>()
                .is_ok()
        );
    }

    #[test]
    fn encrypt_then_decrypt_returns_the_plaintext_and_the_current_slot() {
        let crypt = MessageCrypt::new(APPID, key(KEY), None);
        let sealed = crypt.encrypt(KeySlot::Current, "<xml>hi 👋</xml>");
        let opened = crypt.decrypt(&sealed).expect("decrypts");
        assert_eq!(opened.plaintext, "<xml>hi 👋</xml>");
        assert_eq!(opened.key, KeySlot::Current);
    }

    #[test]
    fn decrypt_falls_back_to_the_previous_key_and_reports_it() {
        let old = MessageCrypt::new(APPID, key(OTHER_KEY), None);
        let sealed = old.encrypt(KeySlot::Current, "rotated");
        let rotated = MessageCrypt::new(APPID, key(KEY), Some(key(OTHER_KEY)));
        let opened = rotated.decrypt(&sealed).expect("previous key decrypts");
        assert_eq!(opened.key, KeySlot::Previous);
        assert_eq!(opened.plaintext, "rotated");
        let reply = rotated.encrypt(opened.key, "answer");
        assert_eq!(
            old.decrypt(&reply).expect("old key decrypts").plaintext,
            "answer"
        );
    }

    #[test]
    fn previous_slot_without_a_previous_key_encrypts_with_the_current_key() {
        let crypt = MessageCrypt::new(APPID, key(KEY), None);
        let random = [7; 16];
        assert_eq!(
            crypt.encrypt_with_random(KeySlot::Previous, "x", random),
            crypt.encrypt_with_random(KeySlot::Current, "x", random)
        );
    }

    #[test]
    fn decrypt_with_neither_key_reports_the_current_keys_failure() {
        let stranger = MessageCrypt::new(APPID, key(OTHER_KEY), None);
        let sealed = stranger.encrypt(KeySlot::Current, "x");
        let crypt = MessageCrypt::new("wx_other", key(OTHER_KEY), Some(key(KEY)));
        assert_eq!(crypt.decrypt(&sealed), Err(CryptoError::Appid));
    }

    #[test]
    fn every_frame_length_pads_to_a_multiple_of_32_and_round_trips() {
        let crypt = MessageCrypt::new(APPID, key(KEY), None);
        for len in 0..70 {
            let message = "m".repeat(len);
            let sealed = crypt.encrypt_with_random(KeySlot::Current, &message, [1; 16]);
            let raw = LENIENT.decode(&sealed).expect("base64");
            assert_eq!(raw.len() % PAD_BLOCK, 0, "len {len}");
            assert_eq!(crypt.decrypt(&sealed).expect("decrypts").plaintext, message);
        }
    }

    #[test]
    fn unpad_accepts_1_to_32_and_rejects_everything_else() {
        assert_eq!(unpad(&[9, 1]), Ok(&[9][..]));
        assert_eq!(unpad(&[32; 32]), Ok(&[][..]));
        assert_eq!(unpad(&[0; 32]), Err(CryptoError::Padding));
        assert_eq!(unpad(&[33; 64]), Err(CryptoError::Padding));
        assert_eq!(unpad(&[3, 2, 3]), Err(CryptoError::Padding));
        assert_eq!(unpad(&[5, 5]), Err(CryptoError::Padding));
        assert_eq!(unpad(&[]), Err(CryptoError::Padding));
    }

    #[test]
    fn split_frame_rejects_short_frames_and_overlong_lengths() {
        assert_eq!(split_frame(&[0; 19]), Err(CryptoError::Frame));
        let mut frame = vec![0; 16];
        frame.extend_from_slice(&u32::MAX.to_be_bytes());
        frame.extend_from_slice(b"abc");
        assert_eq!(split_frame(&frame), Err(CryptoError::Frame));
        let mut exact = vec![0; 16];
        exact.extend_from_slice(&3u32.to_be_bytes());
        exact.extend_from_slice(b"abcwx1");
        assert_eq!(split_frame(&exact), Ok((&b"abc"[..], &b"wx1"[..])));
    }

    #[test]
    fn decrypt_rejects_invalid_utf8_messages() {
        let crypt = MessageCrypt::new(APPID, key(KEY), None);
        let mut buf = frame(&[0; 16], &[0xff, 0xfe], APPID.as_bytes());
        let k = key(KEY);
        let mut cipher = cbc::Encryptor::<Aes256>::new(k.bytes().into(), &k.iv().into());
        let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
        cipher.encrypt_blocks(blocks);
        let err = crypt.decrypt(&LENIENT.encode(buf)).expect_err("not UTF-8");
        assert_eq!(err, CryptoError::Utf8);
        assert_eq!(err.stage(), "utf8");
    }

    #[test]
    fn decrypt_rejects_a_ciphertext_that_is_not_a_block_multiple() {
        let crypt = MessageCrypt::new(APPID, key(KEY), None);
        let err = crypt
            .decrypt(&LENIENT.encode([0u8; 17]))
            .expect_err("17 bytes");
        assert_eq!(err, CryptoError::Aes(17));
        assert_eq!(err.stage(), "aes");
    }

    #[test]
    fn a_generated_key_is_in_console_form_and_parses() {
        let one = EncodingAesKey::generate();
        assert_eq!(one.len(), ENCODING_AES_KEY_LEN);
        assert!(EncodingAesKey::parse(&one).is_ok(), "{one}");
        assert_ne!(one, EncodingAesKey::generate());
    }

    #[test]
    fn random_nonce_is_decimal_digits_and_varies() {
        let nonces: Vec<String> = (0..8).map(|_| random_nonce()).collect();
        assert!(
            nonces
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(nonces.iter().any(|n| n != &nonces[0]));
    }

    #[test]
    fn encrypted_reply_signature_covers_our_encrypt_timestamp_and_nonce() {
        let crypt = MessageCrypt::new(APPID, key(KEY), None);
        let xml = crypt.encrypted_reply(KeySlot::Current, "tok", "<xml/>", 1700000000, "123");
        let encrypt = between(&xml, "<Encrypt><![CDATA[", "]]></Encrypt>");
        let sig = between(&xml, "<MsgSignature><![CDATA[", "]]></MsgSignature>");
        assert!(signature::verify_msg_signature(
            "tok",
            "1700000000",
            "123",
            encrypt,
            sig
        ));
        assert_eq!(
            crypt.decrypt(encrypt).expect("decrypts").plaintext,
            "<xml/>"
        );
    }

    fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let from = text.find(start).expect("start marker") + start.len();
        let to = from + text[from..].find(end).expect("end marker");
        &text[from..to]
    }
}
