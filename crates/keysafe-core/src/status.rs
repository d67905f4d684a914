//! Each key's backup state, from the server's catalog and Keysafe's history: backed up (a
//! verified backup and no change since), never, or at risk (a risk the inventory flags, or a
//! change after the last verified backup). Object Explorer, History and `keysafe status`
//! all show this one judgment.

use crate::backup::KeyRef;
use crate::history;
use crate::inventory::{Inventory, Severity};
use chrono::NaiveDateTime;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BackupState {
    /// No verified backup is known.
    Never,
    /// A verified backup exists and the key has not changed since.
    BackedUp,
    /// Something needs attention (see `reason`).
    Risk,
}

impl BackupState {
    /// As Object Explorer Details and `keysafe status` say it.
    pub fn words(self) -> &'static str {
        match self {
            BackupState::Never => "NEVER backed up",
            BackupState::BackedUp => "backed up",
            BackupState::Risk => "AT RISK",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    pub key: KeyRef,
    pub label: String,
    pub state: BackupState,
    /// The last verified backup Keysafe made, or the server's own record of one, as text
    /// (for a terminal).
    pub last_backup: Option<String>,
    /// When Keysafe last made a verified backup of it (from the history).
    pub last_verified: Option<chrono::DateTime<chrono::Utc>>,
    /// The backup date the server itself keeps (a certificate's pvt_key_last_backup_date,
    /// turned from the server's local time into UTC), when Keysafe has none.
    pub server_record: Option<NaiveDateTime>,
    /// The key changed after its last verified backup (that backup no longer restores it).
    pub changed_since_backup: bool,
    /// Why the key needs attention.
    pub reason: Option<String>,
    /// Whether Keysafe can back it up: not a certificate without its private key (SQL
    /// Server can export only the public part of one).
    pub can_back_up: bool,
}

/// One key's state. `modified`: when the key last changed; `server_record`: a backup date
/// the server keeps (certificates' pvt_key_last_backup_date); `risk_object`: the name the
/// inventory's risks use for it.
pub fn judge(
    inv: &Inventory,
    last: &history::Verified,
    key: KeyRef,
    identity: Option<&str>,
    modified: Option<NaiveDateTime>,
    server_record: Option<NaiveDateTime>,
    risk_object: &str,
) -> KeyStatus {
    let label = key.label();
    let last_verified = last.last(&inv.server.server_name, &key, identity);
    let risk = inv
        .risks
        .iter()
        .filter(|r| r.severity >= Severity::Warning && r.object.eq_ignore_ascii_case(risk_object))
        .map(|r| r.text.clone())
        .next();
    let last_backup = last_verified
        .map(|l| l.format("%Y-%m-%d %H:%M UTC").to_string())
        .or_else(|| {
            server_record.map(|d| format!("{} UTC (server record)", d.format("%Y-%m-%d %H:%M")))
        });
    let stale = history::staleness(last_verified, modified);
    let changed_since_backup = last_verified.is_some() && stale.is_some();
    let (state, reason) = match (risk, last_verified) {
        (Some(r), _) => (BackupState::Risk, Some(r)),
        (None, Some(_)) => match stale {
            Some(why) => (BackupState::Risk, Some(why)),
            None => (BackupState::BackedUp, None),
        },
        (None, None) if server_record.is_some() => (BackupState::BackedUp, None),
        (None, None) => (BackupState::Never, Some("No verified backup.".into())),
    };
    let can_back_up = match &key {
        KeyRef::Certificate { database, name } => !inv
            .databases
            .iter()
            .filter(|d| d.name.eq_ignore_ascii_case(database))
            .flat_map(|d| &d.certificates)
            .any(|c| c.name.eq_ignore_ascii_case(name) && c.private_key == "NA"),
        _ => true,
    };
    KeyStatus {
        key,
        label,
        state,
        last_backup,
        last_verified,
        server_record: server_record.filter(|_| last_verified.is_none()),
        changed_since_backup,
        reason,
        can_back_up,
    }
}

/// Every key of an instance, in Object Explorer's order: the SMK, then each database's
/// master key and certificates.
pub fn status(inv: &Inventory, entries: &[history::Entry]) -> Vec<KeyStatus> {
    let last = history::last_verified(entries);
    let mut out = Vec::new();
    if let Some(k) = &inv.service_master_key {
        out.push(judge(
            inv,
            &last,
            KeyRef::ServiceMasterKey,
            k.key_guid.as_deref(),
            k.modified,
            None,
            "Service Master Key",
        ));
    }
    for d in &inv.databases {
        if let Some(k) = &d.master_key {
            out.push(judge(
                inv,
                &last,
                KeyRef::DatabaseMasterKey {
                    database: d.name.clone(),
                },
                k.key_guid.as_deref(),
                k.modified,
                None,
                &format!("{} master key", d.name),
            ));
        }
        for c in &d.certificates {
            out.push(judge(
                inv,
                &last,
                KeyRef::Certificate {
                    database: d.name.clone(),
                    name: c.name.clone(),
                },
                Some(c.thumbprint.as_str()),
                None,
                c.last_backup,
                &format!("{}.{}", d.name, c.name),
            ));
        }
    }
    out
}
