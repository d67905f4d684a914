//! The Back Up dialog: the password checks, the medium, the plan with masked scripts, the
//! run with live progress, and the report kept and exported.

use crate::desk::explorer::{inventory_of, key_ref};
use crate::error::{IpcError, IpcResult};
use crate::state::AppState;
use crate::types::*;
use keysafe_core::backup::{BackupOptions, Outcome};
use keysafe_core::report::{Custody, Report};
use keysafe_core::run::{self, Progress, RunSettings, Selection};
use keysafe_core::{password, ErrorCode, Password};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub fn check_password(p: &Secret) -> PasswordCheck {
    let (strength, bits) = password::strength(&p.0);
    PasswordCheck {
        policy_error: password::check_policy(&p.0, None)
            .err()
            .map(|v| format!("{} (Msg {})", v.explain(), v.sql_error())),
        strength: format!("{strength:?}"),
        entropy_bits: bits,
    }
}

/// A generated password, shown once so the administrator can put it in the password vault.
pub fn generate_password() -> String {
    password::generate(24).expose().to_string()
}

pub fn volumes() -> Vec<VolumeView> {
    keysafe_core::volumes::list()
        .into_iter()
        .map(|v| VolumeView {
            mount_point: v.mount_point.display().to_string(),
            keeps_acls: v.keeps_acls(),
            label: v.label,
            file_system: v.file_system,
            free_bytes: v.free_bytes as f64,
            total_bytes: v.total_bytes as f64,
            removable: v.removable,
        })
        .collect()
}

fn selection(req: &BackupRequest) -> Selection {
    if req.keys.is_empty() {
        Selection::All
    } else {
        Selection::Keys(req.keys.iter().map(key_ref).collect())
    }
}

fn server_dir(req: &BackupRequest) -> Option<String> {
    Some(req.server_dir.trim().to_string()).filter(|d| !d.is_empty())
}

/// Who gets access to the server folder, in words.
fn permissions(inv: &keysafe_core::inventory::Inventory, extra: &[String]) -> Vec<String> {
    use keysafe_core::windows::sid;
    let account = inv.server.service_account.clone();
    if !inv.server.is_windows() {
        return vec![format!(
            "Mode 0700, owned by {} (SQL Server's service account); nobody else.",
            account.unwrap_or_else(|| "the service account".into())
        )];
    }
    let mut v = vec![
        "NT AUTHORITY\\SYSTEM: Full control".to_string(),
        "BUILTIN\\Administrators: Full control".to_string(),
    ];
    match account {
        Some(a) => v.push(match sid::service_name(&a) {
            Some(s) => format!("{a} ({}): Full control", sid::service_sid(s)),
            None => format!("{a}: Full control"),
        }),
        None => {
            v.push("The service account (unknown to this login: needs VIEW SERVER STATE)".into())
        }
    }
    v.extend(extra.iter().map(|p| format!("{p}: Full control")));
    v.push("Inheritance off: nothing else inherited from the parent folder.".into());
    v
}

pub async fn plan(state: &AppState, req: &BackupRequest) -> IpcResult<Vec<PlanView>> {
    let mut out = Vec::new();
    for &id in &req.connections {
        let name = state.connection(id)?.info.server_name.clone();
        let mut view = PlanView {
            connection: id,
            server_name: name,
            server_folder: None,
            permissions: vec![],
            keys: vec![],
            problem: None,
        };
        match inventory_of(state, id).await {
            Err(e) => view.problem = Some(e.message),
            Ok(inv) => {
                let placeholder = Password::new("placeholder");
                let opts = BackupOptions {
                    password: placeholder.clone(),
                    // Only where a password is required: a given one is always used, and
                    // the plan shows the statements a run without one would send.
                    master_key_passwords: inv
                        .databases
                        .iter()
                        .filter(|d| {
                            d.master_key.as_ref().is_some_and(|m| {
                                m.protection
                                    == keysafe_core::inventory::MasterKeyProtection::PasswordOnly
                            })
                        })
                        .map(|d| (d.name.clone(), placeholder.clone()))
                        .collect(),
                    certificate_passwords: HashMap::new(),
                    server_dir: server_dir(req),
                    copy_to: PathBuf::from(&req.copy_to),
                    format: None,
                };
                view.server_folder = opts
                    .server_dir
                    .clone()
                    .or_else(|| keysafe_core::backup::default_server_dir(&inv).ok());
                view.permissions = permissions(&inv, &req.acl_principals);
                let forecast = &inv.server.read_back;
                if forecast.verdict == keysafe_core::inventory::ReadBackVerdict::Impossible {
                    view.problem = Some(match &forecast.fix {
                        Some(fix) => format!("{} {fix}", forecast.reason),
                        None => forecast.reason.clone(),
                    });
                }
                let now = chrono::Utc::now();
                for k in selection(req).resolve(&inv) {
                    let label = k.label();
                    view.keys.push(
                        match keysafe_core::backup::plan(&inv, std::slice::from_ref(&k), &opts, now)
                        {
                            Ok(p) => PlannedKey {
                                label,
                                server_files: p
                                    .iter()
                                    .flat_map(|p| p.server_files.clone())
                                    .collect(),
                                script: p
                                    .iter()
                                    .map(|p| p.script.clone())
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                                problem: None,
                            },
                            Err(e) => PlannedKey {
                                label,
                                server_files: vec![],
                                script: String::new(),
                                problem: Some(e.message),
                            },
                        },
                    );
                }
            }
        }
        out.push(view);
    }
    Ok(out)
}

