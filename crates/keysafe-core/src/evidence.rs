//! The evidence pack: what an auditor asks for, per key, mapped to the controls of a standard
//! (DISA's SQL Server STIG, PCI DSS v4.0.1). Every claim comes from the run history's records
//! the history key vouches for and the reports they name; nothing is taken from the servers
//! now. The pack records the history's chain head and the MAC of every record it cites, so
//! `verify` proves later that none of them was edited, removed or forged since.

use crate::backup::KeyRef;
use crate::history::{self, Entry, RunRecord};
use crate::{ErrorCode, KeysafeError, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "keysafe.evidence/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Standard {
    /// DISA Microsoft SQL Server 2022 (and 2016) STIG.
    Stig,
    /// PCI DSS v4.0.1, requirement 3.
    Pci,
    /// CIS Microsoft SQL Server 2022 Benchmark v1.0.0, section 7 (encryption): only what it
    /// asks of the keys Keysafe backs up.
    Cis,
}

impl Standard {
    /// The standard's name, as the pack's title gives it.
    pub fn title(self) -> &'static str {
        match self {
            Standard::Stig => "DISA SQL Server STIG",
            Standard::Pci => "PCI DSS v4.0.1",
            Standard::Cis => "CIS Microsoft SQL Server 2022 Benchmark v1.0.0",
        }
    }

    /// The word in file names and on the command line.
    pub fn word(self) -> &'static str {
        match self {
            Standard::Stig => "stig",
            Standard::Pci => "pci",
            Standard::Cis => "cis",
        }
    }

    /// What the pack covers of the standard, where that is less than its whole subject.
    pub fn scope(self) -> Option<&'static str> {
        match self {
            Standard::Cis => Some("The CIS benchmarks for SQL Server ask for no evidence of key backups, custody or restore tests; this pack maps only what they ask of the keys Keysafe backs up. 7.1 covers the symmetric keys of non-system databases, which include each user database's master key (##MS_DatabaseMasterKey## in sys.symmetric_keys). 7.2 (asymmetric key size) concerns keys made with CREATE ASYMMETRIC KEY, which Keysafe does not back up; the service master key and master's, model's and msdb's keys are outside 7.1. The backup evidence below is shown for completeness."),
            _ => None,
        }
    }
}

/// One control, what it asks, and which evidence answers it.
#[derive(Debug, Clone, Serialize)]
pub struct Control {
    pub id: &'static str,
    pub asks: &'static str,
    /// The kinds of key it is about (empty: every key).
    #[serde(skip)]
    applies: &'static [Kind],
    /// The evidence items (`Evidence`'s fields) that answer it.
    pub answered_by: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Smk,
    Dmk,
    Cert,
    /// The master key of a database that is not a system database (CIS' "non-system
    /// databases": db_id() > 4).
    UserDmk,
}

/// Whether a control about `kind` keys applies to `k`.
fn is(kind: Kind, k: &KeyRef) -> bool {
    match (kind, k) {
        (Kind::Smk, KeyRef::ServiceMasterKey) => true,
        (Kind::Dmk, KeyRef::DatabaseMasterKey { .. }) => true,
        (Kind::Cert, KeyRef::Certificate { .. }) => true,
        (Kind::UserDmk, KeyRef::DatabaseMasterKey { database }) => {
            !["master", "model", "msdb", "tempdb"]
                .iter()
                .any(|s| database.eq_ignore_ascii_case(s))
        }
        _ => false,
    }
}

const BACKUP_EVIDENCE: &[&str] = &[
    "last_verified_backup",
    "copies",
    "off_server",
    "folder_protection",
    "restore_proof",
    "password",
];

