//! Background workers: the job worker, the outbox sender and the inbox; what a job is lives in
//! `domain::job`.

pub mod inbox;
pub mod outbox;
pub mod sandbox;
pub mod worker;

use std::{future::Future, time::Duration};

use sea_orm::DbErr;
use tokio::sync::watch;

/// Runs `round` until `stop` turns true; after a round that found nothing to do (or failed,
/// which is logged as `what`), waits `poll` or until the stop.
pub(crate) async fn poll_until_stopped<F, Fut>(
    what: &'static str,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, DbErr>>,
{
    loop {
        if *stop.borrow() {
            break;
        }
        let busy = match round().await {
            Ok(n) => n > 0,
            Err(err) => {
                tracing::warn!(error = %err, "{what} poll failed");
                false
            }
        };
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    }
    tracing::info!("{what} stopped");
}
