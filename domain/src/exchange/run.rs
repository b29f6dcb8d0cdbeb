//! An import run: who may start one, its passes over the file (see the module above), its report
//! and progress in `import_run`, and the history of a provider's runs.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use entity::api_key;
use entity::import_run::{self, ImportFormat, ImportStatus};
use entity::membership::MembershipRole;
use entity::organization::{self, OrganizationKind};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use uuid::Uuid;

use super::apply::{self, Outcome, Refusal};
use super::suggest::Vocabulary;
use super::{CatalogueKind, Fatal, Head, Problem, Record};
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::{json_list, organizations};

fn internal(err: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(err.into())
}

/// Records per transaction.
pub const CHUNK: usize = 200;
/// A RUNNING run whose heartbeat is older than this was interrupted (its instance stopped).
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// Problems kept in a run's report; more are counted in a last line.
pub const MAX_PROBLEMS: usize = 1_000;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Check and count, keep nothing.
    pub dry_run: bool,
    /// Publish the drafts the file lists that pass the publish rules.
    pub publish: bool,
}

/// The provider `provider_id` when `caller` may import for it: its OWNER or ADMIN, or the service
/// account of one of its active ORGANIZATION API keys.
pub async fn authorize(
    db: &impl ConnectionTrait,
    caller: Uuid,
    provider_id: Uuid,
) -> ApiResult<organization::Model> {
    let provider = organizations::find(db, provider_id).await?;
    let role = organizations::role_of(db, provider_id, caller).await?;
    let Some(role) = role else {
        return Err(ApiError::forbidden("only the provider's owners and admins may import its catalogue"));
    };
    if role < MembershipRole::Admin {
        let key = api_key::Entity::find()
            .filter(api_key::Column::ServiceUserId.eq(caller))
            .filter(api_key::Column::OrganizationId.eq(provider_id))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(db)
            .await?;
        if key.is_none() {
            return Err(ApiError::forbidden(
                "only the provider's owners and admins may import its catalogue",
            ));
        }
    }
    if provider.kind != OrganizationKind::Provider {
        return Err(ApiError::bad_input("providerId", "providerId must be a training provider"));
    }
    Ok(provider)
}

