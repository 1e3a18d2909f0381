//! Admin JSON API, one file per resource.

pub mod awards;
pub mod campaign;
pub mod export;
pub mod notifications;
pub mod scores;
pub mod stats;
pub mod tokens;
pub mod votes;
pub mod works;
