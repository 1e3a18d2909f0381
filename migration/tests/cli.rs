//! The `migration` binary that `sea-orm-cli migrate` runs, on a fresh SQLite file.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn migrate(url: &str, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_migration"))
        .args(args)
        .args(["-u", url])
        .env_clear()
        .output()
        .expect("the migration binary runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn status_up_and_down_work_as_sea_orm_cli_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());

    let before = text(&migrate(&url, &["status"]));
    assert!(
        before.contains("m20261127_000001_create_admin_tokens") && before.contains("Pending"),
        "{before}"
    );

    migrate(&url, &["up"]);
    let applied = text(&migrate(&url, &["status"]));
    assert!(!applied.contains("Pending"), "{applied}");

    migrate(&url, &["down", "-n", "1"]);
    let rolled_back = text(&migrate(&url, &["status"]));
    assert_eq!(
        rolled_back.matches("Pending").count(),
        1,
        "exactly the newest migration is pending again: {rolled_back}"
    );
}