/// Records a new RUNNING run. `caller` is `None` for the operator's CLI. One run per provider at a
/// time: a second while one is running is a `CONFLICT`.
pub async fn start(
    db: &DatabaseConnection,
    caller: Option<Uuid>,
    provider_id: Uuid,
    format: ImportFormat,
    file_name: Option<&str>,
    options: Options,
) -> ApiResult<import_run::Model> {
    let txn = db::begin_write(db).await?;
    let provider = match caller {
        Some(caller) => authorize(&txn, caller, provider_id).await?,
        None => organizations::find(&txn, provider_id).await?,
    };
    if provider.kind != OrganizationKind::Provider {
        return Err(ApiError::bad_input("providerId", "providerId must be a training provider"));
    }
    let fresh = Utc::now() - STALE_AFTER;
    let running = import_run::Entity::find()
        .filter(import_run::Column::ProviderId.eq(provider_id))
        .filter(import_run::Column::Status.eq(ImportStatus::Running))
        .filter(import_run::Column::HeartbeatAt.gt(fresh))
        .one(&txn)
        .await?;
    if let Some(running) = running {
        return Err(ApiError::conflict_on(
            "providerId",
            format!("import {} of this provider is still running; wait for it to finish", running.id),
        ));
    }
    let now = Utc::now();
    let file_name = file_name.map(|n| n.chars().take(255).collect::<String>());
    let row = import_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        provider_id: Set(provider_id),
        started_by: Set(caller),
        format: Set(format),
        file_name: Set(file_name),
        catalogue_kind: Set(None),
        sequence_number: Set(None),
        dry_run: Set(options.dry_run),
        publish: Set(options.publish),
        status: Set(ImportStatus::Running),
        total: Set(0),
        processed: Set(0),
        created: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        deleted: Set(0),
        failed: Set(0),
        problems: Set("[]".into()),
        started_at: Set(now),
        heartbeat_at: Set(now),
        finished_at: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The run's counters and problems while it works.
struct Report {
    row: import_run::Model,
    problems: Vec<Problem>,
    kept_errors: usize,
    kept_warnings: usize,
    dropped: usize,
}

impl Report {
    /// Errors and warnings each have [`MAX_PROBLEMS`] places, so many warnings never hide an error.
    fn add(&mut self, problem: Problem) {
        let kept = match problem.severity {
            super::Severity::Error => &mut self.kept_errors,
            super::Severity::Warning => &mut self.kept_warnings,
        };
        if *kept < MAX_PROBLEMS {
            *kept += 1;
            self.problems.push(problem);
        } else {
            self.dropped += 1;
        }
    }

    fn count(&mut self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Created(_) => &mut self.row.created,
            Outcome::Updated(_) => &mut self.row.updated,
            Outcome::Unchanged(_) => &mut self.row.unchanged,
            Outcome::Deleted(_) => &mut self.row.deleted,
        };
        *counter += 1;
    }

    /// Stores the counters and problems (and renews the heartbeat).
    async fn save(&mut self, db: &impl ConnectionTrait) -> ApiResult<()> {
        let mut problems = self.problems.clone();
        if self.dropped > 0 {
            problems.push(Problem::warning(
                None,
                "",
                format!("… und {} weitere Meldungen, die der Bericht nicht mehr aufführt", self.dropped),
            ));
        }
        self.row.problems = serde_json::to_string(&problems).map_err(internal)?;
        self.row.heartbeat_at = Utc::now();
        self.row = import_run::ActiveModel::from(self.row.clone()).reset_all().update(db).await?;
        Ok(())
    }

    async fn finish(&mut self, db: &impl ConnectionTrait, status: ImportStatus) -> ApiResult<()> {
        self.row.status = status;
        self.row.finished_at = Some(Utc::now());
        self.save(db).await
    }
}

/// What the check pass learnt about the whole file.
struct Checked {
    head: Head,
    /// Records that will be applied (or fail): all but the skipped ones below.
    total: usize,
    /// Keys of the offers and runs the file creates or replaces.
    offers: HashSet<String>,
    runs: HashSet<String>,
    /// Keys given to more than one record of a kind: none of those records is applied.
    duplicates: HashSet<String>,
    /// Offers that have runs of their own in the file: their implicit runs are skipped.
    with_runs: HashSet<String>,
    /// Deletions of keys the same file sends again: the new record replaces, the deletion is skipped.
    resent: HashSet<String>,
}

impl Checked {
    /// Whether the passes leave `item` out (and count it nowhere).
    fn skips(&self, item: &super::Item) -> bool {
        let key = item.key.as_deref().unwrap_or_default();
        (item.implicit && self.with_runs.contains(key)) || (is_deletion(item) && self.resent.contains(key))
    }
}

fn is_deletion(item: &super::Item) -> bool {
    matches!(&item.record, Ok(Record::Offer(offer)) if offer.mode == super::Mode::Delete)
}

