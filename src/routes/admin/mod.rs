//! Admin JSON API, one file per resource.

pub mod awards;
pub mod campaign;
pub mod export;
pub mod jury;
pub mod notifications;
pub mod review;
pub mod stats;
pub mod tokens;
pub mod vote_audit;
