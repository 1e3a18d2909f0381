//! Opaque bearer tokens: generated with 256 bits of randomness, stored only as a hash.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// A freshly generated bearer token, shown once to its owner.
pub struct PlainToken(String);

impl PlainToken {
    /// 32 random bytes, URL-safe base64, with a prefix telling what the token is for.
    pub fn generate(prefix: &str) -> Self {
        let bytes: [u8; 32] = rand::rng().random();
        Self(format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The token text, to print or return once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The hash that is stored instead of the token.
    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

impl std::fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

/// sha256 hex of a presented token; the lookup key in the database.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_distinct_and_hash_stably() {
        let a = PlainToken::generate("wja");
        let b = PlainToken::generate("wja");
        assert_ne!(a.reveal(), b.reveal());
        assert!(a.reveal().starts_with("wja_"));
        assert_eq!(a.reveal().len(), 4 + 43);
        assert_eq!(a.hash(), hash_token(a.reveal()));
        assert_eq!(a.hash().len(), 64);
        assert!(!format!("{a:?}").contains(a.reveal()));
    }
}
