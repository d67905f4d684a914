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

#[cfg(test)]
mod tests {
    use super::*;

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
