//! The command line: `serve` (default), `migrate`, `export-schema`, `create-admin`, `import`.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::error::ApiError;
use crate::service::accounts;
use crate::startup::Application;
use sea_orm::ActiveEnum;

use crate::{db, graphql, search, seed, telemetry};

/// Bildungsmarkt: a marketplace for continuing education — courses, qualification needs, matching.
///
/// Without a command it serves the GraphQL API. Configuration: defaults, then the TOML file given by
/// --config (or APP_CONFIG_FILE, or ./bildungsmarkt.toml), then environment variables (see README).
#[derive(Debug, Parser)]
#[command(name = "bildungsmarkt", version, propagate_version = true)]
pub struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// With `serve`: load the demo marketplace first (idempotent). Refused in production.
    #[arg(long, global = true)]
    pub demo: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations and serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo marketplace: providers, courses, offerings, firms, needs and their logins.
    /// Running it again adds nothing. Refused in production.
    SeedDemo,
    /// Rebuild the search index from the database without search downtime (a new index is built,
    /// then swapped in). With the embedded index, stop the server first: it holds the index.
    Reindex,
    /// Compare the database with the search index; exit non-zero on drift, listing the ids.
    SearchCheck,
    /// Write the GraphQL schema (SDL) to a file.
    ExportSchema {
        /// Where to write it.
        #[arg(long, short, default_value = "schema.graphql")]
        output: PathBuf,
        /// Do not write; exit non-zero when the file differs from the live schema.
        #[arg(long)]
        check: bool,
    },
    /// Import a provider's catalogue file: OpenQCAT 1.1 (full or delta) or the CSV template. Prints a
    /// progress bar and the report; the run is also in the provider's import history. Exits non-zero
    /// when the file was rejected or the run stopped.
    Import {
        /// `openqcat` or `csv`.
        format: ImportFileFormat,
        /// The catalogue file.
        file: PathBuf,
        /// The provider's slug.
        #[arg(long)]
        provider: String,
        /// Check and count everything, keep nothing.
        #[arg(long)]
        dry_run: bool,
        /// Publish the courses the file lists that pass the publish rules.
        #[arg(long)]
        publish: bool,
    },
    /// Export a provider's PUBLISHED courses (with --drafts its drafts too) as an OpenQCAT 1.1 full
    /// catalogue in ISO-8859-15.
    Export {
        /// `openqcat`.
        format: ExportFileFormat,
        #[arg(long)]
        provider: String,
        #[arg(long, short, default_value = "openqcat.xml")]
        output: PathBuf,
        #[arg(long)]
        drafts: bool,
    },
    /// Import skills from an ESCO download (the skills CSV of a language, e.g. skills_de.csv):
    /// existing skills with the same label get the ESCO URI and labels as synonyms, others are added
    /// in the category `esco`. Running it again changes nothing.
    ImportEsco { file: PathBuf },
    /// Write the CSV template's header line (UTF-8 with byte order mark, `;`) to a file.
    CsvTemplate {
        #[arg(long, short, default_value = "kurse-vorlage.csv")]
        output: PathBuf,
    },
    /// Grant the platform-admin role to an account, creating it when it does not exist.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Read the password of a new account from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Display name of a new account.
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFileFormat {
    Openqcat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ImportFileFormat {
    Openqcat,
    Csv,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::ExportSchema { output, check } = command {
        return export_schema(&output, check);
    }
    if let Command::CsvTemplate { output } = &command {
        std::fs::write(output, crate::exchange::csv::template())
            .with_context(|| format!("writing {}", output.display()))?;
        println!("wrote {}", output.display());
        return Ok(());
    }
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(settings.log_format);
    match command {
        Command::Serve => {
            if cli.demo {
                seed_demo(&settings).await?;
            }
            Application::build(settings).await?.run_until_stopped().await?
        }
        Command::Migrate => {
            prepared_database(&settings).await?;
            tracing::info!("migrations applied");
        }
        Command::SeedDemo => seed_demo(&settings).await?,
        Command::Reindex => {
            let db = prepared_database(&settings).await?;
            let backend = search::open_backend(&settings).await?;
            let started = std::time::Instant::now();
            // The head before reading: changes after it are applied by the workers as usual.
            let position = search::outbox::head(&db).await.map_err(describe)?;
            let documents = search::worker::all_documents(&db).await.map_err(describe)?;
            let count = documents.len();
            backend.rebuild(documents, Some(position)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if let search::PositionStore::Cursor(name) = backend.position_store() {
                search::outbox::set_cursor(&db, &name, position).await.map_err(describe)?;
            }
            println!(
                "reindexed {count} documents into the {} index in {:?}",
                backend.name(),
                started.elapsed()
            );
        }
        Command::SearchCheck => {
            let db = prepared_database(&settings).await?;
            let backend = search::open_backend(&settings).await?;
            let drift = search::check(&db, backend.as_ref()).await?;
            println!("{drift}");
            if !drift.is_clean() {
                bail!("the search index differs from the database");
            }
        }
        Command::CreateAdmin { email, password_stdin, display_name } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                std::env::var("BILDUNGSMARKT_ADMIN_PASSWORD").ok()
            };
            let db = prepared_database(&settings).await?;
            let user = accounts::create_admin(&db, &email, password, display_name).await.map_err(describe)?;
            println!("{} ({}) is a platform admin", user.email, user.id);
        }
        Command::Import { format, file, provider, dry_run, publish } => {
            let db = prepared_database(&settings).await?;
            import(&db, format, &file, &provider, dry_run, publish).await?;
        }
        Command::Export { format: ExportFileFormat::Openqcat, provider, output, drafts } => {
            let db = prepared_database(&settings).await?;
            let provider = provider_by_slug(&db, &provider).await?;
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&output).with_context(|| format!("creating {}", output.display()))?,
            );
            let exported = crate::exchange::openqcat_export::export(&db, &provider, drafts, &mut file)
                .await
                .map_err(describe)?;
            std::io::Write::flush(&mut file)?;
            println!(
                "wrote {} courses with {} offerings of {} to {}",
                exported.offers,
                exported.runs,
                provider.name,
                output.display()
            );
        }
        Command::ImportEsco { file } => {
            let db = prepared_database(&settings).await?;
            let opened = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let report = crate::exchange::esco::import(&db, opened).await.map_err(describe)?;
            println!(
                "ESCO skills from {}: {} created, {} linked to existing skills, {} updated, {} unchanged, {} skipped",
                file.display(),
                report.created,
                report.linked,
                report.updated,
                report.unchanged,
                report.skipped
            );
        }
        Command::ExportSchema { .. } | Command::CsvTemplate { .. } => {}
    }
    Ok(())
}

