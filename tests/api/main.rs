//! The one integration-test binary: black-box tests over HTTP against the real app.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_wechat;
mod helpers;
// The MP4 builder the unit tests use, shared as source (it needs only std).
#[path = "../../src/storage/mp4_fixture.rs"]
mod mp4_fixture;

mod admin_tokens;
mod auth;
mod callback;
mod campaigns;
mod durability;
mod exports;
mod forgery;
mod health;
mod input_bounds;
mod interop;
mod jury;
mod limits;
mod migrations;
mod notifications;
mod process;
mod push;
mod s3;
mod uploads;
mod votes;
mod wechat_client;
mod works;
