//! The Back Up dialog: the password checks, the medium, the plan with masked scripts, the
//! run with live progress, and the report kept and exported.

use crate::desk::explorer::inventory_of;
use crate::error::{IpcResult, KeysafeError};
use crate::state::AppState;
use crate::types::*;
use keysafe_core::backup::{BackupOptions, Secrets};
use keysafe_core::report::{Custody, Report};
use keysafe_core::run::{self, Progress, RunSettings, Selection};
use keysafe_core::{password, ErrorCode};
use std::path::{Path, PathBuf};

pub fn check_password(p: &Secret) -> PasswordCheck {
    let (strength, bits) = password::strength(&p.0);
    PasswordCheck {
        policy_error: password::check_policy(&p.0, None)
            .err()
            .map(|v| format!("{} (Msg {})", v.explain(), v.sql_error())),
        strength,
        strength_words: strength.words().into(),
        entropy_bits: bits,
    }
}

/// A generated password, shown once so the administrator can put it in the password vault.
pub fn generate_password() -> String {
    password::generate(24).expose().to_string()
}

pub fn volumes() -> Vec<Volume> {
    keysafe_core::volumes::list()
}

fn selection(req: &BackupRequest) -> Selection {
    if req.keys.is_empty() {
        Selection::All
    } else {
        Selection::Keys(req.keys.clone())
    }
}

/// The engine's settings for the dialog's request: the same for the preview and the run.
fn settings(req: &BackupRequest) -> RunSettings {
    RunSettings {
        selection: selection(req),
        backup: BackupOptions {
            server_dir: Some(req.server_dir.trim().to_string()).filter(|d| !d.is_empty()),
            copy_to: PathBuf::from(req.copy_to.trim()),
            format: None,
        },
        verify_restore: req.verify_restore,
        server_dir_local: None,
        acl_principals: req.acl_principals.clone(),
    }
}

/// The engine's plan, from the inventory of each open connection (nothing is written).
pub async fn plan(state: &AppState, req: &BackupRequest) -> IpcResult<BackupPlan> {
    let s = settings(req);
    let mut instances = Vec::new();
    for &id in &req.connections {
        let c = state.connection(id)?;
        instances.push(match inventory_of(state, id).await {
            Ok(inv) => run::plan_instance(&c.options, &inv, &s),
            Err(e) => InstancePlan::unreadable(&c.options, Some(c.info.server_name.clone()), e),
        });
    }
    Ok(BackupPlan { instances })
}

/// What a split's pages say it protects, per instance (by the target as given): the
/// instance, its keys and the medium.
fn protects(state: &AppState, req: &BackupRequest) -> Vec<(String, String)> {
    let keys = if req.keys.is_empty() {
        "every key of the hierarchy".to_string()
    } else {
        req.keys
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join(", ")
    };
    req.connections
        .iter()
        .filter_map(|&id| state.connection(id).ok())
        .map(|c| {
            let line = format!(
                "{}: {keys}, backed up to {}",
                c.info.server_name,
                req.copy_to.trim()
            );
            (c.options.server.to_string(), line)
        })
        .collect()
}

/// Opens one of this session's custodian pages in a window of its own and asks to print it.
/// The page goes from the file to that window: the share never crosses IPC. Only pages this
/// session wrote (Keysafe's own HTML, without a script) are opened.
pub fn print_share_page(state: &AppState, path: &str) -> IpcResult<()> {
    let path = PathBuf::from(path);
    if !state
        .share_pages
        .lock()
        .expect("share pages")
        .contains(&path)
    {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            "Only a custodian's page this session wrote can be printed from here.",
        ));
    }
    let app = state.app.get().ok_or_else(|| {
        KeysafeError::new(ErrorCode::Internal, "The app's window is not ready yet.")
    })?;
    let url = tauri::Url::from_file_path(&path).map_err(|_| {
        KeysafeError::new(
            ErrorCode::InvalidInput,
            format!("{} is not a full path.", path.display()),
        )
    })?;
    let n = state.share_pages.lock().expect("share pages").len();
    let label = format!("share-page-{}-{}", n, chrono::Utc::now().timestamp_millis());
    tauri::WebviewWindowBuilder::new(app, label, tauri::WebviewUrl::External(url))
        .title(format!(
            "Custodian's page: {}",
            path.file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default()
        ))
        .inner_size(820.0, 900.0)
        .on_page_load(|w, p| {
            if p.event() == tauri::webview::PageLoadEvent::Finished {
                let _ = w.print();
            }
        })
        .build()
        .map_err(|e| {
            KeysafeError::new(
                ErrorCode::Internal,
                format!("The page's window could not open: {e}"),
            )
        })?;
    Ok(())
}

