//! Use cases: load → decide (domain) → store; transactions are opened here.

pub mod admin_tokens;
pub mod health;
