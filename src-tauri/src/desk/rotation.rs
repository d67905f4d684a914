//! The Rotate Certificate dialog: the engine's rotation plan across the primary and every
//! member, with its steps heard as they start.

use crate::error::{IpcResult, KeysafeError};
use crate::state::AppState;
use crate::types::{RotateRequest, RotateSecrets};
use keysafe_core::backup::Secrets;
use keysafe_core::report::Custody;
use keysafe_core::rotation::{self, Rotation, RotationRequest};
use keysafe_core::run::{self, RunSettings, Selection};
use keysafe_core::ErrorCode;

pub async fn rotate(
    state: &AppState,
    req: RotateRequest,
    secrets: RotateSecrets,
    step: &(dyn Fn(&str) + Sync),
) -> IpcResult<Rotation> {
    let members = super::parity::members(state, &req.connections, req.group.as_deref())?;
    if members.is_empty() {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            "Tick the primary, and every server its databases can end up on.",
        ));
    }
    let keys = Secrets::chosen(secrets.password.0.clone(), Some(&secrets.confirm.0))?;
    let expiry = match req.expiry.trim() {
        "" => None,
        d => Some(
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                KeysafeError::new(
                    ErrorCode::InvalidInput,
                    format!("'{d}' is not a date: use YYYY-MM-DD, or leave it empty."),
                )
            })?,
        ),
    };
    let copy_to = super::medium_path(
        &req.copy_to,
        "Choose the medium for the new certificate's backup: a removable volume or a folder (a full path).",
    )?;
    run::prepare_medium(&copy_to)?;
    let subject = Some(req.subject.trim().to_string()).filter(|s| !s.is_empty());
    let request = RotationRequest {
        members,
        certificate: req.certificate.trim().to_string(),
        new_name: req.new_name.trim().to_string(),
        subject,
        expiry,
        take_log_backups: req.take_log_backups,
        log_backup_dir: None,
        backup: run::RunRequest {
            targets: vec![],
            settings: RunSettings::new(Selection::All, &copy_to),
            concurrency: 1,
            custody: Custody::default(),
            // The medium describes itself, as after a backup.
            report_dir: copy_to.clone(),
            history: state.history_path(),
            instance_splits: Default::default(),
            parity_risks: Default::default(),
        },
    };
    let master_key = secrets.new_master_key.as_ref().map(|s| &s.0);
    Ok(rotation::rotate(&request, &keys, master_key, step).await)
}
