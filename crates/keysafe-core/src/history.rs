//! The run history: one JSON line per run in `KEYSAFE_HOME/history.jsonl`, each line's hash
//! covering the previous line's, so an edited or deleted record is detected.

use crate::error::{ErrorCode, KeysafeError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub prev: String,
    pub record: serde_json::Value,
    pub hash: String,
}

fn digest(seq: u64, prev: &str, record: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(seq.to_le_bytes());
    h.update(prev.as_bytes());
    h.update(serde_json::to_vec(record).expect("json"));
    hex::encode(h.finalize())
}

pub fn read(path: &Path) -> Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e.into()),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                KeysafeError::new(
                    ErrorCode::VerificationFailed,
                    format!("history line {} is not a record: {e}", i + 1),
                )
            })
        })
        .collect()
}

/// Checks the chain; returns the first broken sequence number.
pub fn verify(path: &Path) -> Result<std::result::Result<usize, u64>> {
    let entries = read(path)?;
    let mut prev = String::new();
    for (i, e) in entries.iter().enumerate() {
        if e.seq != i as u64 || e.prev != prev || digest(e.seq, &e.prev, &e.record) != e.hash {
            return Ok(Err(e.seq));
        }
        prev = e.hash.clone();
    }
    Ok(Ok(entries.len()))
}

/// Appends a record (fsynced).
pub fn append(path: &Path, record: serde_json::Value) -> Result<Entry> {
    let entries = read(path)?;
    let (seq, prev) = entries
        .last()
        .map(|e| (e.seq + 1, e.hash.clone()))
        .unwrap_or((0, String::new()));
    let hash = digest(seq, &prev, &record);
    let e = Entry {
        seq,
        prev,
        record,
        hash,
    };
    if let Some(d) = path.parent() {
        crate::private_fs::create_dir_all(d)?;
    }
    let mut f = crate::private_fs::new_file()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{}", serde_json::to_string(&e).expect("json"))?;
    f.sync_all()?;
    Ok(e)
}

/// The version of the run records Keysafe writes now. Version 1 (no `schema` field) is read
/// the same way: its fields are a subset.
pub const RECORD_SCHEMA: u32 = 2;

fn schema_1() -> u32 {
    1
}

/// One run in the history, as written by `record_run`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    #[serde(default = "schema_1")]
    pub schema: u32,
    pub run_id: uuid::Uuid,
    pub started: chrono::DateTime<chrono::Utc>,
    pub finished: chrono::DateTime<chrono::Utc>,
    pub operator: String,
    pub succeeded: bool,
    pub summary: RunCounts,
    /// The run's JSON report (the HTML and CSV beside it share its name).
    pub report: std::path::PathBuf,
    pub keys: Vec<KeyRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunCounts {
    pub instances: usize,
    pub keys_requested: usize,
    pub keys_verified: usize,
    pub failures: usize,
}

/// One key of a run, by its identity (server and key), with what became of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyRecord {
    pub server: String,
    pub key: crate::backup::KeyRef,
    /// As people read it; the identity is `key`.
    pub label: String,
    pub outcome: crate::backup::Outcome,
    pub sha256: Vec<String>,
    /// A certificate's thumbprint when it was backed up (records since 2026-12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
}

impl Entry {
    /// The run this entry records, or None for a line that is not one.
    pub fn run(&self) -> Option<RunRecord> {
        serde_json::from_value(self.record.clone()).ok()
    }
}

/// Records a restore, proven or failed: what was restored from which medium onto which
/// instance, the statement with its passwords masked, and the proof or the error. The
/// record has `"action": "restore"`, so it is never read as a backup run.
pub fn record_restore(
    path: &Path,
    report: &Path,
    outcome: &std::result::Result<crate::restore::RestoreResult, crate::error::KeysafeError>,
    key: &str,
    target: &str,
) -> Result<Entry> {
    let (succeeded, detail) = match outcome {
        Ok(r) => (true, serde_json::to_value(r).expect("a restore serializes")),
        Err(e) => (
            false,
            serde_json::json!({ "key": key, "target_server": target, "error": e }),
        ),
    };
    append(
        path,
        serde_json::json!({
            "schema": RECORD_SCHEMA,
            "action": "restore",
            "at": chrono::Utc::now(),
            "operator": crate::report::current_operator(),
            "succeeded": succeeded,
            "medium_report": report,
            "restore": detail,
        }),
    )
}

/// Records a finished run: its summary, where its JSON report is, and each key's outcome
/// and file hashes (never a secret: the report holds none).
pub fn record_run(
    path: &Path,
    report: &crate::report::Report,
    report_json: &Path,
) -> Result<Entry> {
    let s = &report.summary;
    let record = RunRecord {
        schema: RECORD_SCHEMA,
        run_id: report.run_id,
        started: report.started,
        finished: report.finished,
        operator: report.operator.clone(),
        succeeded: report.succeeded(),
        summary: RunCounts {
            instances: s.instances,
            keys_requested: s.keys_requested,
            keys_verified: s.keys_verified,
            failures: s.failures,
        },
        report: report_json.to_path_buf(),
        keys: report
            .instances
            .iter()
            .flat_map(|i| {
                i.keys.iter().map(move |k| KeyRecord {
                    server: i.server.clone(),
                    key: k.key.clone(),
                    label: k.key.label(),
                    outcome: k.outcome,
                    sha256: k.files.iter().map(|f| f.server_sha256.clone()).collect(),
                    thumbprint: k.thumbprint.clone(),
                })
            })
            .collect(),
    };
    append(
        path,
        serde_json::to_value(record).expect("a run record serializes"),
    )
}