/// The controls of each standard, as the standard words what it asks (summarised).
pub fn controls(s: Standard) -> &'static [Control] {
    const STIG: &[Control] = &[
        Control {
            id: "SQLI-22-009600 (SQL6-D0-009600)",
            asks: "The service master key is backed up, stored off the server in a secure location, with documented procedures and a tested restoration; its password is not kept in plain text.",
            applies: &[Kind::Smk],
            answered_by: BACKUP_EVIDENCE,
        },
        Control {
            id: "SQLI-22-009700 (SQL6-D0-009700)",
            asks: "Each database master key is backed up, stored off the server in a secure location, with documented procedures and a tested restoration; its password is not kept in plain text.",
            applies: &[Kind::Dmk],
            answered_by: BACKUP_EVIDENCE,
        },
        Control {
            id: "SQLD-22-001800 (SQL6-D0-001800)",
            asks: "Certificates and their private keys are backed up and stored off the server, access to the backups is restricted, and their restoration is tested.",
            applies: &[Kind::Cert],
            answered_by: BACKUP_EVIDENCE,
        },
    ];
    const PCI: &[Control] = &[
        Control {
            id: "3.6.1",
            asks: "Keys are stored in the fewest possible locations and accessible to the fewest custodians necessary.",
            applies: &[],
            answered_by: &["copies", "folder_protection", "custody"],
        },
        Control {
            id: "3.6.1.1",
            asks: "A documented description of each key: what it is, its strength, its expiry and what it protects.",
            applies: &[],
            answered_by: &["identity"],
        },
        Control {
            id: "3.7.4 / 3.7.5",
            asks: "Keys are changed at the end of their period and retired or replaced keys are no longer used.",
            applies: &[],
            answered_by: &["changes"],
        },
        Control {
            id: "3.7.6",
            asks: "Manual clear-text key operations use split knowledge and dual control.",
            applies: &[],
            answered_by: &["password", "custody"],
        },
        Control {
            id: "3.7.8",
            asks: "Key custodians formally acknowledge that they understand and accept their responsibilities.",
            applies: &[],
            answered_by: &["custody"],
        },
    ];
    const CIS: &[Control] = &[Control {
        id: "7.1",
        asks: "Symmetric keys in non-system databases use AES_128, AES_192 or AES_256 (not DES, DESX, RC2, RC4, RC4_128 or Triple DES).",
        applies: &[Kind::UserDmk],
        answered_by: &["aes_algorithm"],
    }];
    match s {
        Standard::Stig => STIG,
        Standard::Pci => PCI,
        Standard::Cis => CIS,
    }
}

/// A history record a claim rests on, as the history key vouched for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cited {
    pub seq: u64,
    pub mac: String,
}

/// What the pack shows for one key.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub server: String,
    pub key: KeyRef,
    pub label: String,
    /// What the key is: its thumbprint or key_guid as backed up.
    pub identity: String,
    /// Its algorithm and size, protection, expiry and what it protects, as the run saw them.
    pub description: String,
    pub last_verified_backup: Option<DateTime<Utc>>,
    pub run_id: Option<uuid::Uuid>,
    pub report: Option<PathBuf>,
    /// Each copy on the medium and its SHA-256, as the report recorded them.
    pub copies: Vec<(String, String)>,
    /// The medium, its volume and custody: off the server.
    pub off_server: String,
    pub folder_protection: String,
    pub restore_proof: String,
    /// How the backup password is held.
    pub password: String,
    pub custody: String,
    /// Changes of the key seen in the period (another thumbprint or key_guid backed up).
    pub changes: Vec<String>,
    /// Restores of this key recorded in the period.
    pub restores: Vec<String>,
    /// The controls it answers, and what is missing for each.
    pub controls: Vec<ControlFinding>,
    pub cited: Vec<Cited>,
}

