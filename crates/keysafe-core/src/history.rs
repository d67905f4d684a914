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
        std::fs::create_dir_all(d)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{}", serde_json::to_string(&e).expect("json"))?;
    f.sync_all()?;
    Ok(e)
}

/// Records a finished run: its summary, where its JSON report is, and each key's outcome
/// and file hashes (never a secret: the report holds none).
pub fn record_run(
    path: &Path,
    report: &crate::report::Report,
    report_json: &Path,
) -> Result<Entry> {
    let record = serde_json::json!({
        "run_id": report.run_id, "started": report.started, "finished": report.finished, "operator": report.operator,
        "succeeded": report.succeeded(), "summary": report.summary, "report": report_json,
        "keys": report.instances.iter().flat_map(|i| i.keys.iter().map(move |k| serde_json::json!({
            "server": i.server, "key": k.key, "label": k.key.label(), "outcome": k.outcome,
            "sha256": k.files.iter().map(|f| f.server_sha256.clone()).collect::<Vec<_>>(),
        }))).collect::<Vec<_>>(),
    });
    append(path, record)
}

/// When each key (server, key label) last had a verified backup, according to the history.
pub fn last_verified(
    entries: &[Entry],
) -> std::collections::HashMap<(String, String), chrono::DateTime<chrono::Utc>> {
    let mut out = std::collections::HashMap::new();
    for e in entries {
        let Some(finished) = e.record["finished"]
            .as_str()
            .and_then(|f| f.parse::<chrono::DateTime<chrono::Utc>>().ok())
        else {
            continue;
        };
        for k in e.record["keys"].as_array().into_iter().flatten() {
            if k["outcome"] != "verified" {
                continue;
            }
            let (Some(server), Some(label)) = (k["server"].as_str(), k["label"].as_str()) else {
                continue;
            };
            let slot = out
                .entry((server.to_lowercase(), label.to_string()))
                .or_insert(finished);
            if finished > *slot {
                *slot = finished;
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

    #[test]
    fn a_key_changed_after_its_last_verified_backup_is_stale() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history.jsonl");
        for (finished, outcome) in [
            ("2026-01-01T00:00:00Z", "verified"),
            ("2026-03-01T00:00:00Z", "failed"),
        ] {
            append(&p, serde_json::json!({"finished": finished, "keys": [{"server": "SQL01", "label": "Service Master Key", "outcome": outcome}]})).unwrap();
        }
        let last = last_verified(&read(&p).unwrap());
        let smk = last
            .get(&("sql01".to_string(), "Service Master Key".to_string()))
            .copied();
        assert_eq!(
            smk,
            Some("2026-01-01T00:00:00Z".parse().unwrap()),
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