/// When each key (server, in lower case, and the key's identity) last had a verified backup,
/// according to the history.
/// The last verified backup of each key. A certificate is identified by its thumbprint: one
/// dropped and created again under the same name is another key, which no copy of the old one
/// restores (records without a thumbprint, from before 2026-12, vouch for no certificate).
#[derive(Debug, Clone, Default)]
pub struct Verified {
    by_key:
        std::collections::HashMap<(String, crate::backup::KeyRef), chrono::DateTime<chrono::Utc>>,
    by_thumbprint: std::collections::HashMap<(String, String), chrono::DateTime<chrono::Utc>>,
}

impl Verified {
    /// When `key` of `server` was last backed up and verified; for a certificate, this very
    /// certificate (`thumbprint`, as the server shows it now).
    pub fn last(
        &self,
        server: &str,
        key: &crate::backup::KeyRef,
        thumbprint: Option<&str>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        match (key, thumbprint) {
            (crate::backup::KeyRef::Certificate { .. }, Some(t)) => self
                .by_thumbprint
                .get(&(server.to_lowercase(), t.to_uppercase()))
                .copied(),
            _ => self
                .by_key
                .get(&(server.to_lowercase(), key.clone()))
                .copied(),
        }
    }
}

pub fn last_verified(entries: &[Entry]) -> Verified {
    let mut out = Verified::default();
    let later = |slot: &mut chrono::DateTime<chrono::Utc>, t| {
        if t > *slot {
            *slot = t;
        }
    };
    for run in entries.iter().filter_map(Entry::run) {
        for k in run
            .keys
            .iter()
            .filter(|k| k.outcome == crate::backup::Outcome::Verified)
        {
            let server = k.server.to_lowercase();
            later(
                out.by_key
                    .entry((server.clone(), k.key.clone()))
                    .or_insert(run.finished),
                run.finished,
            );
            if let Some(t) = &k.thumbprint {
                later(
                    out.by_thumbprint
                        .entry((server, t.to_uppercase()))
                        .or_insert(run.finished),
                    run.finished,
                );
            }
        }
    }
    out
}

/// Why a key needs a backup: none verified yet, or the key changed after the last one.
pub fn staleness(
    last: Option<chrono::DateTime<chrono::Utc>>,
    key_modified: Option<chrono::NaiveDateTime>,
) -> Option<String> {
    match (last, key_modified) {
        (None, _) => Some("No verified backup in Keysafe's history.".into()),
        (Some(l), Some(m)) if m.and_utc() > l => Some(format!(
            "The key changed on {} after its last verified backup ({}).",
            m.format("%Y-%m-%d %H:%M"),
            l.format("%Y-%m-%d %H:%M")
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as Keysafe wrote it before records had a schema (version 1).
    const V1_LINE: &str = r#"{"run_id":"6f1d3b2a-1111-4c3e-9a41-2b3c4d5e6f70","started":"2026-01-01T00:00:00Z","finished":"2026-01-01T00:00:05Z","operator":"ops","succeeded":true,"summary":{"instances":1,"keys_requested":1,"keys_verified":1,"failures":0},"report":"/media/KEYS/keysafe-report-20260101T000000Z-6f1d3b2a.json","keys":[{"server":"SQL01","key":{"kind":"service_master_key"},"label":"Service Master Key","outcome":"verified","sha256":["AB"]}]}"#;

    #[test]
    fn a_key_changed_after_its_last_verified_backup_is_stale() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history.jsonl");
        let v1: serde_json::Value = serde_json::from_str(V1_LINE).unwrap();
        append(&p, v1.clone()).unwrap();
        // A later run in today's format, failed: not a verified backup.
        let mut failed: RunRecord = serde_json::from_value(v1).unwrap();
        assert_eq!(failed.schema, 1, "an old line reads as version 1");
        failed.schema = RECORD_SCHEMA;
        failed.finished = "2026-03-01T00:00:00Z".parse().unwrap();
        failed.keys[0].outcome = crate::backup::Outcome::Failed;
        append(&p, serde_json::to_value(&failed).unwrap()).unwrap();
        let entries = read(&p).unwrap();
        assert!(entries.iter().all(|e| e.run().is_some()));
        let last = last_verified(&entries);
        let smk = last.last("SQL01", &crate::backup::KeyRef::ServiceMasterKey, None);
        assert_eq!(
            smk,
            Some("2026-01-01T00:00:05Z".parse().unwrap()),
            "a failed run is not a verified backup"
        );
        let changed =
            |s: &str| Some(chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap());
        assert!(staleness(smk, changed("2026-02-01 00:00"))
            .unwrap()
            .contains("changed on 2026-02-01"));
        assert_eq!(staleness(smk, changed("2025-12-01 00:00")), None);
        assert!(staleness(None, None)
            .unwrap()
            .contains("No verified backup"));
    }

    #[test]
    fn an_edited_record_breaks_the_chain() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history.jsonl");
        for i in 0..3 {
            append(&p, serde_json::json!({"run": i, "verified": true})).unwrap();
        }
        assert_eq!(verify(&p).unwrap(), Ok(3));
        let text = std::fs::read_to_string(&p).unwrap().replace(
            "\"run\":1,\"verified\":true",
            "\"run\":1,\"verified\":false",
        );
        std::fs::write(&p, text).unwrap();
        assert_eq!(verify(&p).unwrap(), Err(1));
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&p, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert_eq!(
            verify(&p).unwrap(),
            Err(2),
            "a deleted record is detected too"
        );
    }
}
