//! History: every run with its outcome, its report, and the keys of the open connections
//! whose last verified backup is missing or older than the key's last change.

use crate::desk::explorer::{inventory_of, tree};
use crate::error::{IpcResult, KeysafeError};
use crate::state::AppState;
use crate::types::{BackupState, EvidenceView, HistoryView, StaleKey, Standard};
use keysafe_core::{history, ErrorCode};

pub async fn history(state: &AppState) -> IpcResult<HistoryView> {
    let path = state.history_path();
    let loaded = history::load(&path)?;
    let problems: Vec<String> = loaded
        .audit
        .problems
        .iter()
        .map(history::Problem::explain)
        .collect();
    let entries = loaded.vouched();
    // Newest first, in the engine's words (the same `keysafe history` prints).
    let mut runs = history::rows(&entries);
    runs.reverse();
    let ids: Vec<u32> = state
        .connections
        .lock()
        .expect("connections")
        .keys()
        .copied()
        .collect();
    let mut attention = Vec::new();
    for id in ids {
        let Ok(inv) = inventory_of(state, id).await else {
            continue;
        };
        let t = tree(id, &inv, &entries);
        let keys = t.service_master_key.iter().chain(
            t.databases
                .iter()
                .flat_map(|d| d.master_key.iter().chain(d.certificates.iter())),
        );
        for k in keys {
            let reason = match k.state {
                BackupState::BackedUp => continue,
                BackupState::Never => "No verified backup.".to_string(),
                BackupState::Risk => k.risk.clone().unwrap_or_default(),
            };
            attention.push(StaleKey {
                server: t.server_name.clone(),
                label: k.label.clone(),
                reason,
            });
        }
    }
    Ok(HistoryView {
        runs,
        chain_intact: problems.is_empty(),
        problems,
        attention,
    })
}

/// A kept report's HTML, to show in the app. Only reports Keysafe wrote (named in the
/// history) can be opened.
pub fn report_html(state: &AppState, run_id: &str) -> IpcResult<String> {
    if let Some(r) = state.runs.lock().expect("runs").get(run_id) {
        return Ok(r.to_html());
    }
    let entries = history::read(&state.history_path())?;
    let json = entries
        .iter()
        .filter_map(history::Entry::run)
        .find(|r| r.run_id.to_string() == run_id)
        .map(|r| r.report)
        .ok_or_else(|| KeysafeError::new(ErrorCode::NotFound, "That run is not in the history."))?;
    std::fs::read_to_string(json.with_extension("html")).map_err(|e| {
        KeysafeError::new(
            ErrorCode::NotFound,
            format!(
                "The report {} cannot be read: {e}",
                json.with_extension("html").display()
            ),
        )
    })
}

/// The evidence pack for `standard` since `since` (YYYY-MM-DD, UTC), from the vouched history,
/// written to KEYSAFE_HOME/evidence (HTML and JSON) and returned to show.
pub fn evidence(
    state: &AppState,
    standard: Standard,
    since: &str,
    instance: Option<&str>,
) -> IpcResult<EvidenceView> {
    use keysafe_core::evidence;
    let since = chrono::NaiveDate::parse_from_str(since.trim(), "%Y-%m-%d")
        .map_err(|_| {
            KeysafeError::new(
                ErrorCode::InvalidInput,
                format!("'{since}' is not a date (YYYY-MM-DD)."),
            )
        })?
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let pack = evidence::build(
        &state.history_path(),
        standard,
        &evidence::Scope {
            since,
            instance: instance.map(str::to_string),
            run: None,
        },
    )?;
    let (json_path, html_path) = pack.write_files(&state.home.join("evidence"))?;
    let (met, missing) = pack.tally();
    Ok(EvidenceView {
        html: pack.to_html(),
        html_path: html_path.display().to_string(),
        json_path: json_path.display().to_string(),
        keys: pack.keys.len() as u32,
        controls_met: met as u32,
        controls_missing: missing as u32,
        history_problems: pack.history_problems.clone(),
    })
}
