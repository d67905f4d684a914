//! The run history: one JSON line per run in `KEYSAFE_HOME/history.jsonl`, chained and keyed.
//!
//! Each record carries an HMAC-SHA256 over its sequence number, the previous record's MAC and
//! its content, under a key kept in the OS keyring (account `keysafe-history:<file>`), beside
//! the sequence number and MAC of the newest record written. So an edited or forged record
//! fails its MAC, a removed, duplicated or moved one breaks the sequence, and a truncated or
//! emptied file falls short of the newest record the keyring vouches for. Every report a run
//! leaves on the medium names the record the run was written as (`HistoryLink`), so a history
//! deleted with its key still disagrees with its media. Only records whose MAC holds are
//! believed (`Loaded::vouched`). Where no keyring answers, the key lives in `history.key`
//! beside the history (0600): evidence against others, not against this account.
//!
//! Writers hold an exclusive lock on `history.jsonl.lock`, so concurrent runs never share a
//! sequence number; a damaged line is reported with its number and never stops a run from
//! being recorded.

use crate::error::{ErrorCode, KeysafeError, Result};
use crate::profiles::{OsKeyring, SecretStore};
use crate::secret::Password;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The history's file in a Keysafe home (KEYSAFE_HOME): the CLI's and the app's.
pub fn in_home(home: &Path) -> PathBuf {
    home.join("history.jsonl")
}

/// One line of the history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub seq: u64,
    /// The MAC of the record before (empty for the first).
    pub prev: String,
    pub record: serde_json::Value,
    /// HMAC-SHA256 under the history key, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The unkeyed SHA-256 of records written before the chain was keyed: anyone could
    /// recompute it, so such a record is read but never vouched for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Its line in the file (1-based).
    #[serde(skip)]
    pub line: usize,
    /// Whether its MAC holds under this history's key.
    #[serde(skip)]
    pub vouched: bool,
}

impl Entry {
    /// What the next record names as `prev`.
    fn link(&self) -> &str {
        self.mac.as_deref().or(self.hash.as_deref()).unwrap_or("")
    }
}

fn mac(key: &[u8], seq: u64, prev: &str, record: &serde_json::Value) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(b"keysafe.history/2\0");
    m.update(&seq.to_le_bytes());
    m.update(&(prev.len() as u64).to_le_bytes());
    m.update(prev.as_bytes());
    m.update(&serde_json::to_vec(record).expect("json"));
    hex::encode(m.finalize().into_bytes())
}

/// What the keyring keeps for a history: its key, and the newest record written.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Anchor {
    key: String,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    mac: Option<String>,
}

/// Where the history's key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPlace {
    /// The OS keyring (Secret Service, Windows Credential Manager, Keychain).
    Keyring,
    /// `history.key` beside the history: no keyring answered.
    LocalFile,
    /// A store given by the caller (tests).
    Given,
}

/// One finding of `History::load`: each names the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// Not a record at all (not JSON, or not shaped as one).
    Damaged { line: usize, error: String },
    /// Its MAC does not hold: edited, forged, or written without the key.
    NotVouched { line: usize, seq: u64 },
    /// It does not follow the record before it: one was removed, added or moved here.
    Broken { line: usize, seq: u64 },
    /// The newest record the keyring vouches for is not in the file.
    Truncated { anchored: u64, last: Option<u64> },
    /// Records are keyed, but the key is gone.
    KeyMissing { records: usize },
    /// A report on the medium names a record this history does not hold.
    MissingRun { report: String, seq: u64 },
}

