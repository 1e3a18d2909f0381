//! Pure types and rules, no I/O.

pub mod role;
pub mod token;