async fn import(
    db: &sea_orm::DatabaseConnection,
    format: ImportFileFormat,
    path: &std::path::Path,
    slug: &str,
    dry_run: bool,
    publish: bool,
) -> anyhow::Result<()> {
    use entity::import_run::{ImportFormat, ImportStatus};

    use crate::exchange::run;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let provider = provider_by_slug(db, slug).await?;
    let format = match format {
        ImportFileFormat::Openqcat => ImportFormat::Openqcat,
        ImportFileFormat::Csv => ImportFormat::Csv,
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let options = run::Options { dry_run, publish };
    let started =
        run::start(db, None, provider.id, format, name.as_deref(), options).await.map_err(describe)?;
    let bar = ProgressBar::new();
    let done =
        run::execute(db, started, file, &|row| bar.show(row.processed, row.total)).await.map_err(describe)?;
    bar.finish();
    println!(
        "import {} of {} for {}: {}{} — {} records: {} created, {} updated, {} unchanged, {} deleted, {} failed",
        done.id,
        path.display(),
        provider.name,
        done.status.to_value(),
        if done.dry_run { " (dry run: nothing kept)" } else { "" },
        done.total,
        done.created,
        done.updated,
        done.unchanged,
        done.deleted,
        done.failed
    );
    for problem in run::problems(&done) {
        let severity = match problem.severity {
            crate::exchange::Severity::Error => "Fehler",
            crate::exchange::Severity::Warning => "Hinweis",
        };
        let id = problem.product_id.map(|id| format!(" [{id}]")).unwrap_or_default();
        println!("  {severity}{id} {}: {}", problem.path, problem.message);
    }
    if done.status != ImportStatus::Finished {
        bail!("the import did not finish ({})", done.status.to_value());
    }
    Ok(())
}

async fn provider_by_slug(
    db: &sea_orm::DatabaseConnection,
    slug: &str,
) -> anyhow::Result<entity::organization::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::organization::Entity::find()
        .filter(entity::organization::Column::Slug.eq(slug))
        .one(db)
        .await?
        .with_context(|| format!("no organization with the slug {slug:?}"))
}

