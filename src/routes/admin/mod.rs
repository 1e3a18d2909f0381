//! Admin JSON API, one file per resource.

pub mod campaign;
pub mod notifications;
pub mod tokens;
pub mod works;
