//! Command line: `serve` (default), `migrate`, `admin token`, `menu publish`, `simulate`.

mod menu;
mod simulate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{
    db,
    domain::role::Role,
    service::admin_tokens,
    settings::{DEFAULT_CONFIG_PATH, Settings},
    startup::{self, Application},
    telemetry,
};

/// wangju (网聚): backend of trade-union WeChat campaigns.
#[derive(Debug, Parser)]
#[command(name = "wangju", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(long, global = true, env = "WANGJU_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve HTTP until Ctrl-C or SIGTERM.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Official-account menu.
    #[command(subcommand)]
    Menu(MenuCommand),
    /// Send a signed (and encrypted) push to a running server, as WeChat would.
    Simulate(simulate::SimulateArgs),
}

/// `wangju menu ...`
#[derive(Debug, Subcommand)]
pub enum MenuCommand {
    /// Publish the menu file to the official account.
    Publish {
        /// The menu definition.
        #[arg(long, default_value = "wechat-config/menu.json")]
        file: PathBuf,
    },
}

/// `wangju admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a bearer token and print it once (only its hash is stored).
    Token(TokenArgs),
}

/// Arguments of `wangju admin token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// admin, reviewer, judge or unit.
    #[arg(long)]
    pub role: Role,
    /// The organising unit, for the `unit` role.
    #[arg(long)]
    pub unit: Option<i64>,
    /// For a judge: the category keys they score, comma-separated (default: every category).
    #[arg(long, value_delimiter = ',')]
    pub categories: Option<Vec<String>>,
    /// Who the token is for (shown in audit logs).
    #[arg(long, default_value = "")]
    pub label: String,
}

/// Anything that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Settings.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// Start-up.
    #[error(transparent)]
    Startup(#[from] startup::StartupError),
    /// Database set-up.
    #[error(transparent)]
    Db(#[from] db::DbSetupError),
    /// A service call.
    #[error("{0}")]
    App(#[from] crate::error::AppError),
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// A file or argument given to a command is unusable.
    #[error("{0}")]
    Input(String),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load(&cli.config)?;
    telemetry::init(settings.log_format, &settings.log_filter);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until(startup::shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            let conn = db::connect(&settings.database).await?;
            db::migrate(&conn).await?;
            tracing::info!("migrations applied");
        }
        Command::Admin(AdminCommand::Token(args)) => {
            let conn = db::connect(&settings.database).await?;
            db::migrate(&conn).await?;
            if let Some(keys) = &args.categories {
                let campaign = crate::campaign::Campaign::load(&settings.campaign_path)
                    .map_err(|e| CliError::Input(e.to_string()))?;
                if let Some(unknown) = keys.iter().find(|k| campaign.category(k).is_none()) {
                    return Err(CliError::Input(format!("unknown category `{unknown}`")));
                }
            }
            let token = admin_tokens::issue_scoped(
                &conn,
                args.role,
                args.unit,
                args.categories.as_deref(),
                &args.label,
            )
            .await?;
            // The one place a token is printed: stdout, once, for the operator to copy.
            println!("{}", token.reveal());
        }
        Command::Menu(MenuCommand::Publish { file }) => menu::publish(&settings, &file).await?,
        Command::Simulate(args) => simulate::run(&settings, args).await?,
    }
    Ok(())
}
