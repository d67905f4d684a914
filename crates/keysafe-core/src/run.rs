//! A whole run: one instance or a fleet, each isolated from the others' failures, with
//! bounded concurrency and one consolidated report.

use crate::backup::{self, BackupOptions, KeyRef, Secrets};

use crate::connection::{connect, ConnectOptions};
use crate::error::{ErrorCode, KeysafeError};
use crate::inventory::{self, Inventory};
use crate::report::InstanceReport;
use futures_util::StreamExt;
use std::path::PathBuf;

/// Which keys to back up on each instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    ServiceMasterKey,
    /// These databases' master keys, or every one when empty.
    DatabaseMasterKeys(Vec<String>),
    /// These certificates ("db.name"), or every one with a private key when empty.
    Certificates(Vec<(String, String)>),
    All,
    /// Exactly these keys (Object Explorer's selection).
    Keys(Vec<KeyRef>),
    /// `backup changed`: the keys whose state (`status`, from this history) is never backed
    /// up, changed since, or at risk; nothing else.
    Changed(Vec<crate::history::Entry>),
}

impl Selection {
    pub fn resolve(&self, inv: &Inventory) -> Vec<KeyRef> {
        let dmks = |only: &[String]| -> Vec<KeyRef> {
            inv.databases
                .iter()
                .filter(|d| {
                    d.master_key.is_some()
                        && (only.is_empty() || only.iter().any(|o| o.eq_ignore_ascii_case(&d.name)))
                })
                .map(|d| KeyRef::DatabaseMasterKey {
                    database: d.name.clone(),
                })
                .collect()
        };
        let certs = |only: &[(String, String)]| -> Vec<KeyRef> {
            inv.databases
                .iter()
                .flat_map(|d| d.certificates.iter().map(move |c| (d, c)))
                .filter(|(d, c)| {
                    if only.is_empty() {
                        c.private_key != "NA"
                    } else {
                        only.iter().any(|(db, n)| {
                            db.eq_ignore_ascii_case(&d.name) && n.eq_ignore_ascii_case(&c.name)
                        })
                    }
                })
                .map(|(d, c)| KeyRef::Certificate {
                    database: d.name.clone(),
                    name: c.name.clone(),
                })
                .collect()
        };
        match self {
            Selection::ServiceMasterKey => vec![KeyRef::ServiceMasterKey],
            Selection::DatabaseMasterKeys(only) => dmks(only),
            Selection::Certificates(only) => certs(only),
            Selection::Keys(keys) => keys.clone(),
            Selection::Changed(history) => crate::status::status(inv, history)
                .into_iter()
                .filter(|k| k.state != crate::status::BackupState::BackedUp && k.can_back_up)
                .map(|k| k.key)
                .collect(),
            Selection::All => {
                let mut v = vec![KeyRef::ServiceMasterKey];
                v.extend(dmks(&[]));
                v.extend(certs(&[]));
                v
            }
        }
    }

    /// The keys this selection names that the login cannot see: not there, or hidden from it
    /// (SQL Server shows a login only the keys it has VIEW DEFINITION on). Never dropped in
    /// silence: each fails with `not_visible`'s explanation.
    pub fn unseen(&self, inv: &Inventory) -> Vec<KeyRef> {
        let named: Vec<KeyRef> = match self {
            Selection::DatabaseMasterKeys(only) => only
                .iter()
                .map(|d| KeyRef::DatabaseMasterKey {
                    database: d.clone(),
                })
                .collect(),
            Selection::Certificates(only) => only
                .iter()
                .map(|(d, n)| KeyRef::Certificate {
                    database: d.clone(),
                    name: n.clone(),
                })
                .collect(),
            _ => vec![],
        };
        let found: Vec<String> = self
            .resolve(inv)
            .iter()
            .map(|k| k.label().to_lowercase())
            .collect();
        named
            .into_iter()
            .filter(|k| !found.contains(&k.label().to_lowercase()))
            .collect()
    }
}

/// Why a key the user named is not in the inventory, and the GRANT that lets the login see
/// and back it up.
pub fn not_visible(inv: &Inventory, key: &KeyRef) -> KeysafeError {
    let login = &inv.server.login;
    let (db, what, needs) = match key {
        KeyRef::DatabaseMasterKey { database } => (
            database,
            format!("the master key of database {database}"),
            format!(
                "CONTROL on the database (USE {0}; GRANT CONTROL ON DATABASE::{0} TO <its user>;)",
                crate::tsql::ident(database).unwrap_or_default()
            ),
        ),
        KeyRef::Certificate { database, name } => (
            database,
            format!("certificate {name} in database {database}"),
            format!(
                "CONTROL on the certificate (USE {}; GRANT CONTROL ON CERTIFICATE::{} TO <its user>;)",
                crate::tsql::ident(database).unwrap_or_default(),
                crate::tsql::ident(name).unwrap_or_default()
            ),
        ),
        KeyRef::ServiceMasterKey => return backup::smk_needs_control_server(inv),
    };
    let why = match inv
        .databases
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(db))
    {
        None => format!("{login} sees no database {db}: it does not exist, or the login may not see it"),
        Some(d) if d.not_visible => format!("{login} may not enter database {db} (no user there)"),
        Some(_) => format!("{what} is not there, or {login} lacks VIEW DEFINITION on it (SQL Server hides it then)"),
    };
    KeysafeError::new(
        ErrorCode::NotFound,
        format!("Cannot back up {what}: {why}."),
    )
    .next(format!("Check the name; backing it up needs {needs}."))
}