pub async fn run(
    state: &AppState,
    req: BackupRequest,
    secrets: BackupSecrets,
    emit: &(dyn Fn(Progress) + Send + Sync),
) -> IpcResult<RunSummary> {
    if !password::confirmed(&secrets.password.0, &secrets.confirm.0) {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            "The password and its confirmation differ.",
        ));
    }
    run::check_backup_password(&secrets.password.0)?;
    let copy_to = PathBuf::from(req.copy_to.trim());
    if req.copy_to.trim().is_empty() || !copy_to.is_absolute() {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            "Choose the backup medium: a removable volume or a folder (a full path).",
        ));
    }
    let targets = req
        .connections
        .iter()
        .map(|&id| state.connection(id).map(|c| c.options.clone()))
        .collect::<IpcResult<Vec<_>>>()?;
    let settings = RunSettings {
        selection: selection(&req),
        backup: BackupOptions {
            password: secrets.password.0.clone(),
            master_key_passwords: secrets
                .master_key_passwords
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
            certificate_passwords: secrets
                .certificate_passwords
                .iter()
                .filter_map(|(k, v)| {
                    k.split_once('.')
                        .map(|(db, c)| ((db.to_string(), c.to_string()), v.0.clone()))
                })
                .collect(),
            server_dir: server_dir(&req),
            copy_to: copy_to.clone(),
            format: None,
        },
        verify_restore: req.verify_restore,
        server_dir_local: None,
        acl_principals: req.acl_principals.clone(),
    };
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let request = run::RunRequest {
        targets,
        settings,
        concurrency: run::DEFAULT_CONCURRENCY,
        custody: Custody {
            carrier: text(&req.carrier),
            storage_location: text(&req.storage_location),
            notes: text(&req.notes),
        },
        report_dir: state.home.join("reports"),
        history: state.history_path(),
    };
    let progress = |p: Progress| emit(p);
    let run::RunRecord {
        report,
        files: kept,
    } = run::execute(&request, &progress).await?;
    let summary = summarize(&report, &kept);
    state
        .runs
        .lock()
        .expect("runs")
        .insert(summary.run_id.clone(), report);
    Ok(summary)
}

fn summarize(r: &Report, kept: &keysafe_core::report::ReportFiles) -> RunSummary {
    let keys = r
        .instances
        .iter()
        .flat_map(|i| {
            i.keys.iter().map(move |k| KeyOutcome {
                server: i.server.clone(),
                label: k.key.label(),
                outcome: match k.outcome {
                    Outcome::Verified => "verified",
                    Outcome::Failed => "failed",
                    Outcome::Skipped => "skipped",
                }
                .into(),
                files: k
                    .files
                    .iter()
                    .map(|f| FileView {
                        server_path: f.server_path.clone(),
                        copy_path: f.copy.as_ref().map(|c| c.path.display().to_string()),
                        bytes: f.bytes as f64,
                        sha256: f.server_sha256.clone(),
                        verified: f.verified,
                    })
                    .collect(),
                restore_check: k
                    .restore_check
                    .as_ref()
                    .map(|c| serde_json::to_string(c).unwrap_or_default()),
                error: k.error.clone().map(IpcError::from),
            })
        })
        .collect();
    RunSummary {
        run_id: r.run_id.to_string(),
        succeeded: r.succeeded(),
        keys_requested: r.summary.keys_requested as u32,
        keys_verified: r.summary.keys_verified as u32,
        keys,
        instance_errors: r
            .instances
            .iter()
            .filter_map(|i| i.error.clone())
            .map(IpcError::from)
            .collect(),
        folder_protection: r
            .instances
            .iter()
            .map(|i| format!("{}: {}", i.server, i.folder_protection))
            .collect(),
        destination_warnings: r.destination_warnings.clone(),
        report_files: kept.all().iter().map(|p| p.display().to_string()).collect(),
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
        IpcError::new(
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
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                format!("{} is not a file path", path.display()),
            ))
        }
    };
    keysafe_core::copy::write_new(dir, name, body.as_bytes())?;
    Ok(path.display().to_string())
}