fn check(format: ImportFormat, file: &std::fs::File) -> Result<Checked, Fatal> {
    let unreadable =
        |e: std::io::Error| Fatal { path: String::new(), message: format!("Datei nicht lesbar: {e}") };
    let mut reader = super::open(format, file).map_err(unreadable)?;
    let mut offers = HashSet::new();
    let mut runs = HashSet::new();
    let mut deletions = HashSet::new();
    let mut duplicates = HashSet::new();
    let mut with_runs = HashSet::new();
    let mut implicit = Vec::new();
    let mut total = 0;
    for item in reader.by_ref() {
        let item = item?;
        let Some(key) = item.key.clone() else {
            total += 1;
            continue;
        };
        if item.implicit {
            implicit.push(key);
            continue;
        }
        total += 1;
        if let Ok(Record::Run(run)) = &item.record {
            with_runs.insert(run.offer_key.clone());
        }
        let keys = if is_deletion(&item) {
            &mut deletions
        } else if item.is_offer {
            &mut offers
        } else {
            &mut runs
        };
        if !keys.insert(key.clone()) {
            duplicates.insert(key);
        }
    }
    for key in implicit {
        if !with_runs.contains(&key) {
            total += 1;
            if !runs.insert(key.clone()) {
                duplicates.insert(key);
            }
        }
    }
    let resent: HashSet<String> =
        deletions.iter().filter(|k| offers.contains(*k) || runs.contains(*k)).cloned().collect();
    total -= resent.len();
    let head = reader.head().unwrap_or(Head { kind: CatalogueKind::Rows, sequence: None, supplier: None });
    Ok(Checked { head, total, offers, runs, duplicates, with_runs, resent })
}

type Progress<'a> = &'a (dyn Fn(&import_run::Model) + Send + Sync);

/// Runs the import `run` (as [`start`] recorded it) over `file`; `progress` sees the run after
/// every chunk. A run that cannot reach the database stops INTERRUPTED; what it committed stays.
pub async fn execute(
    db: &DatabaseConnection,
    run: import_run::Model,
    file: std::fs::File,
    progress: Progress<'_>,
) -> ApiResult<import_run::Model> {
    let mut report = Report { row: run, problems: Vec::new(), kept_errors: 0, kept_warnings: 0, dropped: 0 };
    match passes(db, &mut report, file, progress).await {
        Ok(status) => report.finish(db, status).await?,
        Err(err) => {
            tracing::warn!(run = %report.row.id, error = %err, "an import run stopped");
            report.add(Problem::error(
                None,
                "",
                "die Datenbank war nicht erreichbar; der Lauf wurde abgebrochen. Was bis dahin übernommen \
                 war, bleibt; starten Sie den Import erneut (unveränderte Angebote werden übersprungen)",
            ));
            report.finish(db, ImportStatus::Interrupted).await?;
        }
    }
    progress(&report.row);
    Ok(report.row)
}

