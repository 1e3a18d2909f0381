//! WeChat callback signatures: `sha1_hex` over the byte-wise sorted, concatenated parts.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Returns the parts in the order WeChat signs them: sorted by UTF-8 bytes, never numerically.
pub fn sorted_parts<'a>(parts: &[&'a str]) -> Vec<&'a str> {
    let mut sorted = parts.to_vec();
    // `str`'s `Ord` compares bytes, which is exactly WeChat's rule ("100" < "1000" < "99").
    sorted.sort_unstable();
    sorted
}

/// Signs the parts: sort byte-wise, concatenate, SHA-1, lowercase hex.
pub fn sign(parts: &[&str]) -> String {
    let mut hasher = Sha1::new();
    for part in sorted_parts(parts) {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Checks `given` against [`sign`] in constant time; only the exact lowercase hex is accepted.
pub fn verify(parts: &[&str], given: &str) -> bool {
    let expected = sign(parts);
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Checks the `signature` query parameter of a GET verification or a plain-mode POST.
pub fn verify_signature(token: &str, timestamp: &str, nonce: &str, signature: &str) -> bool {
    verify(&[token, timestamp, nonce], signature)
}

/// Checks the `msg_signature` query parameter of an `encrypt_type=aes` POST.
pub fn verify_msg_signature(
    token: &str,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
    msg_signature: &str,
) -> bool {
    verify(&[token, timestamp, nonce, encrypt], msg_signature)
}

/// Computes the `msg_signature` WeChat expects on an encrypted reply or request.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    sign(&[token, timestamp, nonce, encrypt])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_sorts_numeric_strings_by_bytes_not_by_value() {
        assert_eq!(sorted_parts(&["99", "100", "1000"]), ["100", "1000", "99"]);
    }

    #[test]
    fn sign_does_not_depend_on_the_order_of_the_parts() {
        assert_eq!(sign(&["a", "b", "c"]), sign(&["c", "a", "b"]));
    }

    #[test]
    fn sign_of_nothing_is_the_sha1_of_the_empty_string() {
        assert_eq!(sign(&[]), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn verify_rejects_a_truncated_or_padded_signature() {
        let good = sign(&["t", "1", "2"]);
        assert!(verify(&["t", "1", "2"], &good));
        assert!(!verify(&["t", "1", "2"], &good[..39]));
        assert!(!verify(&["t", "1", "2"], &format!("{good} ")));
        assert!(!verify(&["t", "1", "2"], ""));
    }

    #[test]
    fn verify_rejects_uppercase_hex() {
        let good = sign(&["t", "1", "2"]);
        assert!(!verify(&["t", "1", "2"], &good.to_uppercase()));
    }

    #[test]
    fn verify_signature_accepts_the_platform_get_sample() {
        assert!(verify_signature(
            "AAAAA",
            "1714036504",
            "1514711492",
            "f464b24fc39322e44b38aa78f5edd27bd1441696"
        ));
    }

    #[test]
    fn msg_signature_agrees_with_verify_msg_signature() {
        let sig = msg_signature("tok", "1", "2", "enc");
        assert!(verify_msg_signature("tok", "1", "2", "enc", &sig));
        assert!(!verify_msg_signature("tok", "1", "2", "enc2", &sig));
    }
}