/// Everything but the connection and the passwords, shared by every instance of a run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub selection: Selection,
    pub backup: BackupOptions,
    /// Prove restorability in scratch databases (needs CREATE ANY DATABASE).
    pub verify_restore: bool,
    /// Where `server_dir` is visible from this machine (a mounted share): read directly.
    pub server_dir_local: Option<PathBuf>,
    /// Principals besides SYSTEM, Administrators and the service account that get full
    /// control of a Windows server folder (SIDs or DOMAIN\name, e.g. DOMAIN\HOST$ for a share).
    pub acl_principals: Vec<String>,
}

impl RunSettings {
    /// `selection` copied to `copy_to`, everything else as the defaults: the instance's
    /// default backup folder (plus `\Keysafe`), the default certificate format, no restore
    /// proof, no extra principals.
    pub fn new(selection: Selection, copy_to: impl Into<PathBuf>) -> Self {
        RunSettings {
            selection,
            backup: BackupOptions {
                server_dir: None,
                copy_to: copy_to.into(),
                format: None,
            },
            verify_restore: false,
            server_dir_local: None,
            acl_principals: vec![],
        }
    }

    /// The same with the server folder given.
    pub fn in_server_folder(mut self, dir: impl Into<String>) -> Self {
        self.backup.server_dir = Some(dir.into());
        self
    }
}

/// Progress, for a terminal or a window (the desktop app sends it to its UI as it is).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    Connecting {
        server: String,
    },
    Planned {
        server: String,
        keys: usize,
    },
    /// The server folder exists and has been protected (or the protection described).
    FolderReady {
        server: String,
        folder: String,
        protection: String,
    },
    KeyStarted {
        server: String,
        key: String,
    },
    KeyDone {
        server: String,
        key: String,
        verified: bool,
    },
    InstanceDone {
        server: String,
        verified: bool,
    },
    /// The run's reports: HTML, JSON, CSV, in that order.
    ReportWritten {
        paths: Vec<String>,
    },
}

/// How many instances a fleet run backs up at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// A whole run as the CLI and the desktop app start it: what to back up where, the custody
/// record, and where the reports and the history go. No password of the backup is in it
/// (those are `Secrets`, given to `execute` only); the logins' passwords are in `targets`,
/// boxed as every password is.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub targets: Vec<ConnectOptions>,
    pub settings: RunSettings,
    pub concurrency: usize,
    pub custody: crate::report::Custody,
    /// Where the JSON, HTML and CSV reports are written.
    pub report_dir: PathBuf,
    /// The run history (hash-chained JSON lines).
    pub history: PathBuf,
    /// Instances with a split of their own (one split per instance), by the target as
    /// given (`ConnectOptions::server`): each instance's report records its split.
    pub instance_splits: std::collections::HashMap<String, crate::custody::SplitCustody>,
    /// Key parity's risks for each member of a group run (`parity::Parity::member_risks`),
    /// by the target as given: each instance's report lists them with its own.
    pub parity_risks: std::collections::HashMap<String, Vec<crate::inventory::Risk>>,
}

impl RunRequest {
    /// The run takes `split`: the report records it and each instance gets its password.
    /// Returns the secrets with the generated backup password(s).
    pub fn take_split(
        &mut self,
        split: &crate::custody::RunSplit,
        mut secrets: Secrets,
    ) -> Secrets {
        secrets.password = split.password.clone();
        self.custody.password_split = split.custody.clone();
        for i in &split.instances {
            secrets
                .instance_passwords
                .insert(i.server.clone(), i.password.clone());
            self.instance_splits
                .insert(i.server.clone(), i.custody.clone());
        }
        secrets
    }
}

/// What a run leaves: the report and where its files are.
pub struct RunRecord {
    pub report: crate::report::Report,
    pub files: crate::report::ReportFiles,
}

pub use crate::backup::check_backup_password;

/// Checks the medium before anything is sent: it must be usable (created when missing), and
/// what is known about its volume (not removable, nearly full) comes back as warnings.
pub fn prepare_medium(copy_to: &std::path::Path) -> crate::Result<Vec<String>> {
    crate::private_fs::require_unicode(copy_to, "backup medium")?;
    crate::private_fs::create_dir_all(copy_to).map_err(|e| {
        KeysafeError::new(
            ErrorCode::MediumRemoved,
            format!("Cannot use {} as the backup medium: {e}", copy_to.display()),
        )
        .next("Check that the medium is inserted and writable.")
    })?;
    Ok(crate::volumes::check_destination(copy_to, 0).warnings)
}

