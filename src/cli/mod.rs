//! Command line: `serve` (default), `migrate`, `admin token`, `menu publish`, `simulate`.

mod menu;
mod simulate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{
    campaign::catalog::Catalog,
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
    /// The organising unit's code (as in the campaign file; its id works too), for the `unit`
    /// role.
    #[arg(long)]
    pub unit: Option<String>,
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
    #[error("{}", cli_message(.0))]
    App(#[from] crate::error::AppError),
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// A file or argument given to a command is unusable.
    #[error("{0}")]
    Input(String),
}

/// An application error as an operator at a terminal reads it: the cause, without the HTTP
/// answer's wording ("请求格式有误：").
fn cli_message(err: &crate::error::AppError) -> String {
    use crate::error::AppError;
    match err {
        AppError::BadRequest(message) => message.clone(),
        AppError::BadRequestFields(fields) | AppError::InvalidInput(fields) => fields
            .iter()
            .map(|(field, problem)| format!("{field}: {problem}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The id of the unit `code` names in a campaign (stored first if the server never ran); a
/// number that is no unit's code is taken as a unit's id, as the contract's `--unit <id>`.
async fn unit_id(
    conn: &sea_orm::DatabaseConnection,
    catalog: &Catalog,
    code: &str,
) -> Result<i64, CliError> {
    let units = catalog.files.iter().flat_map(|f| &f.campaign.units);
    let Some(unit) = units.clone().find(|u| u.code == code) else {
        if let Ok(id) = code.parse::<i64>()
            && crate::repo::units::find(conn, id)
                .await
                .map_err(crate::error::AppError::from)?
                .is_some()
        {
            return Ok(id);
        }
        let mut known: Vec<&str> = units.map(|u| u.code.as_str()).collect();
        known.sort_unstable();
        known.dedup();
        return Err(CliError::Input(format!(
            "no unit has the code `{code}`; the campaign's units: {}",
            known.join(", ")
        )));
    };
    crate::repo::units::upsert(conn, &unit.code, &unit.name)
        .await
        .map_err(crate::error::AppError::from)?;
    let stored = crate::repo::units::find_by_code(conn, code)
        .await
        .map_err(crate::error::AppError::from)?;
    stored
        .map(|u| u.id)
        .ok_or_else(|| CliError::Input(format!("unit `{code}` could not be stored")))
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
            let catalog = Catalog::load(&settings.campaigns, settings.default_campaign.as_deref())
                .map_err(|e| CliError::Input(e.to_string()))?;
            if let Some(keys) = &args.categories {
                let known = |key: &String| {
                    catalog
                        .files
                        .iter()
                        .any(|f| f.campaign.category(key).is_some())
                };
                if let Some(unknown) = keys.iter().find(|k| !known(k)) {
                    return Err(CliError::Input(format!("unknown category `{unknown}`")));
                }
            }
            let unit = match &args.unit {
                Some(code) => Some(unit_id(&conn, &catalog, code).await?),
                None => None,
            };
            let token = admin_tokens::issue_scoped(
                &conn,
                args.role,
                unit,
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