/// The first custodian's page as the split will print it, with a placeholder for the share
/// (no password exists yet): the Back Up dialog's preview. With one split per instance, the
/// first instance's page.
pub fn split_preview(state: &AppState, req: &BackupRequest) -> IpcResult<String> {
    let sr = req.split.as_ref().ok_or_else(|| {
        KeysafeError::new(
            ErrorCode::InvalidInput,
            "Split among custodians is not chosen.",
        )
    })?;
    let all = protects(state, req);
    let lines: Vec<String> = match sr.scope {
        keysafe_core::custody::SplitScope::Run => all.into_iter().map(|(_, l)| l).collect(),
        keysafe_core::custody::SplitScope::PerInstance => {
            all.into_iter().take(1).map(|(_, l)| l).collect()
        }
    };
    keysafe_core::custody::preview_page(sr.threshold, &sr.custodians, &lines)
}

pub async fn run(
    state: &AppState,
    req: BackupRequest,
    secrets: BackupSecrets,
    emit: &(dyn Fn(Progress) + Send + Sync),
) -> IpcResult<RunSummary> {
    // With a split, Keysafe generates the password (below): the typed one is not used.
    let mut keys = match req.split {
        None => Secrets::chosen(secrets.password.0.clone(), Some(&secrets.confirm.0))?,
        Some(_) => Secrets::new(secrets.password.0.clone()),
    };
    for k in secrets.key_passwords {
        keys.give(k.key, k.password.0);
    }
    let copy_to = super::medium_path(
        &req.copy_to,
        "Choose the backup medium: a removable volume or a folder (a full path).",
    )?;
    let targets = req
        .connections
        .iter()
        .map(|&id| state.connection(id).map(|c| c.options.clone()))
        .collect::<IpcResult<Vec<_>>>()?;
    let split = match &req.split {
        None => None,
        Some(sr) => {
            let protects = protects(state, &req);
            let reports = state.home.join("reports");
            Some(keysafe_core::custody::split_for_run(
                sr.threshold,
                &sr.custodians,
                Path::new(sr.shares_to.trim()),
                &[&copy_to, &reports],
                &protects,
                sr.scope,
            )?)
        }
    };
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let request = run::RunRequest {
        targets,
        settings: settings(&req),
        concurrency: run::DEFAULT_CONCURRENCY,
        custody: Custody {
            carrier: text(&req.carrier),
            storage_location: text(&req.storage_location),
            notes: text(&req.notes),
            password_split: None,
        },
        report_dir: state.home.join("reports"),
        history: state.history_path(),
        instance_splits: Default::default(),
        parity_risks: Default::default(),
    };
    let mut request = request;
    if let Some(split) = &split {
        keys = request.take_split(split, keys);
    }
    let progress = |p: Progress| emit(p);
    let run::RunRecord {
        report,
        files: kept,
    } = run::execute(&request, &keys, &progress).await?;
    let mut summary = summarize(&report, &kept);
    // The medium describes itself, as the CLI's does: a restore (or a drill) from the medium
    // alone needs its report beside the copies. The app keeps its own copy for History.
    match report.write_files(&copy_to) {
        Ok(on_medium) => summary
            .report_files
            .extend(on_medium.all().iter().map(|p| p.display().to_string())),
        Err(e) => summary.result.destination_warnings.push(format!(
            "The report could not be written to the medium ({}): a restore from the medium needs it; export it there (Export report).",
            e.message
        )),
    }
    if let Some(s) = &split {
        state
            .share_pages
            .lock()
            .expect("share pages")
            .extend(s.pages.iter().cloned());
    }
    summary.share_pages = split
        .map(|s| s.pages.iter().map(|p| p.display().to_string()).collect())
        .unwrap_or_default();
    state
        .runs
        .lock()
        .expect("runs")
        .insert(summary.result.run_id.clone(), report);
    Ok(summary)
}

fn summarize(r: &Report, kept: &keysafe_core::report::ReportFiles) -> RunSummary {
    RunSummary {
        result: r.result(),
        report_files: kept.all().iter().map(|p| p.display().to_string()).collect(),
        share_pages: Vec::new(),
    }
}

/// Writes the run's report where the administrator chose (the save dialog's answer).
pub fn export_report(
    state: &AppState,
    run_id: &str,
    format: ReportFormat,
    path: &Path,
) -> IpcResult<String> {
    let runs = state.runs.lock().expect("runs");
    let r = runs.get(run_id).ok_or_else(|| {
        KeysafeError::new(
            ErrorCode::NotFound,
            "That run's report is no longer in memory; open it from History.",
        )
    })?;
    let body = match format {
        ReportFormat::Html => r.to_html(),
        ReportFormat::Json => r.to_json(),
        ReportFormat::Csv => r.to_csv(),
    };
    // As the copies are written: through a temporary file (a pulled medium never leaves half
    // a report under the name), and never over an existing file.
    let (dir, name) = match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(d), Some(n)) => (
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            },
            n,
        ),
        _ => {
            return Err(KeysafeError::new(
                ErrorCode::InvalidInput,
                format!("{} is not a file path", path.display()),
            ))
        }
    };
    keysafe_core::copy::write_new(dir, name, body.as_bytes())?;
    Ok(path.display().to_string())
}
