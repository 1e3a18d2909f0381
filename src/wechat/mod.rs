pub mod client;
pub mod sandbox;
