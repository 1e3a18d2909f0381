//! wangju (网聚): the backend of trade-union WeChat campaigns.

pub mod campaign;
pub mod cli;
pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod repo;
pub mod routes;
pub mod service;
pub mod settings;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod wechat;