/// Runs a backup from start to end, as both front ends do: the backup password checked
/// against the policy before anything is sent, the medium prepared, every instance backed up
/// (`concurrency` at a time), the report written and the run recorded in the history.
pub async fn execute(
    req: &RunRequest,
    secrets: &Secrets,
    progress: &(dyn Fn(Progress) + Sync),
) -> crate::Result<RunRecord> {
    for p in secrets.backup_passwords() {
        check_backup_password(p)?;
    }
    if req.targets.is_empty() {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            "Choose at least one instance.",
        ));
    }
    prepare_medium(&req.settings.backup.copy_to)?;
    let started = chrono::Utc::now();
    tracing::info!(instances = req.targets.len(), "backup run started");
    let reports = back_up_fleet(
        &req.targets,
        &req.settings,
        secrets,
        req.concurrency,
        progress,
    )
    .await;
    // By the target as given: a report is named by the server's own name once connected.
    let reports = reports
        .into_iter()
        .zip(&req.targets)
        .map(|(mut r, o)| {
            r.password_split = req.instance_splits.get(&o.server.to_string()).cloned();
            if let Some(more) = req.parity_risks.get(&o.server.to_string()) {
                r.risks.extend(more.iter().cloned());
                r.risks.sort_by_key(|x| std::cmp::Reverse(x.severity));
            }
            r
        })
        .collect();
    let mut report = crate::report::Report::new(
        crate::report::current_operator(),
        started,
        req.settings.backup.copy_to.clone(),
        req.custody.clone(),
        reports,
    );
    // Locked from here to the record: concurrent runs take turns, and the report names the
    // record the run is written as.
    let history = crate::history::History::open(&req.history)?;
    let writer = history.writer()?;
    report.history = Some(writer.link());
    let files = report.write_files(&req.report_dir)?;
    writer.append(crate::report::run_record(&report, &files.json))?;
    progress(Progress::ReportWritten {
        paths: files
            .all()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    });
    tracing::info!(run = %report.run_id, verified = report.summary.keys_verified, "backup run finished");
    Ok(RunRecord { report, files })
}

/// The folder for one instance's copies on the medium.
pub fn medium_folder(copy_to: &std::path::Path, server: &str) -> PathBuf {
    let safe: String = server
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    copy_to.join(safe)
}

/// An instance's folder on the medium: @@SERVERNAME plus the address, since cloned servers
/// share a name but not an address.
fn instance_medium_folder(copy_to: &std::path::Path, address: &str, server_name: &str) -> PathBuf {
    let folder = if address.eq_ignore_ascii_case(server_name) {
        address.to_string()
    } else {
        format!("{server_name}_{address}")
    };
    medium_folder(copy_to, &folder)
}

pub use crate::backup::PlannedKey;

/// The protection a run gives the server folder, decided before anything is written: the
/// preview shows it and the run applies exactly it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum FolderPlan {
    /// SQL Server on Linux on this machine: mode 0700, owned by `owner`, read back.
    Posix { owner: String },
    /// A Windows folder reachable from here at `local_path`: a protected DACL giving `access`,
    /// applied and read back.
    WindowsDacl {
        local_path: String,
        access: Vec<String>,
    },
    /// Not reachable from here: the commands to run on the server for `access`; Keysafe
    /// cannot verify them.
    Commands {
        commands: Vec<String>,
        access: Vec<String>,
        note: Option<String>,
    },
    /// Nothing is applied: why.
    NotApplied { reason: String },
}

impl FolderPlan {
    /// Lines for a terminal or a preview.
    pub fn describe(&self) -> Vec<String> {
        match self {
            FolderPlan::Posix { owner } => vec![format!(
                "Mode 0700, owned by {owner}; nobody else. Applied and read back."
            )],
            FolderPlan::WindowsDacl { local_path, access } => {
                let mut v = access.clone();
                v.push(format!(
                    "Inheritance off. Applied through {local_path} and read back."
                ));
                v
            }
            FolderPlan::Commands {
                commands,
                access,
                note,
            } => {
                let mut v = access.clone();
                v.push("Inheritance off. Not reachable from this machine: run on the server (not verified):".into());
                v.extend(commands.iter().cloned());
                v.extend(note.iter().cloned());
                v
            }
            FolderPlan::NotApplied { reason } => vec![reason.clone()],
        }
    }
}

/// What a run will do on one instance, as the dialog and `keysafe backup --plan` show it.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InstancePlan {
    /// The address as given.
    pub server: String,
    /// @@SERVERNAME, once connected.
    pub server_name: Option<String>,
    /// The folder the BACKUP statements write to.
    pub server_folder: Option<String>,
    pub folder: Option<FolderPlan>,
    /// Where the instance's copies go on the medium.
    pub medium_folder: Option<String>,
    pub keys: Vec<PlannedKey>,
    /// Why nothing will be backed up on this instance.
    pub problem: Option<KeysafeError>,
}