impl Problem {
    pub fn explain(&self) -> String {
        match self {
            Problem::Damaged { line, error } => {
                format!("line {line} is not a history record ({error})")
            }
            Problem::NotVouched { line, seq } => format!(
                "line {line} (record {seq}) was not written by Keysafe with this history's key: edited or forged"
            ),
            Problem::Broken { line, seq } => format!(
                "line {line} (record {seq}) does not follow the record before it: a record was removed, added or moved"
            ),
            Problem::Truncated { anchored, last } => format!(
                "the history ends at {} but record {anchored} was written: records were removed from its end",
                last.map(|l| format!("record {l}"))
                    .unwrap_or_else(|| "no record".into())
            ),
            Problem::KeyMissing { records } => format!(
                "the history's key is gone from the keyring: none of its {records} keyed record(s) can be vouched for"
            ),
            Problem::MissingRun { report, seq } => format!(
                "the medium's report {report} was recorded as record {seq}, which this history does not hold"
            ),
        }
    }
}

/// What reading the history found: what it holds and what is wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub records: usize,
    pub vouched: usize,
    pub key_place: KeyPlace,
    pub problems: Vec<Problem>,
}

impl Audit {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The history as read: every record that parses (with its line), and the audit.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub entries: Vec<Entry>,
    pub audit: Audit,
}

impl Loaded {
    /// The records the key vouches for: the only ones to believe.
    pub fn vouched(&self) -> Vec<Entry> {
        self.entries.iter().filter(|e| e.vouched).cloned().collect()
    }
}

/// Which record of which history a run was written as: kept in its report on the medium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLink {
    /// The history file, as this workstation names it.
    pub history: String,
    pub seq: u64,
    pub prev: String,
}

/// A history file with the place its key is kept.
pub struct History {
    path: PathBuf,
    store: Box<dyn SecretStore + Send + Sync>,
    account: String,
    place: KeyPlace,
}

/// A secret kept in one file (0600): the history key where no keyring answers.
struct FileStore(PathBuf);

