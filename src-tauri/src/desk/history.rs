//! History: every run with its outcome, its report, and the keys of the open connections
//! whose last verified backup is missing or older than the key's last change.

use crate::desk::explorer::{inventory_of, tree};
use crate::error::{IpcError, IpcResult};
use crate::state::AppState;
use crate::types::{BackupState, HistoryRow, HistoryView, StaleKey};
use keysafe_core::{history, ErrorCode};

pub async fn history(state: &AppState) -> IpcResult<HistoryView> {
    let path = state.history_path();
    let entries = history::read(&path)?;
    let chain_intact = history::verify(&path)?.is_ok();
    let mut runs: Vec<HistoryRow> = entries
        .iter()
        .map(|e| {
            let r = &e.record;
            let mut servers: Vec<String> = r["keys"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k["server"].as_str().map(str::to_string))
                .collect();
            servers.dedup();
            HistoryRow {
                run_id: r["run_id"].as_str().unwrap_or_default().to_string(),
                finished: r["finished"].as_str().unwrap_or_default().to_string(),
                operator: r["operator"].as_str().unwrap_or_default().to_string(),
                succeeded: r["succeeded"].as_bool().unwrap_or(false),
                keys_verified: r["summary"]["keys_verified"].as_u64().unwrap_or(0) as u32,
                keys_requested: r["summary"]["keys_requested"].as_u64().unwrap_or(0) as u32,
                servers,
                report: r["report"].as_str().map(str::to_string),
            }
        })
        .collect();
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
        chain_intact,
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
        .find(|e| e.record["run_id"].as_str() == Some(run_id))
        .and_then(|e| e.record["report"].as_str().map(std::path::PathBuf::from))
        .ok_or_else(|| IpcError::new(ErrorCode::NotFound, "That run is not in the history."))?;
    std::fs::read_to_string(json.with_extension("html")).map_err(|e| {
        IpcError::new(
            ErrorCode::NotFound,
            format!(
                "The report {} cannot be read: {e}",
                json.with_extension("html").display()
            ),
        )
    })
}