impl InstancePlan {
    /// An instance whose inventory could not be read: nothing will be backed up on it.
    pub fn unreadable(o: &ConnectOptions, server_name: Option<String>, e: KeysafeError) -> Self {
        InstancePlan {
            server: o.server.to_string(),
            server_name,
            server_folder: None,
            folder: None,
            medium_folder: None,
            keys: vec![],
            problem: Some(e),
        }
    }
}

/// A run, previewed: no secret in it, nothing sent but the inventory's queries.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupPlan {
    pub instances: Vec<InstancePlan>,
}

/// A certificate's thumbprint as the inventory read it.
fn certificate_thumbprint(inv: &Inventory, key: &KeyRef) -> Option<String> {
    let KeyRef::Certificate { database, name } = key else {
        return None;
    };
    inv.databases
        .iter()
        .find(|d| &d.name == database)?
        .certificates
        .iter()
        .find(|c| &c.name == name)
        .map(|c| c.thumbprint.to_uppercase())
        .filter(|t| !t.is_empty())
}

/// What a key is, from the inventory: algorithm and size, protection, a certificate's
/// subject, expiry and what it protects.
fn key_description(inv: &Inventory, key: &KeyRef) -> Option<String> {
    let date = |d: Option<chrono::NaiveDateTime>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "unknown".into())
    };
    match key {
        KeyRef::ServiceMasterKey => inv.service_master_key.as_ref().map(|k| {
            format!(
                "{} {} bits, last changed {}; protects the instance's database master keys, credentials and linked server passwords",
                k.algorithm,
                k.key_length,
                date(k.modified.or(k.created))
            )
        }),
        KeyRef::DatabaseMasterKey { database } => {
            let d = inv.databases.iter().find(|d| &d.name == database)?;
            let k = d.master_key.as_ref()?;
            Some(format!(
                "{}, {}, last changed {}; protects the private keys of {} certificate(s) in {database}",
                k.algorithm,
                match k.protection {
                    crate::inventory::MasterKeyProtection::ServiceMasterKey =>
                        "opens by the service master key",
                    crate::inventory::MasterKeyProtection::PasswordOnly => "opens by password only",
                },
                date(k.modified.or(k.created)),
                d.certificates.iter().filter(|c| c.private_key == "MK").count()
            ))
        }
        KeyRef::Certificate { database, name } => {
            let c = inv
                .databases
                .iter()
                .find(|d| &d.name == database)?
                .certificates
                .iter()
                .find(|c| &c.name == name)?;
            let mut uses: Vec<String> = c
                .used_by_tde
                .iter()
                .map(|d| format!("TDE of {d}"))
                .collect();
            uses.extend(c.protects.iter().map(|k| format!("symmetric key {k}")));
            Some(format!(
                "subject {:?}, expires {}, private key {}; protects {}",
                c.subject,
                date(c.expiry),
                c.private_key,
                if uses.is_empty() {
                    "nothing recorded".into()
                } else {
                    uses.join(", ")
                }
            ))
        }
    }
}

/// A master key's key_guid, from the inventory.
fn master_key_guid(inv: &Inventory, key: &KeyRef) -> Option<String> {
    match key {
        KeyRef::ServiceMasterKey => inv.service_master_key.as_ref()?.key_guid.clone(),
        KeyRef::DatabaseMasterKey { database } => inv
            .databases
            .iter()
            .find(|d| &d.name == database)?
            .master_key
            .as_ref()?
            .key_guid
            .clone(),
        KeyRef::Certificate { .. } => None,
    }
}

pub use crate::backup::{needed_passwords, NeededPassword};

