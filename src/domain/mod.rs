//! Pure types and rules, no I/O.

pub mod audience;
pub mod awards;
pub mod chat;
pub mod export;
pub mod fraud;
pub mod identity;
pub mod job;
pub mod listing;
pub mod moderation;
pub mod orphans;
pub mod role;
pub mod template;
pub mod text;
pub mod token;
pub mod units;
pub mod vote;
pub mod work;