impl SecretStore for FileStore {
    fn set(&self, _account: &str, secret: &Password) -> Result<()> {
        let tmp = self.0.with_extension("key.tmp");
        let mut f = crate::private_fs::new_file()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(secret.expose().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.0)?;
        Ok(())
    }
    fn get(&self, _account: &str) -> Result<Option<Password>> {
        match std::fs::read_to_string(&self.0) {
            Ok(t) => Ok(Some(Password::new(t))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
    fn delete(&self, _account: &str) -> Result<()> {
        match std::fs::remove_file(&self.0) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn damaged(line: usize, e: impl std::fmt::Display) -> Problem {
    Problem::Damaged {
        line,
        error: e.to_string(),
    }
}

impl History {
    /// The history at `path`, keyed in the OS keyring; where none answers (or the history was
    /// started without one), in `history.key` beside it.
    pub fn open(path: &Path) -> Result<History> {
        if let Some(d) = path.parent() {
            crate::private_fs::create_dir_all(d)?;
        }
        let name = path
            .parent()
            .and_then(|d| std::fs::canonicalize(d).ok())
            .map(|d| d.join(path.file_name().unwrap_or_default()))
            .unwrap_or_else(|| path.to_path_buf());
        let account = format!("keysafe-history:{}", name.display());
        let file = path.with_extension("key");
        // A keyring that errs may be busy (concurrent runs): asked again before the local
        // file is chosen, so two runs at once never key one history in two places.
        let mut keyring = OsKeyring.get(&account);
        for _ in 0..3 {
            if keyring.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            keyring = OsKeyring.get(&account);
        }
        let use_keyring = match keyring {
            Ok(Some(_)) => true,
            Ok(None) => !file.exists(),
            Err(e) => {
                tracing::warn!(error = %e.message, "history key: no keyring, using the local key file");
                false
            }
        };
        Ok(if use_keyring {
            History {
                path: path.to_path_buf(),
                store: Box::new(OsKeyring),
                account,
                place: KeyPlace::Keyring,
            }
        } else {
            History {
                path: path.to_path_buf(),
                store: Box::new(FileStore(file)),
                account,
                place: KeyPlace::LocalFile,
            }
        })
    }

    /// The history at `path` with its key in `store` (tests).
    pub fn with_store(
        path: &Path,
        store: Box<dyn SecretStore + Send + Sync>,
        account: &str,
    ) -> History {
        History {
            path: path.to_path_buf(),
            store,
            account: account.into(),
            place: KeyPlace::Given,
        }
    }

    /// How reports name this history.
    pub fn name(&self) -> String {
        format!("{}:{}", crate::host::hostname(), self.account)
    }

    fn anchor(&self) -> Result<Option<Anchor>> {
        let Some(s) = self.store.get(&self.account)? else {
            return Ok(None);
        };
        serde_json::from_str(s.expose()).map(Some).map_err(|e| {
            KeysafeError::new(
                ErrorCode::VerificationFailed,
                format!("The history's key in the keyring is damaged: {e}"),
            )
        })
    }

    fn key_of(a: &Anchor) -> Option<Vec<u8>> {
        hex::decode(&a.key).ok().filter(|k| k.len() == 32)
    }

    /// Reads and audits the history. Damaged lines are findings, never errors.
    pub fn load(&self) -> Result<Loaded> {
        let anchor = self.anchor()?;
        let key = anchor.as_ref().and_then(History::key_of);
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(e.into()),
        };
        let mut problems = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        // What the next record must be: its sequence number and its `prev`; unknown after a
        // damaged line.
        let mut expect = Some((0u64, String::new()));
        for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
            let line = i + 1;
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = std::str::from_utf8(raw)
                .map_err(|e| damaged(line, e))
                .and_then(|l| serde_json::from_str::<Entry>(l).map_err(|e| damaged(line, e)));
            let mut e = match parsed {
                Ok(e) => e,
                Err(p) => {
                    problems.push(p);
                    expect = None;
                    continue;
                }
            };
            e.line = line;
            e.vouched = match (&key, &e.mac) {
                (Some(k), Some(m)) => mac(k, e.seq, &e.prev, &e.record) == *m,
                _ => false,
            };
            if !e.vouched {
                problems.push(Problem::NotVouched { line, seq: e.seq });
            }
            if let Some((seq, prev)) = &expect {
                if e.seq != *seq || e.prev != *prev {
                    problems.push(Problem::Broken { line, seq: e.seq });
                }
            }
            expect = Some((e.seq + 1, e.link().to_string()));
            entries.push(e);
        }
        let keyed = entries.iter().filter(|e| e.mac.is_some()).count();
        if key.is_none() && keyed > 0 {
            problems.retain(|p| !matches!(p, Problem::NotVouched { .. }));
            problems.insert(0, Problem::KeyMissing { records: keyed });
        }
        if let Some(Anchor {
            seq: Some(s),
            mac: Some(m),
            ..
        }) = &anchor
        {
            if !entries
                .iter()
                .any(|e| e.vouched && e.seq == *s && e.mac.as_deref() == Some(m))
            {
                problems.push(Problem::Truncated {
                    anchored: *s,
                    last: entries.iter().filter(|e| e.vouched).map(|e| e.seq).max(),
                });
            }
        }
        Ok(Loaded {
            audit: Audit {
                records: entries.len(),
                vouched: entries.iter().filter(|e| e.vouched).count(),
                key_place: self.place,
                problems,
            },
            entries,
        })
    }

    /// Locks the history for writing (other runs wait) and works out the next record.
    pub fn writer(&self) -> Result<Writer<'_>> {
        if let Some(d) = self.path.parent() {
            crate::private_fs::create_dir_all(d)?;
        }
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let lock = crate::private_fs::new_file()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        lock.lock()?;
        // A history that has records has a key: when its store does not answer with it at
        // once, it is asked again before a new key is made, which would leave every record
        // before unvouched (Wine's Credential Manager has been seen to miss a key another
        // process had just written, with six runs at once).
        let mut anchor = self.anchor()?;
        let has_records = std::fs::metadata(&self.path).is_ok_and(|m| m.len() > 0);
        for _ in 0..10 {
            if !has_records || anchor.as_ref().and_then(History::key_of).is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            anchor = self.anchor()?;
        }
        let anchor = match anchor {
            Some(a) if History::key_of(&a).is_some() => a,
            _ => {
                // thread_rng: ChaCha seeded from the operating system's generator.
                let key: [u8; 32] = rand::random();
                let a = Anchor {
                    key: hex::encode(key),
                    seq: None,
                    mac: None,
                };
                self.store_anchor(&a)?;
                a
            }
        };
        let key = History::key_of(&anchor).expect("checked above");
        // After the newest record this key vouches for, whether the file or the keyring
        // knows it better (a crash may leave the keyring one behind, never ahead).
        let loaded = self.load()?;
        let newest = loaded
            .entries
            .iter()
            .filter(|e| e.vouched)
            .max_by_key(|e| e.seq)
            .map(|e| (e.seq, e.mac.clone().unwrap_or_default()));
        let anchored = anchor.seq.zip(anchor.mac.clone());
        let (next, prev) = match (newest, anchored) {
            (Some(n), Some(a)) => {
                let (s, m) = if a.0 > n.0 { a } else { n };
                (s + 1, m)
            }
            (Some((s, m)), None) | (None, Some((s, m))) => (s + 1, m),
            (None, None) => (0, String::new()),
        };
        Ok(Writer {
            history: self,
            _lock: lock,
            anchor,
            key,
            next,
            prev,
        })
    }

    fn store_anchor(&self, a: &Anchor) -> Result<()> {
        self.store.set(
            &self.account,
            &Password::new(serde_json::to_string(a).expect("json")),
        )
    }

    /// Appends one record (locked, fsynced).
    pub fn append(&self, record: serde_json::Value) -> Result<Entry> {
        self.writer()?.append(record)
    }
}

/// The history locked for one record.
pub struct Writer<'h> {
    history: &'h History,
    _lock: std::fs::File,
    anchor: Anchor,
    key: Vec<u8>,
    next: u64,
    prev: String,
}

impl Writer<'_> {
    /// The record the next append writes, for the run's report.
    pub fn link(&self) -> HistoryLink {
        HistoryLink {
            history: self.history.name(),
            seq: self.next,
            prev: self.prev.clone(),
        }
    }