/// The plan for one instance from its inventory: the keys the selection resolves to, their
/// statements and files, the server folder and the protection it will get. No I/O but
/// looking at this machine's folders; `execute` follows it.
pub fn plan_instance(o: &ConnectOptions, inv: &Inventory, s: &RunSettings) -> InstancePlan {
    let address = o.server.to_string();
    let mut plan = InstancePlan {
        server: address.clone(),
        server_name: Some(inv.server.server_name.clone()),
        server_folder: None,
        folder: None,
        medium_folder: None,
        keys: vec![],
        problem: None,
    };
    let forecast = &inv.server.read_back;
    let keys = s.selection.resolve(inv);
    if forecast.verdict == inventory::ReadBackVerdict::Impossible {
        // The service master key's own need first: its GRANT covers the read-back's too.
        let e = if keys.contains(&KeyRef::ServiceMasterKey) && !inv.server.has("CONTROL SERVER") {
            let smk = backup::smk_needs_control_server(inv);
            KeysafeError::new(
                ErrorCode::PermissionDenied,
                format!(
                    "Nothing was backed up: {} Also, {}",
                    smk.message, forecast.reason
                ),
            )
            .next(smk.next_step.unwrap_or_default())
        } else {
            let e = KeysafeError::new(
                ErrorCode::PermissionDenied,
                format!("Nothing was backed up: {}", forecast.reason),
            );
            match &forecast.fix {
                Some(fix) => e.next(fix.clone()),
                None => e,
            }
        };
        plan.problem = Some(e);
        return plan;
    }
    if keys.is_empty() {
        let unseen = s.selection.unseen(inv);
        plan.problem = Some(match unseen.as_slice() {
            [] if matches!(s.selection, Selection::Changed(_)) => KeysafeError::new(
                ErrorCode::NotFound,
                "Every key of this instance is backed up and unchanged: nothing to back up.",
            ),
            [] => KeysafeError::new(
                ErrorCode::NotFound,
                "There is nothing to back up on this instance for that selection.",
            ),
            [k, ..] => not_visible(inv, k),
        });
        return plan;
    }
    let dir = match &s.backup.server_dir {
        Some(d) => d.clone(),
        None => match backup::default_server_dir(inv) {
            Ok(d) => d,
            Err(e) => {
                plan.problem = Some(e);
                return plan;
            }
        },
    };
    // The folder may not exist yet: the run creates it first, so a parent visible from here
    // is enough to say what will be applied.
    let visible = |p: &std::path::Path| p.is_dir() || p.parent().is_some_and(|q| q.is_dir());
    plan.folder = Some(folder_plan(
        o,
        inv,
        &dir,
        s.server_dir_local.as_deref(),
        &s.acl_principals,
        &visible,
    ));
    plan.server_folder = Some(dir);
    plan.medium_folder = Some(
        instance_medium_folder(&s.backup.copy_to, &address, &inv.server.server_name)
            .display()
            .to_string(),
    );
    let now = chrono::Utc::now();
    for key in keys {
        plan.keys.push(
            match backup::plan(inv, std::slice::from_ref(&key), &s.backup, now) {
                Ok(mut p) => p.remove(0),
                Err(e) => PlannedKey::refused(inv, key, e),
            },
        );
    }
    plan
}

/// Previews a run: connects to each instance (`concurrency` at a time) and reads its
/// inventory; nothing is written anywhere.
pub async fn plan(req: &RunRequest) -> BackupPlan {
    let one = |o: &ConnectOptions| {
        let o = o.clone();
        let s = &req.settings;
        async move {
            let inv = async {
                let mut c = connect(&o).await?;
                inventory::inventory(&mut c).await
            }
            .await;
            match inv {
                Ok(inv) => plan_instance(&o, &inv, s),
                Err(e) => InstancePlan::unreadable(&o, None, e),
            }
        }
    };
    let instances = futures_util::stream::iter(req.targets.iter().map(one))
        .buffered(req.concurrency.max(1))
        .collect()
        .await;
    BackupPlan { instances }
}