/// A progress bar on standard error: redrawn in place on a terminal, a line per tenth otherwise.
struct ProgressBar {
    terminal: bool,
    shown: std::sync::atomic::AtomicI64,
}

impl ProgressBar {
    fn new() -> Self {
        use std::io::IsTerminal;
        Self { terminal: std::io::stderr().is_terminal(), shown: std::sync::atomic::AtomicI64::new(-1) }
    }

    fn show(&self, processed: i32, total: i32) {
        use std::sync::atomic::Ordering;
        let percent = if total > 0 { i64::from(processed) * 100 / i64::from(total) } else { 0 };
        let step = if self.terminal { percent } else { percent / 10 * 10 };
        if self.shown.swap(step, Ordering::Relaxed) == step {
            return;
        }
        let filled = (percent / 5) as usize;
        let bar = format!(
            "[{}{}] {percent:>3} %  {processed} / {total} Datensätze",
            "#".repeat(filled),
            "-".repeat(20 - filled.min(20))
        );
        if self.terminal {
            eprint!("\r{bar}");
        } else {
            eprintln!("{bar}");
        }
    }

    fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

/// Connected, migrated and with the skills vocabulary in place.
async fn prepared_database(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = db::connect(
        &settings.database_url(),
        &settings.database_url_redacted(),
        settings.db_acquire_timeout(),
    )
    .await?;
    db::migrate(&db).await?;
    seed::skills::ensure(&db).await?;
    seed::profiles::ensure(&db).await?;
    Ok(db)
}

async fn seed_demo(settings: &Settings) -> anyhow::Result<()> {
    refuse_demo_in_production(settings)?;
    let db = prepared_database(settings).await?;
    let added = seed::demo::seed(&db).await?;
    tracing::info!(
        organizations = added.organizations,
        users = added.users,
        courses = added.courses,
        offerings = added.offerings,
        needs = added.needs,
        staff = added.staff,
        "demo data seeded; log in as {} with password {}",
        seed::demo::DEMO_ADMIN,
        seed::demo::DEMO_PASSWORD
    );
    Ok(())
}

/// The demo data includes a platform admin whose password the README prints: in production that is
/// an open door, so the demo is refused before anything touches the database.
fn refuse_demo_in_production(settings: &Settings) -> anyhow::Result<()> {
    if settings.is_production() {
        bail!(
            "refusing to load demo data in production (APP_ENV=production): it creates a platform admin \
             whose password is published in the README. Start without --demo, or use a development \
             environment for the demo"
        );
    }
    Ok(())
}

fn export_schema(output: &std::path::Path, check: bool) -> anyhow::Result<()> {
    let sdl = graphql::sdl();
    if check {
        let current = std::fs::read_to_string(output).unwrap_or_default();
        if current != sdl {
            bail!("{} is stale: run `cargo run -- export-schema`", output.display());
        }
        return Ok(());
    }
    std::fs::write(output, sdl).with_context(|| format!("writing {}", output.display()))?;
    println!("wrote {}", output.display());
    Ok(())
}

fn describe(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::Internal(cause) => cause,
        other => anyhow::anyhow!("{}: {}", other.code(), other.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;

    #[test]
    fn demo_data_is_refused_in_production_only() {
        let mut settings = Settings::default();
        assert!(refuse_demo_in_production(&settings).is_ok());
        settings.environment = Environment::Production;
        let refusal = refuse_demo_in_production(&settings).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refusal.contains("refusing to load demo data in production"), "{refusal}");
    }
}
