//! Reads settings one key at a time out of a figment, so that one pass finds every bad value.
//!
//! A key's environment variable is derived from it (`listen` ↔ `WANGJU_LISTEN`), so the
//! two spellings cannot drift apart; a key nobody asked for is an unknown setting.

use std::collections::{BTreeMap, BTreeSet};

use figment::{Figment, value::Value};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use super::SettingsError;

/// The environment variable that sets `key`.
pub fn env_name(key: &str) -> String {
    format!("WANGJU_{}", key.to_ascii_uppercase())
}

/// A figment being read, with the keys asked for and the problems found so far.
pub struct Reader<'a> {
    figment: &'a Figment,
    asked: BTreeSet<String>,
    problems: Vec<SettingsError>,
}

impl<'a> Reader<'a> {
    /// Starts reading `figment`.
    pub fn new(figment: &'a Figment) -> Self {
        Self {
            figment,
            asked: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// `key`'s value if it is set; a value of the wrong type is noted and read as unset.
    pub fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        self.asked.insert(key.to_owned());
        if !self.figment.contains(key) {
            return None;
        }
        // Lossy: numbers and booleans may come as text (the environment is all text).
        match self.figment.extract_inner_lossy::<T>(key) {
            Ok(value) => Some(value),
            Err(err) => {
                self.problem(key, err.kind.to_string());
                None
            }
        }
    }

    /// `key`'s value, or `default` when it is unset (or unreadable, which is noted).
    pub fn or<T: DeserializeOwned>(&mut self, key: &str, default: T) -> T {
        self.get(key).unwrap_or(default)
    }

    /// A text setting; an empty text counts as unset (an empty variable in a compose file).
    pub fn text(&mut self, key: &str) -> Option<String> {
        self.get::<String>(key).filter(|text| !text.is_empty())
    }

    /// A secret setting; empty counts as unset.
    pub fn secret(&mut self, key: &str) -> Option<SecretString> {
        self.get::<SecretString>(key)
            .filter(|secret| !secret.expose_secret().is_empty())
    }

    /// A count that must be at least 1, or `default`.
    pub fn positive(&mut self, key: &str, default: u64) -> u64 {
        match self.or(key, default) {
            0 => {
                self.problem(key, "must be greater than 0");
                default
            }
            n => n,
        }
    }

    /// The text at `key` (or `default`) turned into a value by `parse`, whose error is the
    /// reason; `fallback` stands in for a bad value so that reading can go on.
    pub fn parsed<T>(
        &mut self,
        key: &str,
        default: &str,
        fallback: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        let text = self.text(key).unwrap_or_else(|| default.to_owned());
        self.check(key, parse(&text)).unwrap_or(fallback)
    }

    /// `result`'s value, or `None` with its error noted as the problem of `key`.
    pub fn check<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|reason| self.problem(key, reason)).ok()
    }

    /// Notes that `key` holds a value that is not acceptable.
    pub fn problem(&mut self, key: &str, reason: impl Into<String>) {
        self.problems.push(SettingsError::Invalid {
            name: env_name(key),
            key: key.to_owned(),
            reason: reason.into(),
        });
    }

    /// Every problem found, after refusing the keys nobody asked for: one as itself, several
    /// as one error listing them all.
    pub fn finish(mut self) -> Result<(), SettingsError> {
        let given: BTreeMap<String, Value> = self.figment.extract().map_err(Box::new)?;
        for key in given.keys().filter(|key| !self.asked.contains(*key)) {
            self.problems.push(SettingsError::Unknown(key.clone()));
        }
        match self.problems.len() {
            0 => Ok(()),
            1 => Err(self.problems.remove(0)),
            _ => Err(SettingsError::Several(self.problems)),
        }
    }
}
