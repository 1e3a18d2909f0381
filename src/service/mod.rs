//! Use cases: load → decide (domain) → store; transactions are opened here.

pub mod admin_tokens;
pub mod auth;
pub mod awards;
pub mod callback;
pub mod campaign;
pub mod chat;
pub mod export;
pub mod health;
pub mod jury;
pub mod listing;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod people;
pub mod rankings;
pub mod rate;
pub mod review;
pub mod stats;
pub mod uploads;
pub mod vote_audit;
pub mod votes;
pub mod works;