    pub fn append(mut self, record: serde_json::Value) -> Result<Entry> {
        let m = mac(&self.key, self.next, &self.prev, &record);
        let e = Entry {
            seq: self.next,
            prev: self.prev.clone(),
            record,
            mac: Some(m.clone()),
            hash: None,
            line: 0,
            vouched: true,
        };
        let mut f = crate::private_fs::new_file()
            .create(true)
            .append(true)
            .open(&self.history.path)?;
        // A damaged last line without its line feed must not swallow this record.
        let len = f.metadata()?.len();
        let ends_in_newline = len == 0 || {
            use std::io::{Read, Seek, SeekFrom};
            let mut r = std::fs::File::open(&self.history.path)?;
            r.seek(SeekFrom::Start(len - 1))?;
            let mut b = [0u8; 1];
            r.read_exact(&mut b)?;
            b[0] == b'\n'
        };
        let line = format!(
            "{}{}\n",
            if ends_in_newline { "" } else { "\n" },
            serde_json::to_string(&e).expect("json")
        );
        f.write_all(line.as_bytes())?;
        f.sync_all()?;
        self.anchor.seq = Some(e.seq);
        self.anchor.mac = Some(m);
        if let Err(err) = self.history.store_anchor(&self.anchor) {
            // The record is written and vouched for by its MAC; the keyring only lags.
            tracing::warn!(error = %err.message, "history: the keyring did not take the newest record");
        }
        Ok(e)
    }
}

/// The history's records that its key vouches for (the only ones to believe).
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    Ok(History::open(path)?.load()?.vouched())
}

/// Reads and audits the history.
pub fn load(path: &Path) -> Result<Loaded> {
    History::open(path)?.load()
}

/// Appends a record (locked, keyed, fsynced).
pub fn append(path: &Path, record: serde_json::Value) -> Result<Entry> {
    History::open(path)?.append(record)
}