async fn passes(
    db: &DatabaseConnection,
    report: &mut Report,
    file: std::fs::File,
    progress: Progress<'_>,
) -> ApiResult<ImportStatus> {
    let format = report.row.format;
    let options = Options { dry_run: report.row.dry_run, publish: report.row.publish };
    let file = std::sync::Arc::new(file);
    let checked = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || check(format, &file)).await.map_err(internal)?
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(fatal) => {
            report.add(Problem::error(None, fatal.path, fatal.message));
            return Ok(ImportStatus::Rejected);
        }
    };
    let checked = std::sync::Arc::new(checked);
    report.row.total = checked.total as i32;
    report.row.catalogue_kind = Some(checked.head.kind.as_str().to_owned());
    report.row.sequence_number = checked.head.sequence;
    if let Some(refusal) = out_of_sequence(db, &report.row).await? {
        report.add(Problem::error(None, "/OPENQCAT/UPDATE_CATALOG", refusal));
        return Ok(ImportStatus::Rejected);
    }
    report.save(db).await?;
    progress(&report.row);

    let provider = organizations::find(db, report.row.provider_id).await?;
    let mut vocabulary = Vocabulary::load(db).await?;
    // Offers this dry run created (and rolled back), and every course the file lists, by id.
    let mut pending = HashSet::new();
    let mut listed: HashMap<Uuid, String> = HashMap::new();
    for offers in [true, false] {
        let mut reader = Some(super::open(format, &file).map_err(internal)?);
        loop {
            let taken = reader.take().map(|mut r| {
                let checked = checked.clone();
                tokio::task::spawn_blocking(move || {
                    let mut chunk = Vec::with_capacity(CHUNK);
                    for item in r.by_ref() {
                        match item {
                            Ok(item) if item.is_offer == offers && !checked.skips(&item) => chunk.push(item),
                            Ok(_) => {}
                            // The check pass read the same bytes: a fault now is the disk's.
                            Err(fatal) => {
                                return Err(anyhow::anyhow!("reading the file again: {}", fatal.message));
                            }
                        }
                        if chunk.len() == CHUNK {
                            break;
                        }
                    }
                    Ok((r, chunk))
                })
            });
            let Some(taken) = taken else { break };
            let (back, chunk) = taken.await.map_err(internal)?.map_err(ApiError::Internal)?;
            if chunk.is_empty() {
                break;
            }
            reader = Some(back);
            let txn = db::begin_write(db).await?;
            // Courses whose offerings changed: their search documents and `updatedAt` once per chunk.
            let mut touched = HashSet::new();
            // Courses read by this chunk's runs, as they stand in its transaction.
            let mut courses_seen = std::collections::HashMap::new();
            for item in chunk {
                report.row.processed += 1;
                let key = item.key.clone();
                for warning in item.warnings {
                    report.add(warning);
                }
                let record = match item.record {
                    Ok(_) if key.as_ref().is_some_and(|k| checked.duplicates.contains(k)) => {
                        Err(vec![Problem::error(
                            key.as_deref(),
                            item.path.clone(),
                            "PRODUCT_ID kommt in der Datei mehrfach vor; keiner dieser Datensätze wurde übernommen",
                        )])
                    }
                    other => other,
                };
                let record = match record {
                    Ok(record) => record,
                    Err(problems) => {
                        report.row.failed += 1;
                        problems.into_iter().for_each(|p| report.add(p));
                        continue;
                    }
                };
                let savepoint = txn.begin().await?;
                let mut notes = Vec::new();
                let applied = match record {
                    Record::Offer(offer) => {
                        apply::offer(&savepoint, &provider, &mut vocabulary, offer, &mut touched).await
                    }
                    Record::Run(run) => {
                        apply::run(
                            &savepoint,
                            &provider,
                            run,
                            &pending,
                            &mut notes,
                            &mut touched,
                            &mut courses_seen,
                        )
                        .await
                    }
                };
                match applied {
                    Ok(outcome) => {
                        savepoint.commit().await?;
                        report.count(outcome);
                        for note in notes {
                            report.add(Problem::warning(key.as_deref(), item.path.clone(), note));
                        }
                        if let (true, Some(key)) = (offers, key) {
                            if options.dry_run && matches!(outcome, Outcome::Created(_)) {
                                pending.insert(key.clone());
                            }
                            if let Some(id) = outcome.course() {
                                listed.insert(id, key);
                            }
                        }
                    }
                    Err(Refusal::Record(message)) => {
                        savepoint.rollback().await?;
                        // What the record changed is undone: read its courses afresh.
                        courses_seen.clear();
                        report.row.failed += 1;
                        report.add(Problem::error(key.as_deref(), item.path, message));
                    }
                    Err(Refusal::Fault(err)) => return Err(err),
                }
            }
            crate::service::courses::touch_courses(&txn, touched).await?;
            if options.dry_run {
                txn.rollback().await?;
            } else {
                txn.commit().await?;
            }
            report.save(db).await?;
            progress(&report.row);
        }
    }
    if checked.head.kind == CatalogueKind::Full {
        let txn = db::begin_write(db).await?;
        let retired = apply::retire_unlisted(&txn, provider.id, &checked.offers, &checked.runs).await?;
        if options.dry_run {
            txn.rollback().await?
        } else {
            txn.commit().await?
        }
        report.row.deleted += retired as i32;
        if retired > 0 {
            report.add(Problem::warning(
                None,
                "/OPENQCAT/NEW_CATALOG",
                format!(
                    "{retired} früher importierte Angebote und Termine stehen nicht mehr im Gesamtkatalog und \
                     wurden zurückgezogen (veröffentlichte archiviert, Entwürfe und Termine gelöscht)"
                ),
            ));
        }
    }
    if options.publish {
        publish_listed(db, report, &provider, &listed, options.dry_run).await?;
    }
    Ok(ImportStatus::Finished)
}

