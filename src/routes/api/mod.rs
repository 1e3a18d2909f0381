//! Mini-program JSON API, one file per resource.

pub mod auth;
pub mod campaign;
pub mod people;
pub mod subscriptions;
pub mod uploads;
pub mod votes;
pub mod works;