pub async fn back_up_instance(
    o: &ConnectOptions,
    s: &RunSettings,
    secrets: &Secrets,
    progress: &(dyn Fn(Progress) + Sync),
) -> InstanceReport {
    let label = o.server.to_string();
    progress(Progress::Connecting {
        server: label.clone(),
    });
    let mut report = InstanceReport::new(label.clone());
    let result: crate::Result<()> = async {
        let mut c = connect(o).await?;
        // The server folder the plan will name, checked in the inventory's round trips.
        let (inv, folder_exists) = inventory::inventory_and_folder(&mut c, &|facts| {
            s.backup
                .server_dir
                .clone()
                .or_else(|| backup::default_server_dir_of(facts).ok())
        })
        .await?;
        report.server = inv.server.server_name.clone();
        report.facts = Some(inv.server.clone());
        report.risks = inv.risks.clone();
        if matches!(s.selection, Selection::Changed(_)) && s.selection.resolve(&inv).is_empty() {
            report.up_to_date = true;
            report.folder_protection = "not needed: every key is backed up and unchanged".into();
            return Ok(());
        }
        // What the preview showed, from this inventory: the keys, the folder, what stops it.
        let planned = plan_instance(o, &inv, s);
        if let Some(e) = planned.problem {
            return Err(e);
        }
        let dir = planned
            .server_folder
            .clone()
            .expect("a plan without a problem has a server folder");
        let now = chrono::Utc::now();
        let failed = |key: KeyRef, e: KeysafeError| backup::KeyResult {
            key,
            outcome: backup::Outcome::Failed,
            script: String::new(),
            files: vec![],
            started: now,
            finished: now,
            error: Some(e),
            restore_check: None,
            thumbprint: None,
            key_guid: None,
            description: None,
        };
        for key in s.selection.unseen(&inv) {
            let e = not_visible(&inv, &key);
            report.keys.push(failed(key, e));
        }
        // A key that cannot be planned (a password-only master key without its password
        // fails when its statement is bound) fails alone.
        let mut plan = Vec::new();
        for p in planned.keys {
            match p.problem {
                Some(e) => report.keys.push(failed(p.key, e)),
                None => plan.push(p),
            }
        }
        progress(Progress::Planned {
            server: report.server.clone(),
            keys: plan.len(),
        });
        let folder_note = match folder_exists {
            Some(exists) => backup::ensure_server_dir_known(&mut c, &dir, exists).await?,
            None => backup::ensure_server_dir(&mut c, &dir).await?,
        };
        if inv.server.read_back.verdict == inventory::ReadBackVerdict::Conditional {
            backup::probe_read_back(&mut c, &dir, &inv.server.path_separator).await?;
        }
        // The protection the preview showed. A folder this machine only seems to share with
        // the server is left alone: the server names a path this machine also has, which is
        // its word, not proof.
        let mut folder = planned
            .folder
            .expect("a plan without a problem has a folder plan");
        if matches!(folder, FolderPlan::Posix { .. }) && !same_folder(&mut c, &dir).await {
            folder = FolderPlan::NotApplied {
                reason: format!("Permissions left unchanged: {dir} on this machine is not the server's folder (a marker written here was not the file the server read there). Restrict it on the server (owner: the service account only)."),
            };
        }
        (report.folder_protection, report.folder_protection_failed) =
            protect_folder(&inv, &folder, &dir, &s.acl_principals);
        if let Some(note) = folder_note {
            report.folder_protection = format!("{note} {}", report.folder_protection);
        }
        progress(Progress::FolderReady {
            server: report.server.clone(),
            folder: dir.clone(),
            protection: report.folder_protection.clone(),
        });
        report.server_folder = Some(dir);
        let dest = PathBuf::from(
            planned
                .medium_folder
                .expect("a plan without a problem has a medium folder"),
        );
        crate::private_fs::create_dir_all(&dest).map_err(|e| {
            KeysafeError::new(
                ErrorCode::MediumRemoved,
                format!("Cannot create {} on the backup medium: {e}", dest.display()),
            )
            .next("Check that the medium is inserted and writable.")
        })?;
        for p in &plan {
            let view = s
                .server_dir_local
                .as_ref()
                .zip(report.server_folder.as_ref())
                .map(|(l, d)| backup::LocalView {
                    server_dir: d.clone(),
                    local_dir: l.clone(),
                });
            progress(Progress::KeyStarted {
                server: report.server.clone(),
                key: p.key.label(),
            });
            let mut r = backup::run_one_with(&mut c, p, secrets, &dest, view.as_ref()).await;
            r.thumbprint = certificate_thumbprint(&inv, &p.key);
            r.key_guid = master_key_guid(&inv, &p.key);
            r.description = key_description(&inv, &p.key);
            if s.verify_restore && r.error.is_none() {
                let proof = crate::restore_check::check(&mut c, &r, &secrets.password).await;
                // The user asked for the proof: without it the key is not verified.
                if let crate::restore_check::RestoreCheck::Failed { reason, .. } = &proof {
                    r.outcome = backup::Outcome::Failed;
                    r.error = Some(
                        KeysafeError::new(
                            ErrorCode::RestoreCheckFailed,
                            format!("The backup was copied, but restoring it failed: {reason}"),
                        )
                        .next("Do not rely on this backup: back the key up again, then restore it on a test server."),
                    );
                }
                r.restore_check = Some(proof);
            }
            progress(Progress::KeyDone {
                server: report.server.clone(),
                key: r.key.label(),
                verified: r.error.is_none(),
            });
            let lost = r.error.as_ref().is_some_and(|e| {
                matches!(e.code, ErrorCode::ConnectionLost | ErrorCode::MediumRemoved)
            });
            report.keys.push(r);
            if lost {
                break;
            }
        }
        Ok(())
    }
    .await;
    report.error = result.err();
    progress(Progress::InstanceDone {
        server: report.server.clone(),
        verified: report.all_verified(),
    });
    report
}