/// Checks the reports in `medium` (keysafe-report-*.json) against the history: each one
/// written with this history must find its record there.
pub fn check_medium(loaded: &Loaded, name: &str, medium: &Path) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let dir = std::fs::read_dir(medium).map_err(|e| {
        KeysafeError::new(
            ErrorCode::NotFound,
            format!("Cannot read {}: {e}", medium.display()),
        )
    })?;
    let mut reports: Vec<PathBuf> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("keysafe-report-") && n.ends_with(".json"))
        })
        .collect();
    reports.sort();
    for r in reports {
        // A report is input like any other: bounded, and skipped when it is not one.
        let Ok(meta) = std::fs::symlink_metadata(&r) else {
            continue;
        };
        if !meta.is_file() || meta.len() > 64 << 20 {
            continue;
        }
        let Ok(v) = std::fs::read(&r)
            .map_err(|_| ())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).map_err(|_| ()))
        else {
            continue;
        };
        let Ok(link) = serde_json::from_value::<HistoryLink>(v["history"].clone()) else {
            continue;
        };
        if link.history != name {
            continue;
        }
        let run_id = v["run_id"].as_str().unwrap_or_default();
        let held = loaded.entries.iter().any(|e| {
            e.vouched
                && e.seq == link.seq
                && e.prev == link.prev
                && e.record["run_id"].as_str() == Some(run_id)
        });
        if !held {
            problems.push(Problem::MissingRun {
                report: r
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                seq: link.seq,
            });
        }
    }
    Ok(problems)
}

/// The version of the run records Keysafe writes now. Version 1 (no `schema` field) is read
/// the same way: its fields are a subset.
pub const RECORD_SCHEMA: u32 = 2;

fn schema_1() -> u32 {
    1
}

/// One run in the history, as written by `report::record_run`.
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
    /// A master key's key_guid when it was backed up (records since 2026-12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_guid: Option<String>,
}

impl Entry {
    /// The run this entry records, or None for a line that is not one.
    pub fn run(&self) -> Option<RunRecord> {
        serde_json::from_value(self.record.clone()).ok()
    }
}

/// One line of the history as people read it, the same in the app's History and in
/// `keysafe history`: a backup run or a restore.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Row {
    /// A backup run's id; None for a restore.
    pub run_id: Option<String>,
    /// When it ended, RFC 3339 in UTC.
    pub finished: String,
    pub operator: String,
    pub succeeded: bool,
    /// "Succeeded" or "FAILED".
    pub verdict: String,
    /// What it was: "3 of 3 keys verified", "restore of the Sales database master key on SQL02".
    pub what: String,
    /// The instances it touched.
    pub servers: Vec<String>,
    /// A run's JSON report (the HTML and CSV beside it share its name).
    pub report: Option<String>,
}

