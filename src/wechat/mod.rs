//! WeChat server protocol: signatures, message crypto, inbound parsing and passive replies.

pub mod client;
pub mod crypto;
pub mod inbound;
pub mod push;
pub mod reply;
pub mod sandbox;
pub mod signature;

#[cfg(test)]
mod vector_tests;