impl Evidence {
    /// A key with no evidence yet.
    fn new(server: &str, key: &KeyRef, label: &str) -> Self {
        Evidence {
            server: server.to_string(),
            key: key.clone(),
            label: label.to_string(),
            identity: String::new(),
            description: String::new(),
            last_verified_backup: None,
            run_id: None,
            report: None,
            copies: vec![],
            off_server: String::new(),
            folder_protection: String::new(),
            restore_proof: String::new(),
            password: String::new(),
            custody: String::new(),
            changes: vec![],
            restores: vec![],
            controls: vec![],
            cited: vec![],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlFinding {
    pub control: String,
    pub met: bool,
    pub gaps: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pack {
    pub schema: &'static str,
    pub standard: Standard,
    pub generated: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub history: String,
    /// Only this instance's keys (its @@SERVERNAME); every instance's when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Only this run's keys (its id); every run's since `since` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<uuid::Uuid>,
    /// The newest record the history key vouched for when the pack was made.
    pub chain_head: Option<Cited>,
    /// Problems the history had (a damaged line, a record not vouched for): shown, never used.
    pub history_problems: Vec<String>,
    pub controls: &'static [Control],
    pub keys: Vec<Evidence>,
}

fn get<'a>(v: &'a serde_json::Value, path: &[&str]) -> Option<&'a serde_json::Value> {
    path.iter().try_fold(v, |v, p| v.get(p))
}

fn text(v: Option<&serde_json::Value>) -> Option<String> {
    v.and_then(|v| v.as_str()).map(str::to_string)
}

/// Which runs and keys a pack covers: a period, or one run; every instance, or one.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Runs (and restores) that finished at or after this moment.
    pub since: DateTime<Utc>,
    /// Only this instance's keys (@@SERVERNAME, case-insensitive).
    pub instance: Option<String>,
    /// Only this run: its id, or the first characters of it (as report names show it).
    pub run: Option<String>,
}

/// The pack for `standard` from the history at `path`, for what `scope` covers.
pub fn build(path: &Path, standard: Standard, scope: &Scope) -> Result<Pack> {
    let since = scope.since;
    let instance = scope.instance.as_deref();
    let h = history::History::open(path)?;
    let loaded = h.load()?;
    let vouched = loaded.vouched();
    let chain_head = vouched
        .iter()
        .max_by_key(|e| e.seq)
        .and_then(|e| e.mac.clone().map(|mac| Cited { seq: e.seq, mac }));
    let cite = |e: &Entry| Cited {
        seq: e.seq,
        mac: e.mac.clone().unwrap_or_default(),
    };
    let mut keys: Vec<Evidence> = Vec::new();
    let runs: Vec<(Entry, RunRecord)> = vouched
        .iter()
        .filter_map(|e| e.run().map(|r| (e.clone(), r)))
        .filter(|(_, r)| r.finished >= since)
        .filter(|(_, r)| {
            scope.run.as_deref().is_none_or(|id| {
                let id = id.trim().to_ascii_lowercase();
                !id.is_empty() && r.run_id.to_string().starts_with(&id)
            })
        })
        .collect();
    let run = match scope.run.as_deref() {
        None => None,
        Some(id) => match runs.as_slice() {
            [(_, r)] => Some(r.run_id),
            [] => {
                return Err(KeysafeError::new(
                    ErrorCode::InvalidInput,
                    format!("No run {id} in the history (among the records its key vouches for)."),
                )
                .next("keysafe history lists the runs and their ids."))
            }
            _ => {
                return Err(KeysafeError::new(
                    ErrorCode::InvalidInput,
                    format!("More than one run starts with {id}."),
                )
                .next("Give more of the run's id."))
            }
        },
    };
    for (entry, run) in &runs {
        let report: Option<serde_json::Value> = std::fs::read(&run.report)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        for k in run
            .keys
            .iter()
            .filter(|k| instance.is_none_or(|i| k.server.eq_ignore_ascii_case(i.trim())))
        {
            let i = match keys
                .iter()
                .position(|e| e.server == k.server && e.key == k.key)
            {
                Some(i) => i,
                None => {
                    keys.push(Evidence::new(&k.server, &k.key, &k.label));
                    keys.len() - 1
                }
            };
            let ev = &mut keys[i];
            let identity = k
                .thumbprint
                .as_ref()
                .map(|t| format!("certificate thumbprint {t}"))
                .or_else(|| k.key_guid.as_ref().map(|g| format!("key_guid {g}")))
                .unwrap_or_else(|| match k.key {
                    KeyRef::ServiceMasterKey => "the instance's service master key".into(),
                    _ => "not recorded (a run before identities were recorded)".into(),
                });
            if k.outcome != crate::backup::Outcome::Verified {
                continue;
            }
            if !ev.identity.is_empty() && ev.identity != identity {
                ev.changes.push(format!(
                    "{} changed to {} (run {}, {})",
                    ev.identity,
                    identity,
                    run.run_id,
                    run.finished.format("%Y-%m-%d")
                ));
            }
            ev.identity = identity;
            ev.description = String::new();
            ev.last_verified_backup = Some(run.finished);
            ev.run_id = Some(run.run_id);
            ev.report = Some(run.report.clone());
            ev.cited.push(cite(entry));
            let Some(rep) = &report else {
                ev.copies = k
                    .sha256
                    .iter()
                    .map(|h| ("(report not readable here)".to_string(), h.clone()))
                    .collect();
                ev.off_server = format!(
                    "the report {} is not readable from here",
                    run.report.display()
                );
                continue;
            };
            let inst = get(rep, &["instances"])
                .and_then(|v| v.as_array())
                .and_then(|a| {
                    a.iter()
                        .find(|i| text(i.get("server")).as_deref() == Some(k.server.as_str()))
                });
            let key = inst
                .and_then(|i| i.get("keys"))
                .and_then(|v| v.as_array())
                .and_then(|a| {
                    a.iter().find(|x| {
                        serde_json::from_value::<KeyRef>(x.get("key").cloned().unwrap_or_default())
                            .is_ok_and(|r| r == k.key)
                    })
                });
            ev.description = key
                .and_then(|x| text(x.get("description")))
                .unwrap_or_default();
            ev.copies = key
                .and_then(|x| x.get("files"))
                .and_then(|v| v.as_array())
                .map(|files| {
                    files
                        .iter()
                        .filter_map(|f| {
                            Some((
                                text(get(f, &["copy", "path"]))?,
                                text(get(f, &["copy", "sha256"]))?,
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let volume = get(rep, &["destination_volume"]);
            ev.off_server = format!(
                "medium {} ({}{}); carried by {}; stored at {}",
                text(get(rep, &["destination"])).unwrap_or_default(),
                text(volume.and_then(|v| v.get("drive_type")))
                    .unwrap_or_else(|| "volume unknown".into()),
                text(volume.and_then(|v| v.get("label")))
                    .map(|l| format!(", label {l}"))
                    .unwrap_or_default(),
                text(get(rep, &["custody", "carrier"])).unwrap_or_else(|| "(not recorded)".into()),
                text(get(rep, &["custody", "storage_location"]))
                    .unwrap_or_else(|| "(not recorded)".into()),
            );
            ev.folder_protection = inst
                .and_then(|i| text(i.get("folder_protection")))
                .unwrap_or_default();
            if inst
                .and_then(|i| i.get("folder_protection_failed"))
                .and_then(|v| v.as_bool())
                == Some(true)
            {
                ev.folder_protection = format!("FAILED: {}", ev.folder_protection);
            }
            ev.restore_proof = match key.and_then(|x| x.get("restore_check")) {
                Some(rc) if !rc.is_null() => format!(
                    "{}: {}",
                    text(rc.get("result")).unwrap_or_default(),
                    text(rc.get("method"))
                        .or_else(|| text(rc.get("reason")))
                        .unwrap_or_default()
                ),
                _ => "not asked for in this run".into(),
            };
            // The instance's own split (one per instance), else the run's.
            let split = inst
                .and_then(|i| i.get("password_split"))
                .filter(|s| !s.is_null())
                .or_else(|| get(rep, &["custody", "password_split"]));
            match split {
                Some(s) if !s.is_null() => {
                    let custodians: Vec<String> = s
                        .get("custodians")
                        .and_then(|v| v.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|c| c.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    ev.password = format!(
                        "generated by Keysafe, never written; split {} among {} custodians, any {} rebuild it",
                        text(s.get("split_id")).unwrap_or_default(),
                        custodians.len(),
                        s.get("threshold").and_then(|v| v.as_u64()).unwrap_or_default()
                    );
                    ev.custody = format!(
                        "custodians: {} (their signed acknowledgements are the printed share pages)",
                        custodians.join(", ")
                    );
                }
                _ => {
                    ev.password = "chosen by the operator; Keysafe never wrote it (how it is kept is not recorded)".into();
                    ev.custody = "no split custody: one person knows the password".into();
                }
            }
        }
    }
    // Restores of these keys.
    for e in &vouched {
        if e.record.get("action").and_then(|v| v.as_str()) != Some("restore") {
            continue;
        }
        let at: Option<DateTime<Utc>> = e
            .record
            .get("at")
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        if at.is_none_or(|a| a < since) || run.is_some() {
            continue;
        }
        let key = text(get(&e.record, &["restore", "key"])).unwrap_or_default();
        // The key's own server (the medium's source); a refused restore may not name it.
        let from = text(get(&e.record, &["restore", "from_server"]));
        let target = text(get(&e.record, &["restore", "target_server"])).unwrap_or_default();
        let ok = e.record.get("succeeded").and_then(|v| v.as_bool()) == Some(true);
        for ev in keys.iter_mut().filter(|ev| {
            ev.label == key
                && from
                    .as_deref()
                    .is_none_or(|f| f.eq_ignore_ascii_case(&ev.server))
        }) {
            ev.restores.push(format!(
                "{} on {target}, {}",
                if ok {
                    "restored and proven"
                } else {
                    "restore FAILED"
                },
                at.map(|a| a.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default()
            ));
            ev.cited.push(cite(e));
        }
    }
    let controls = controls(standard);
    for ev in &mut keys {
        ev.controls = controls
            .iter()
            .filter(|c| c.applies.is_empty() || c.applies.iter().any(|k| is(*k, &ev.key)))
            .map(|c| {
                let gaps: Vec<String> = c
                    .answered_by
                    .iter()
                    .filter_map(|item| gap(ev, item))
                    .collect();
                ControlFinding {
                    control: c.id.to_string(),
                    met: gaps.is_empty(),
                    gaps,
                }
            })
            .collect();
    }
    Ok(Pack {
        schema: SCHEMA,
        standard,
        generated: Utc::now(),
        since,
        history: h.name(),
        instance: instance.map(|i| i.trim().to_string()),
        run,
        chain_head,
        history_problems: loaded.audit.problems.iter().map(|p| p.explain()).collect(),
        controls,
        keys,
    })
}

/// What is missing for one evidence item, if anything.
fn gap(ev: &Evidence, item: &str) -> Option<String> {
    match item {
        "last_verified_backup" => ev
            .last_verified_backup
            .is_none()
            .then(|| "no verified backup in the period".into()),
        "copies" => ev
            .copies
            .is_empty()
            .then(|| "no copy on a medium recorded".into()),
        "off_server" => ev
            .off_server
            .is_empty()
            .then(|| "where the medium is kept is not recorded".into()),
        "folder_protection" => (ev.folder_protection.is_empty()
            || ev.folder_protection.starts_with("FAILED"))
        .then(|| {
            format!(
                "the server folder's protection: {}",
                if ev.folder_protection.is_empty() {
                    "not recorded"
                } else {
                    &ev.folder_protection
                }
            )
        }),
        "restore_proof" => (!ev.restore_proof.starts_with("proven")
            && !ev
                .restores
                .iter()
                .any(|r| r.starts_with("restored and proven")))
        .then(|| {
            format!(
                "no restore proven in the period ({})",
                if ev.restore_proof.is_empty() {
                    "none"
                } else {
                    &ev.restore_proof
                }
            )
        }),
        "password" => ev
            .password
            .is_empty()
            .then(|| "how the password is held is unknown".into()),
        "custody" => (!ev.custody.starts_with("custodians"))
            .then(|| "no named custodians (split custody not used)".into()),
        "identity" => {
            if ev.identity.is_empty() || ev.identity.starts_with("not recorded") {
                Some("the key's identity was not recorded".into())
            } else if ev.description.is_empty() {
                Some(
                    "the key's algorithm, size and expiry were not recorded (a run before 2026-12)"
                        .into(),
                )
            } else {
                None
            }
        }
        "aes_algorithm" => {
            let algorithm = ev.description.split([',', ' ']).next().unwrap_or_default();
            if ev.description.is_empty() {
                Some("the key's algorithm was not recorded (a run before 2026-12)".into())
            } else if ["AES_128", "AES_192", "AES_256"].contains(&algorithm) {
                None
            } else {
                Some(format!("the key's algorithm is {algorithm}: ALTER MASTER KEY REGENERATE WITH ENCRYPTION BY PASSWORD re-creates it with AES_256 (SQL Server 2012 and later)"))
            }
        }
        "changes" => None,
        _ => None,
    }
}

impl Pack {
    /// How many of the keys' control findings are met, and how many lack evidence.
    pub fn tally(&self) -> (usize, usize) {
        let all = self.keys.iter().flat_map(|k| k.controls.iter());
        let met = all.clone().filter(|c| c.met).count();
        (met, all.count() - met)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a pack serializes")
    }

    pub fn to_html(&self) -> String {
        let env =
            crate::report::template("evidence.html", include_str!("../templates/evidence.html"));
        env.get_template("evidence.html")
            .and_then(|t| {
                t.render(minijinja::context! {
                    pack => self,
                    generated => crate::report::when(self.generated),
                    since => crate::report::when(self.since),
                    standard => self.standard.title(),
                    scope => self.standard.scope(),
                })
            })
            .expect("the evidence template renders")
    }

    /// Writes `evidence-<standard>-<time>.json` and `.html` into `dir`.
    pub fn write_files(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        crate::private_fs::create_dir_all(dir)?;
        let stem = format!(
            "evidence-{}-{}",
            self.standard.word(),
            // Milliseconds: two packs made in the same second keep both.
            self.generated.format("%Y%m%dT%H%M%S%.3fZ")
        );
        let json = crate::copy::write_new(dir, &format!("{stem}.json"), self.to_json().as_bytes())?;
        let html = crate::copy::write_new(dir, &format!("{stem}.html"), self.to_html().as_bytes())?;
        Ok((json, html))
    }
}

/// Checks a pack (its JSON) against the history now: every record it cites, and its chain
/// head, must still be there, vouched for, with the same MAC. Returns what does not hold.
pub fn verify(pack_json: &Path, history_path: &Path) -> Result<Vec<String>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(pack_json)?).map_err(|e| {
        KeysafeError::new(
            ErrorCode::InvalidInput,
            format!("{} is not an evidence pack: {e}", pack_json.display()),
        )
    })?;
    if text(v.get("schema")).as_deref() != Some(SCHEMA) {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            format!(
                "{} is not an evidence pack ({SCHEMA}).",
                pack_json.display()
            ),
        ));
    }
    let loaded = history::History::open(history_path)?.load()?;
    let vouched: std::collections::HashMap<u64, String> = loaded
        .vouched()
        .into_iter()
        .filter_map(|e| e.mac.map(|m| (e.seq, m)))
        .collect();
    let mut cited: Vec<Cited> = get(&v, &["keys"])
        .and_then(|k| k.as_array())
        .into_iter()
        .flatten()
        .flat_map(|k| {
            k.get("cited")
                .and_then(|c| serde_json::from_value::<Vec<Cited>>(c.clone()).ok())
                .unwrap_or_default()
        })
        .collect();
    if let Some(head) = v
        .get("chain_head")
        .and_then(|h| serde_json::from_value::<Cited>(h.clone()).ok())
    {
        cited.push(head);
    }
    cited.sort_by_key(|c| c.seq);
    cited.dedup();
    Ok(cited
        .iter()
        .filter_map(|c| match vouched.get(&c.seq) {
            Some(m) if *m == c.mac => None,
            Some(_) => Some(format!(
                "record {} of the history is not the one the pack cites: it was replaced",
                c.seq
            )),
            None => Some(format!(
                "record {} the pack cites is no longer in the history, or no longer vouched for (edited, removed or damaged)",
                c.seq
            )),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dmk(database: &str, description: &str) -> Evidence {
        let key = KeyRef::DatabaseMasterKey {
            database: database.into(),
        };
        let mut e = Evidence::new("SQL01", &key, &format!("{database} database master key"));
        e.identity = "key_guid 1".into();
        e.description = description.into();
        e
    }

    /// CIS 7.1 is about user databases' symmetric keys: a master key made with Triple DES
    /// (SQL Server 2008 and before) is a finding with its fix, AES is met, and the system
    /// databases' keys and the service master key are outside it.
    #[test]
    fn cis_7_1_asks_aes_of_user_databases_master_keys_only() {
        let c = &controls(Standard::Cis)[0];
        let applies = |k: &KeyRef| c.applies.iter().any(|a| is(*a, k));
        assert!(applies(&dmk("Sales", "").key));
        assert!(!applies(&dmk("master", "").key));
        assert!(!applies(&dmk("MSDB", "").key));
        assert!(!applies(&KeyRef::ServiceMasterKey));
        let old = gap(&dmk("Sales", "TRIPLE_DES, opens by the service master key, last changed 2009-01-01; protects the private keys of 1 certificate(s) in Sales"), "aes_algorithm").unwrap();
        assert!(
            old.contains("TRIPLE_DES") && old.contains("REGENERATE"),
            "{old}"
        );
        assert_eq!(gap(&dmk("Sales", "AES_256, opens by password only, last changed 2026-01-01; protects the private keys of 0 certificate(s) in Sales"), "aes_algorithm"), None);
        assert!(gap(&dmk("Sales", ""), "aes_algorithm")
            .unwrap()
            .contains("not recorded"));
    }
}