/// Many instances, at most `concurrency` at a time; reports come back in input order.
///
/// Each instance runs as its own task, so the client's share of the work (TLS, parsing,
/// hashing, the copies) spreads over every core, and a slot is taken again as soon as any
/// instance finishes: one slow or unreachable server holds its own slot, not the queue.
/// Progress from every task reaches `progress` on the caller's task, in the order it
/// happened.
pub async fn back_up_fleet(
    targets: &[ConnectOptions],
    s: &RunSettings,
    secrets: &Secrets,
    concurrency: usize,
    progress: &(dyn Fn(Progress) + Sync),
) -> Vec<InstanceReport> {
    let settings = std::sync::Arc::new(s.clone());
    let secrets = std::sync::Arc::new(secrets.clone());
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, o) in targets.iter().cloned().enumerate() {
        let (settings, secrets, slots, tx) =
            (settings.clone(), secrets.clone(), slots.clone(), tx.clone());
        tasks.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _slot = slots.acquire_owned().await;
            let send = |p: Progress| {
                let _ = tx.send(p);
            };
            let secrets = secrets.for_instance(&o.server.to_string());
            (i, back_up_instance(&o, &settings, &secrets, &send).await)
        });
    }
    drop(tx);
    let mut reports: Vec<Option<InstanceReport>> = vec![None; targets.len()];
    let mut progress_open = true;
    while !tasks.is_empty() || progress_open {
        tokio::select! {
            p = rx.recv(), if progress_open => match p {
                Some(p) => progress(p),
                None => progress_open = false,
            },
            done = tasks.join_next(), if !tasks.is_empty() => {
                if let Some(Ok((i, r))) = done {
                    reports[i] = Some(r);
                }
            }
        }
    }
    reports
        .into_iter()
        .zip(targets)
        .map(|(r, o)| {
            r.unwrap_or_else(|| InstanceReport {
                error: Some(KeysafeError::new(
                    ErrorCode::Internal,
                    "The backup of this instance stopped unexpectedly (an internal error); nothing was verified.",
                )),
                ..InstanceReport::new(o.server.to_string())
            })
        })
        .collect()
}

/// Who gets read access to the server folder besides those with full control: a Windows
/// login's own account, since SQL Server reads the backups back as that account.
fn folder_readers(inv: &Inventory) -> Vec<String> {
    if inv.server.windows_login {
        inv.server.login_sid.iter().cloned().collect()
    } else {
        vec![]
    }
}

/// The DACL Keysafe applies to a Windows server folder, as SDDL: protected; full control for
/// SYSTEM, Administrators, the instance's service SID and `extra` (SIDs); read access for the
/// Windows account of a Windows-authenticated login. What an administrator (or a test) sets
/// where Keysafe cannot reach the folder.
pub fn intended_folder_sddl(inv: &Inventory, extra: &[String]) -> crate::Result<String> {
    use crate::windows::{sddl, sid};
    let svc = inv
        .server
        .service_account
        .as_deref()
        .and_then(sid::service_name)
        .map(sid::service_sid)
        .ok_or_else(|| {
            KeysafeError::new(
                ErrorCode::NotFound,
                "The SQL Server service account is unknown or not a virtual account (needs VIEW SERVER STATE).",
            )
        })?;
    let readers = folder_readers(inv);
    sddl::backup_folder_dacl(&svc, extra, &readers)
        .map_err(|e| KeysafeError::new(ErrorCode::InvalidInput, e.to_string()))
}

/// Who a Windows folder's DACL gives access to, in words.
fn windows_access(account: &str, extra: &[String], readers: &[String]) -> Vec<String> {
    use crate::windows::sid;
    let mut v = vec![
        "NT AUTHORITY\\SYSTEM: Full control".to_string(),
        "BUILTIN\\Administrators: Full control".to_string(),
        match sid::service_name(account) {
            Some(s) => format!("{account} ({}): Full control", sid::service_sid(s)),
            None => format!("{account}: Full control"),
        },
    ];
    v.extend(extra.iter().map(|p| format!("{p}: Full control")));
    v.extend(
        readers.iter().map(|r| {
            format!("{r} (your Windows account, as SQL Server reads the files back): Read")
        }),
    );
    v
}

