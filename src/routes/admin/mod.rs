//! Admin JSON API, one file per resource.

pub mod tokens;