async fn publish_listed(
    db: &DatabaseConnection,
    report: &mut Report,
    provider: &organization::Model,
    listed: &HashMap<Uuid, String>,
    dry_run: bool,
) -> ApiResult<()> {
    let ids: Vec<Uuid> = listed.keys().copied().collect();
    for chunk in ids.chunks(CHUNK) {
        let txn = db::begin_write(db).await?;
        for id in chunk {
            let savepoint = txn.begin().await?;
            match apply::publish(&savepoint, provider, *id).await {
                Ok(_) => savepoint.commit().await?,
                Err(err) if matches!(err.code(), crate::error::Code::ServiceUnavailable) => return Err(err),
                Err(err) => {
                    savepoint.rollback().await?;
                    report.add(Problem::warning(
                        Some(&listed[id]),
                        "",
                        format!(
                            "übernommen, aber nicht veröffentlicht: {} ({})",
                            err.message(),
                            err.field().unwrap_or("Angebot")
                        ),
                    ));
                }
            }
        }
        if dry_run {
            txn.rollback().await?
        } else {
            txn.commit().await?
        }
        report.save(db).await?;
    }
    Ok(())
}

/// A delta whose sequence number is not above the last one applied for the provider.
async fn out_of_sequence(db: &impl ConnectionTrait, run: &import_run::Model) -> ApiResult<Option<String>> {
    let Some(sequence) = run.sequence_number else { return Ok(None) };
    let last: Option<Option<i64>> = import_run::Entity::find()
        .select_only()
        .column(import_run::Column::SequenceNumber)
        .filter(import_run::Column::ProviderId.eq(run.provider_id))
        .filter(import_run::Column::Status.eq(ImportStatus::Finished))
        .filter(import_run::Column::DryRun.eq(false))
        .filter(import_run::Column::SequenceNumber.is_not_null())
        .order_by_desc(import_run::Column::SequenceNumber)
        .into_tuple()
        .one(db)
        .await?;
    Ok(match last.flatten() {
        Some(last) if sequence <= last => Some(format!(
            "Änderungslieferung Nr. {sequence} ist nicht neuer als die zuletzt eingespielte (Nr. {last}); \
             Lieferungen werden in ihrer Reihenfolge eingespielt"
        )),
        _ => None,
    })
}

/// A run as it stands: RUNNING with an old heartbeat means its instance stopped.
fn as_seen(mut run: import_run::Model) -> import_run::Model {
    if run.status == ImportStatus::Running && run.heartbeat_at < Utc::now() - STALE_AFTER {
        run.status = ImportStatus::Interrupted;
    }
    run
}

/// The problems of a run's report.
pub fn problems(run: &import_run::Model) -> Vec<Problem> {
    json_list::decode(&run.problems)
}

/// One run, for members of its provider.
pub async fn find(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<import_run::Model> {
    let run = import_run::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("import run"))?;
    if organizations::role_of(&state.db, run.provider_id, caller).await?.is_none() {
        return Err(ApiError::not_found("import run"));
    }
    Ok(as_seen(run))
}

/// A provider's runs, newest first, for its members; `after` (a run's id) pages on to older ones.
pub async fn list(
    state: &AppState,
    caller: Uuid,
    provider_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<Vec<import_run::Model>> {
    if organizations::role_of(&state.db, provider_id, caller).await?.is_none() {
        return Err(ApiError::forbidden("only members of the provider may see its imports"));
    }
    let mut select = import_run::Entity::find()
        .filter(import_run::Column::ProviderId.eq(provider_id))
        .order_by_desc(import_run::Column::Id);
    if let Some(after) = after {
        select = select.filter(import_run::Column::Id.lt(after));
    }
    Ok(select.limit(limit).all(&state.db).await?.into_iter().map(as_seen).collect())
}
