//! The migrator's command line, as `sea-orm-cli migrate ...` expects it in `migration/`:
//! `status`, `up`, `down [-n N]`, `fresh`, `refresh`, `reset`, with `-u URL` or `DATABASE_URL`.
//! `wangju migrate` (what `serve` runs on start) is the way in production: it also takes
//! PostgreSQL's advisory lock, so two instances never apply the same migration at once.

#[tokio::main]
async fn main() {
    sea_orm_migration::cli::run_cli(migration::Migrator).await;
}
