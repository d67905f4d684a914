//! Recovery in the app: the medium checked, a key restored with live progress, the coverage
//! of an instance's kept backups. The engine decides everything; this only adapts.

use crate::error::IpcResult;
use crate::state::AppState;
use crate::types::*;
use keysafe_core::restore::{self, Placement, RestoreRequest, RestoreSecrets};
use keysafe_core::{history, ErrorCode};
use std::path::PathBuf;

fn blank(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

pub fn check_medium(path: &str) -> IpcResult<MediumCheck> {
    keysafe_core::recovery::check_medium(std::path::Path::new(path.trim()))
}

pub fn request(a: &RestoreArgs) -> RestoreRequest {
    RestoreRequest {
        report: PathBuf::from(a.report.trim()),
        from_server: a.from_server.clone().filter(|s| !s.is_empty()),
        key: a.key.clone(),
        target_database: blank(&a.target_database),
        server_dir: blank(&a.server_dir),
        placement: match blank(&a.server_dir_local) {
            Some(p) => Placement::Local(PathBuf::from(p)),
            None => Placement::Manual {
                wait: std::time::Duration::from_secs(a.wait_seconds.into()),
            },
        },
        force: a.force,
        add_service_master_key: a.add_service_master_key,
        verify_backup: blank(&a.verify_backup),
        confirmed_instance: blank(&a.confirmed_instance),
    }
}

/// Restores on connection `id`; the attempt goes in the history, proven or not.
pub async fn run(
    state: &AppState,
    id: u32,
    args: RestoreArgs,
    secrets: RestoreSecretsView,
    emit: &(dyn Fn(RestoreProgress) + Send + Sync),
) -> IpcResult<RestoreDone> {
    let req = request(&args);
    // Shares are combined (each mistake named) before anything reaches the server.
    let combined = if secrets.shares.is_empty() {
        None
    } else {
        let typed: Vec<keysafe_core::Password> =
            secrets.shares.iter().map(|s| s.0.clone()).collect();
        Some(keysafe_core::custody::combine(&typed)?)
    };
    let conn = state.connection(id)?;
    let mut g = conn.session().await?;
    let session = g.as_mut().expect("session");
    let s = RestoreSecrets {
        backup: combined.as_ref().unwrap_or(&secrets.backup.0),
        master_key: secrets.master_key.as_ref().map(|p| &p.0),
    };
    let outcome = restore::restore(session, &req, &s, &mut |p| emit(p)).await;
    if outcome
        .as_ref()
        .is_err_and(|e| e.code == ErrorCode::ConnectionLost)
    {
        *g = None;
    }
    // Recorded as a backup run is: the history and a kept report, proven or not.
    let report = match restore::record(
        &outcome,
        &req,
        &conn.info.server_name,
        &state.history_path(),
        &state.home.join("reports"),
    ) {
        Ok(files) => Some(files.html.display().to_string()),
        Err(e) => {
            tracing::warn!(error = %e.describe(), "the restore report could not be written");
            None
        }
    };
    match outcome {
        Ok(result) => Ok(RestoreDone { result, report }),
        Err(mut e) => {
            // A refused or failed attempt is on record too: say where.
            if let Some(r) = &report {
                let kept = format!("The attempt is recorded in {r}.");
                e.next_step = Some(match e.next_step.take() {
                    Some(n) => format!("{n} {kept}"),
                    None => kept,
                });
            }
            Err(e)
        }
    }
}

/// Can every kept backup of connection `id` be restored?
pub async fn coverage(state: &AppState, id: u32, retention_days: u32) -> IpcResult<Coverage> {
    let runs: Vec<_> = history::read(&state.history_path())?
        .iter()
        .filter_map(history::Entry::run)
        .collect();
    let conn = state.connection(id)?;
    let mut g = conn.session().await?;
    let session = g.as_mut().expect("session");
    let r = keysafe_core::coverage::coverage(session, retention_days, &runs).await;
    if r.as_ref()
        .is_err_and(|e| e.code == ErrorCode::ConnectionLost)
    {
        *g = None;
    }
    r
}

/// Writes the coverage report's three files into `dir`; the HTML's path.
pub async fn export_coverage(
    state: &AppState,
    id: u32,
    retention_days: u32,
    dir: &std::path::Path,
) -> IpcResult<String> {
    let c = coverage(state, id, retention_days).await?;
    Ok(c.write_files(dir)?.html.display().to_string())
}