/// Decides the protection of the server folder: SQL Server on Linux on this machine gets
/// 0700 owned by its service account; a Windows folder reachable from here (on Windows) gets
/// the protected DACL; otherwise the exact icacls commands for the server. `local_view` is
/// where the user said the server folder is visible from here (--server-dir-local): it wins
/// over any path Keysafe would guess. `visible` says whether a folder can be reached.
fn folder_plan(
    o: &ConnectOptions,
    inv: &Inventory,
    dir: &str,
    local_view: Option<&std::path::Path>,
    extra: &[String],
    visible: &dyn Fn(&std::path::Path) -> bool,
) -> FolderPlan {
    use crate::windows::{paths::WindowsPath, sid};
    let local = ["localhost", "127.0.0.1", "::1", "."]
        .iter()
        .any(|h| o.server.host.eq_ignore_ascii_case(h));
    let account = inv.server.service_account.as_deref();
    let readers = folder_readers(inv);
    if !inv.server.is_windows() {
        #[cfg(unix)]
        if local && visible(std::path::Path::new(dir)) {
            return match crate::protection::posix_owner(account) {
                Some(owner) => FolderPlan::Posix { owner },
                None => FolderPlan::NotApplied {
                    reason: format!(
                        "Permissions left unchanged: neither the reported service account ({}) nor mssql is a local user here, and mode 0700 would lock SQL Server out.",
                        account.unwrap_or("unknown")
                    ),
                },
            };
        }
        return FolderPlan::NotApplied {
            reason: "Not applied: the server's folder is not reachable from this machine. Restrict it on the server (owner: the service account only).".into(),
        };
    }
    let Some(wp) = WindowsPath::parse(dir) else {
        return FolderPlan::NotApplied {
            reason: format!("ACL not verified: '{dir}' is not a Windows path."),
        };
    };
    let Some(account) = account else {
        return FolderPlan::NotApplied {
            reason: "ACL not verified: the service account is unknown (needs VIEW SERVER STATE), so no ACL can be prepared.".into(),
        };
    };
    let access = windows_access(account, extra, &readers);
    #[cfg(windows)]
    {
        let reachable = match local_view {
            Some(v) => v.to_path_buf(),
            None if local || wp.is_unc() => dir.into(),
            None => wp.from_elsewhere(&o.server.host).into(),
        };
        if visible(&reachable) {
            return FolderPlan::WindowsDacl {
                local_path: reachable.display().to_string(),
                access,
            };
        }
    }
    let _ = (local, local_view, visible);
    let mut principals = vec![
        sid::LOCAL_SYSTEM.to_string(),
        sid::ADMINISTRATORS.to_string(),
        sid::service_name(account)
            .map(sid::service_sid)
            .unwrap_or_else(|| account.to_string()),
    ];
    principals.extend(extra.iter().cloned());
    let note = (wp.is_unc() && sid::service_name(account).is_some()).then(|| {
        "The folder is on a share: also grant the SQL Server computer account (DOMAIN\\HOST$), which is how a virtual account reaches the network.".to_string()
    });
    match crate::windows::paths::icacls_commands(dir, &principals, &readers) {
        Ok(commands) => FolderPlan::Commands {
            commands,
            access,
            note,
        },
        Err(e) => FolderPlan::NotApplied {
            reason: format!("ACL not verified: {e}"),
        },
    }
}

/// Whether the server's folder `dir` is this machine's `dir`: a marker with random content
/// written here must be the file the server reads there (its SHA-256 through OPENROWSET).
/// Only then may Keysafe change the folder's owner and mode here.
async fn same_folder(c: &mut crate::connection::SqlConnection, dir: &str) -> bool {
    let name = format!(".keysafe-marker-{}", uuid::Uuid::new_v4().simple());
    let local = std::path::Path::new(dir).join(&name);
    let content = uuid::Uuid::new_v4().to_string();
    let Ok(mut f) = crate::private_fs::new_file()
        .write(true)
        .create_new(true)
        .open(&local)
    else {
        return false;
    };
    let written = {
        use std::io::Write;
        f.write_all(content.as_bytes())
            .and_then(|_| f.sync_all())
            .is_ok()
    };
    drop(f);
    let server_path = format!("{}/{name}", dir.trim_end_matches('/'));
    let seen = match crate::tsql::path_literal(&server_path) {
        Ok(lit) if written => c
            .rows(&format!(
                "SELECT HASHBYTES('SHA2_256', BulkColumn) FROM OPENROWSET(BULK {lit}, SINGLE_BLOB) AS f"
            ))
            .await
            .ok()
            .and_then(|rows| rows.first().and_then(|r| r.get::<&[u8], _>(0).map(hex::encode_upper)))
            .is_some_and(|h| h == crate::copy::sha256_hex(content.as_bytes()).to_uppercase()),
        _ => false,
    };
    let _ = std::fs::remove_file(&local);
    seen
}

/// Applies the folder's plan and says what came of it: the text for the report, and whether
/// a protection that was applied read back as something else (a failed check, not a missing
/// one).
fn protect_folder(
    inv: &Inventory,
    plan: &FolderPlan,
    dir: &str,
    extra: &[String],
) -> (String, bool) {
    let account = inv.server.service_account.as_deref();
    let describe = |out: crate::protection::ProtectionOutcome| {
        let failed = !out.applied && out.read_back.is_some();
        let text = match out.read_back {
            Some(r) => format!("{} (read back: {r})", out.note),
            None => out.note,
        };
        (text, failed)
    };
    let _ = (dir, extra, account, &describe);
    match plan {
        #[cfg(unix)]
        FolderPlan::Posix { .. } => {
            use crate::protection::FolderProtection;
            describe(crate::protection::PosixLocal.protect(std::path::Path::new(dir), account))
        }
        #[cfg(windows)]
        FolderPlan::WindowsDacl { local_path, .. } => {
            use crate::protection::FolderProtection;
            describe(
                crate::windows::acl::WindowsAcl {
                    extra: extra.to_vec(),
                    readers: folder_readers(inv),
                }
                .protect(std::path::Path::new(local_path), account),
            )
        }
        FolderPlan::Commands { commands, note, .. } => (
            format!(
                "ACL not verified: the folder is not reachable from this machine. Run on the server:\n{}{}",
                commands.join("\n"),
                note.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
            ),
            false,
        ),
        FolderPlan::NotApplied { reason } => (reason.clone(), false),
        #[allow(unreachable_patterns)]
        other => (
            format!("Not applied: {other:?} cannot be applied from this platform."),
            false,
        ),
    }
}