/// The rows of vouched-for `entries`, oldest first: backup runs, restores, rotations and
/// retired certificates. Other lines are left out.
pub fn rows(entries: &[Entry]) -> Vec<Row> {
    let verdict = |ok: bool| if ok { "Succeeded" } else { "FAILED" }.to_string();
    entries
        .iter()
        .filter_map(|e| {
            // A restore, a rotation or a retired certificate: its words and servers, then
            // the row every such record makes.
            let (r, server) = (&e.record, |v: &serde_json::Value| {
                v.as_str().unwrap_or("?").to_string()
            });
            let other = match r["action"].as_str() {
                Some("restore") => {
                    let target = server(&r["restore"]["target_server"]);
                    Some((
                        r["succeeded"] == true,
                        format!(
                            "restore of the {} on {target}",
                            r["restore"]["key"].as_str().unwrap_or("?")
                        ),
                        vec![target],
                    ))
                }
                Some("retired") => {
                    let on = server(&r["retired"]["server"]);
                    Some((
                        true,
                        format!(
                            "certificate {} dropped on {on}: no kept backup needed it",
                            r["retired"]["name"].as_str().unwrap_or("?")
                        ),
                        vec![on],
                    ))
                }
                Some("rotation") => {
                    let rot = &r["rotation"];
                    let on = server(&rot["server"]);
                    let old = rot["retiring"]["name"].as_str().unwrap_or("?");
                    let what = format!(
                        "rotation of {old} to {} on {on} ({old} retiring)",
                        rot["new"]["name"].as_str().unwrap_or("?")
                    );
                    let mut servers = vec![on];
                    servers.extend(
                        rot["copied_to"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str().map(str::to_string)),
                    );
                    Some((true, what, servers))
                }
                _ => None,
            };
            if let Some((succeeded, what, servers)) = other {
                let at = r["at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())?
                    .with_timezone(&chrono::Utc);
                return Some(Row {
                    run_id: None,
                    finished: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    operator: r["operator"].as_str().unwrap_or("").to_string(),
                    succeeded,
                    verdict: verdict(succeeded),
                    what,
                    servers,
                    report: None,
                });
            }
            let r = e.run()?;
            let mut servers: Vec<String> = r.keys.iter().map(|k| k.server.clone()).collect();
            servers.dedup();
            Some(Row {
                run_id: Some(r.run_id.to_string()),
                finished: r
                    .finished
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                operator: r.operator,
                succeeded: r.succeeded,
                verdict: verdict(r.succeeded),
                what: format!(
                    "{} of {} verified",
                    r.summary.keys_verified,
                    crate::words::count(r.summary.keys_requested as u64, "key")
                ),
                servers,
                report: Some(r.report.display().to_string()),
            })
        })
        .collect()
}

/// Records a TDE certificate's rotation: which databases the new certificate protects now,
/// the members it was copied to, and the old one kept as retiring. The record has
/// `"action": "rotation"`.
#[allow(clippy::too_many_arguments)]
pub fn record_rotation(
    path: &Path,
    primary: &str,
    old_name: &str,
    old_thumbprint: &str,
    new_name: &str,
    new_thumbprint: &str,
    databases: &[String],
    members: &[String],
) -> Result<Entry> {
    append(
        path,
        serde_json::json!({
            "schema": RECORD_SCHEMA,
            "action": "rotation",
            "at": chrono::Utc::now(),
            "operator": crate::host::current_operator(),
            "succeeded": true,
            "rotation": {
                "server": primary,
                "retiring": { "name": old_name, "thumbprint": old_thumbprint },
                "new": { "name": new_name, "thumbprint": new_thumbprint },
                "databases": databases,
                "copied_to": members,
            },
        }),
    )
}

/// Records a restore, proven or failed: what was restored from which medium onto which
/// instance, the statement with its passwords masked, and the proof or the error. The
/// record has `"action": "restore"`, so it is never read as a backup run.
pub fn record_restore(
    path: &Path,
    report: &Path,
    outcome: std::result::Result<&impl serde::Serialize, &crate::error::KeysafeError>,
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
            "operator": crate::host::current_operator(),
            "succeeded": succeeded,
            "medium_report": report,
            "restore": detail,
        }),
    )
}

/// The last verified backup of each key, by what the key is: a certificate by its
/// thumbprint, a master key by its key_guid. One dropped and created again under the same
/// name is another key, which no copy of the old one restores (records without the identity,
/// from before 2026-12, vouch for no such key).
#[derive(Debug, Clone, Default)]
pub struct Verified {
    by_key:
        std::collections::HashMap<(String, crate::backup::KeyRef), chrono::DateTime<chrono::Utc>>,
    by_identity: std::collections::HashMap<(String, String), chrono::DateTime<chrono::Utc>>,
}

/// A key's identity as the history keys it: the kind, so a GUID never matches a thumbprint.
fn identity(key: &crate::backup::KeyRef, id: &str) -> String {
    match key {
        crate::backup::KeyRef::Certificate { .. } => format!("thumbprint:{}", id.to_uppercase()),
        _ => format!("key_guid:{}", id.to_uppercase()),
    }
}

