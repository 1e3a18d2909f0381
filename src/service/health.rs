//! Readiness: can this process do its work right now.

use std::time::Duration;

use sea_orm::DatabaseConnection;

/// Pings the database within a short deadline; the error text says what failed.
pub async fn database_ready(db: &DatabaseConnection) -> Result<(), String> {
    match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database ping failed");
            Err("database unreachable".to_owned())
        }
        Err(_) => Err("database ping timed out".to_owned()),
    }
}
