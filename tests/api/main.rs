//! The one integration-test binary: black-box tests over HTTP against the real app.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_wechat;
mod helpers;

mod admin_tokens;
mod health;
mod migrations;
mod process;
mod wechat_client;