impl Verified {
    /// When `key` of `server` was last backed up and verified; when the server names what the
    /// key is (`id`: a certificate's thumbprint, a master key's key_guid), this very key.
    pub fn last(
        &self,
        server: &str,
        key: &crate::backup::KeyRef,
        id: Option<&str>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        match id.filter(|i| !i.is_empty()) {
            Some(i) => self
                .by_identity
                .get(&(server.to_lowercase(), identity(key, i)))
                .copied(),
            None => self
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
            if let Some(id) = k.thumbprint.as_ref().or(k.key_guid.as_ref()) {
                later(
                    out.by_identity
                        .entry((server, identity(&k.key, id)))
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

    /// A keyring in memory, shared between the histories of one test.
    #[derive(Clone, Default)]
    struct Mem(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>);

    impl SecretStore for Mem {
        fn set(&self, account: &str, secret: &Password) -> Result<()> {
            self.0
                .lock()
                .unwrap()
                .insert(account.into(), secret.expose().into());
            Ok(())
        }
        fn get(&self, account: &str) -> Result<Option<Password>> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(account)
                .cloned()
                .map(Password::new))
        }
        fn delete(&self, account: &str) -> Result<()> {
            self.0.lock().unwrap().remove(account);
            Ok(())
        }
    }

    fn history(dir: &Path, mem: &Mem) -> History {
        History::with_store(&dir.join("history.jsonl"), Box::new(mem.clone()), "test")
    }

    fn lines(h: &History) -> Vec<String> {
        std::fs::read_to_string(&h.path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn rewrite(h: &History, lines: &[String]) {
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(&h.path, text).unwrap();
    }

    fn kinds(h: &History) -> Vec<&'static str> {
        h.load()
            .unwrap()
            .audit
            .problems
            .iter()
            .map(|p| match p {
                Problem::Damaged { .. } => "damaged",
                Problem::NotVouched { .. } => "not_vouched",
                Problem::Broken { .. } => "broken",
                Problem::Truncated { .. } => "truncated",
                Problem::KeyMissing { .. } => "key_missing",
                Problem::MissingRun { .. } => "missing_run",
            })
            .collect()
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let d = tempfile::tempdir().unwrap();
        let mem = Mem::default();
        let h = history(d.path(), &mem);
        for i in 0..3 {
            h.append(serde_json::json!({"run": i, "verified": true}))
                .unwrap();
        }
        let good = lines(&h);
        let loaded = h.load().unwrap();
        assert!(loaded.audit.intact(), "{:?}", loaded.audit.problems);
        assert_eq!(loaded.vouched().len(), 3);

        // An edit: the MAC no longer holds, and the record is not believed.
        let mut edited = good.clone();
        edited[1] = edited[1].replace("\"verified\":true", "\"verified\":false");
        rewrite(&h, &edited);
        assert_eq!(kinds(&h), ["not_vouched"]);
        assert_eq!(h.load().unwrap().vouched().len(), 2);

        // A forged record with the old unkeyed hash recomputed: not vouched, not believed.
        let mut forged = good.clone();
        let mut e: Entry = serde_json::from_str(&good[2]).unwrap();
        e.seq = 3;
        e.prev = e.mac.take().unwrap();
        e.record = serde_json::json!({"run": 3, "verified": true});
        e.hash = Some("ab".repeat(32));
        forged.push(serde_json::to_string(&e).unwrap());
        rewrite(&h, &forged);
        assert_eq!(kinds(&h), ["not_vouched"]);

        // A record removed from the middle, the last removed, the file emptied or deleted.
        rewrite(&h, &[good[0].clone(), good[2].clone()]);
        assert_eq!(kinds(&h), ["broken"]);
        rewrite(&h, &good[..2]);
        assert_eq!(kinds(&h), ["truncated"]);
        rewrite(&h, &[]);
        assert_eq!(kinds(&h), ["truncated"]);
        std::fs::remove_file(&h.path).unwrap();
        assert_eq!(kinds(&h), ["truncated"]);

        // A damaged line is reported with its number, and the next run is still recorded,
        // after the newest record.
        let mut damaged = good.clone();
        damaged.insert(1, "{not json".into());
        rewrite(&h, &damaged);
        let problems = h.load().unwrap().audit.problems;
        assert_eq!(problems.len(), 1);
        assert!(problems[0].explain().starts_with("line 2 "), "{problems:?}");
        let e = h.append(serde_json::json!({"run": 3})).unwrap();
        assert_eq!(e.seq, 3);
        assert_eq!(h.load().unwrap().vouched().len(), 4);

        // The key gone: nothing can be vouched for, and that is said once.
        mem.delete("test").unwrap();
        rewrite(&h, &good);
        assert_eq!(kinds(&h), ["key_missing"]);
        assert!(h.load().unwrap().vouched().is_empty());
    }

    #[test]
    fn concurrent_writers_take_turns() {
        let d = tempfile::tempdir().unwrap();
        let mem = Mem::default();
        std::thread::scope(|s| {
            for t in 0..6 {
                let (dir, mem) = (d.path(), mem.clone());
                s.spawn(move || {
                    let h = history(dir, &mem);
                    for i in 0..5 {
                        h.append(serde_json::json!({"thread": t, "i": i})).unwrap();
                    }
                });
            }
        });
        let h = history(d.path(), &mem);
        let loaded = h.load().unwrap();
        assert!(loaded.audit.intact(), "{:?}", loaded.audit.problems);
        let seqs: Vec<u64> = loaded.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (0..30).collect::<Vec<_>>());
    }

    /// What an attacker (or an accident) may do to the file, short of deleting the key.
    #[derive(Debug, Clone)]
    enum Change {
        Delete(usize),
        Truncate(usize),
        Swap(usize, usize),
        Edit(usize, i64),
        Duplicate(usize),
        Forge(usize),
    }

    fn change() -> impl proptest::strategy::Strategy<Value = Change> {
        use proptest::prelude::*;
        prop_oneof![
            any::<usize>().prop_map(Change::Delete),
            any::<usize>().prop_map(Change::Truncate),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Change::Swap(a, b)),
            (any::<usize>(), any::<i64>()).prop_map(|(a, v)| Change::Edit(a, v)),
            any::<usize>().prop_map(Change::Duplicate),
            any::<usize>().prop_map(Change::Forge),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_deletion_truncation_reordering_or_edit_is_reported(n in 1usize..7, c in change()) {
            let d = tempfile::tempdir().unwrap();
            let mem = Mem::default();
            let h = history(d.path(), &mem);
            for i in 0..n {
                h.append(serde_json::json!({"run": i, "verified": true})).unwrap();
            }
            let mut l = lines(&h);
            match c {
                Change::Delete(i) => { l.remove(i % n); }
                Change::Truncate(k) => l.truncate(k % n),
                Change::Swap(a, b) => {
                    let (a, b) = (a % n, b % n);
                    proptest::prop_assume!(a != b);
                    l.swap(a, b);
                }
                Change::Edit(i, v) => {
                    proptest::prop_assume!(v != (i % n) as i64);
                    let mut e: Entry = serde_json::from_str(&l[i % n]).unwrap();
                    e.record["run"] = v.into();
                    l[i % n] = serde_json::to_string(&e).unwrap();
                }
                Change::Duplicate(i) => { let x = l[i % n].clone(); l.insert(i % n, x); }
                Change::Forge(i) => {
                    // A record with a MAC under another key, chained to the one before.
                    let other = mac(&[7u8; 32], (i % n) as u64 + 1, "x", &serde_json::json!({}));
                    let mut e: Entry = serde_json::from_str(&l[i % n]).unwrap();
                    e.seq += 1;
                    e.prev = e.mac.clone().unwrap();
                    e.record = serde_json::json!({"run": "forged", "verified": true});
                    e.mac = Some(other);
                    l.insert(i % n + 1, serde_json::to_string(&e).unwrap());
                }
            }
            rewrite(&h, &l);
            let audit = h.load().unwrap().audit;
            proptest::prop_assert!(!audit.intact(), "{:?} went unnoticed", c);
        }
    }
}
