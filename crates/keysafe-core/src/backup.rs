//! A backup run for one instance: plan the files, create the server folder, run each BACKUP,
//! hash the file on the server, copy it to the medium and verify the copy.

use crate::connection::SqlConnection;
use crate::copy::{self, VerifiedCopy};
use crate::error::{ErrorCode, KeysafeError, Result};
use crate::inventory::{Inventory, MasterKeyProtection};
use crate::secret::Password;
use crate::tsql::{self, CertificateFormat, Script};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// A key's identity on its instance: what Object Explorer selects, the history is keyed by,
/// and the wire carries (the UI's TypeScript type is generated from it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyRef {
    ServiceMasterKey,
    DatabaseMasterKey { database: String },
    Certificate { database: String, name: String },
}

impl KeyRef {
    pub fn label(&self) -> String {
        match self {
            KeyRef::ServiceMasterKey => "Service Master Key".into(),
            KeyRef::DatabaseMasterKey { database } => format!("{database} database master key"),
            KeyRef::Certificate { database, name } => format!("certificate {database}.{name}"),
        }
    }
    fn file_stem(&self) -> String {
        match self {
            KeyRef::ServiceMasterKey => "SMK".into(),
            KeyRef::DatabaseMasterKey { database } => format!("DMK-{database}"),
            KeyRef::Certificate { database, name } => format!("CERT-{database}-{name}"),
        }
    }
}

/// The passwords of a backup: the one that protects the files, and those that open protected
/// keys. Kept apart from everything else a run needs, so that everything else can be shown,
/// logged and previewed. `Password` cannot be serialized or printed.
#[derive(Clone)]
pub struct Secrets {
    pub password: Password,
    /// Passwords that open password-only database master keys, by database.
    pub master_key_passwords: HashMap<String, Password>,
    /// Passwords of password-protected certificate private keys, by (database, name).
    pub certificate_passwords: HashMap<(String, String), Password>,
    /// Instances with a backup password of their own (split custody, one split per
    /// instance), by the target as given (`ConnectOptions::server`); every other instance uses `password`.
    pub instance_passwords: HashMap<String, Password>,
}

impl Secrets {
    /// The backup password alone.
    pub fn new(password: Password) -> Self {
        Secrets {
            password,
            master_key_passwords: HashMap::new(),
            certificate_passwords: HashMap::new(),
            instance_passwords: HashMap::new(),
        }
    }

    /// The backup password as the user chose it, typed twice (`confirm`) or given once (from
    /// the environment or a keyring): the two must match and SQL Server's policy must accept
    /// it, checked before anything is sent. The app and the CLI both start here.
    pub fn chosen(password: Password, confirm: Option<&Password>) -> Result<Self> {
        if confirm.is_some_and(|c| !crate::password::confirmed(&password, c)) {
            return Err(KeysafeError::new(
                ErrorCode::InvalidInput,
                "The password and its confirmation differ.",
            )
            .next("Type the same password twice."));
        }
        check_backup_password(&password)?;
        Ok(Secrets::new(password))
    }

    /// Gives the password a key needs (`PlannedKey::needs`).
    pub fn give(&mut self, need: NeededPassword, password: Password) {
        match need {
            NeededPassword::MasterKey { database } => {
                self.master_key_passwords.insert(database, password);
            }
            NeededPassword::CertificateKey { database, name } => {
                self.certificate_passwords
                    .insert((database, name), password);
            }
        }
    }

    /// The secrets one instance's backup uses: its own backup password where it has one.
    pub fn for_instance(&self, server: &str) -> Secrets {
        let mut s = self.clone();
        if let Some(p) = self.instance_passwords.get(server) {
            s.password = p.clone();
        }
        s.instance_passwords.clear();
        s
    }

    /// Every backup password the run may use.
    pub fn backup_passwords(&self) -> impl Iterator<Item = &Password> {
        std::iter::once(&self.password).chain(self.instance_passwords.values())
    }

    /// Stand-ins for a preview: every password one of `keys` needs (`needed_passwords`,
    /// what the plan asks the user for), as a placeholder. The statements are shown masked,
    /// so a preview made with them reads exactly as the run's.
    pub fn placeholders(inv: &Inventory, keys: &[KeyRef]) -> Self {
        let p = || Password::new("placeholder");
        let mut s = Secrets::new(p());
        for need in keys.iter().flat_map(|k| needed_passwords(inv, k)) {
            match need {
                NeededPassword::MasterKey { database } => {
                    s.master_key_passwords.insert(database, p());
                }
                NeededPassword::CertificateKey { database, name } => {
                    s.certificate_passwords.insert((database, name), p());
                }
            }
        }
        s
    }
}

/// The backup password against the policy SQL Server enforces (Windows' defaults), before
/// anything is sent: a refusal names the Msg SQL Server would have answered.
pub fn check_backup_password(p: &crate::Password) -> crate::Result<()> {
    crate::password::check_policy(p, None).map_err(|v| {
        KeysafeError::new(ErrorCode::PasswordPolicy, v.explain()).next(format!(
            "Nothing was sent. SQL Server would answer Msg {}.",
            v.sql_error()
        ))
    })
}

/// The proof that a key's backup restores (`restore_check::check` makes it).
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum RestoreCheck {
    /// Restored in a scratch database and identical to the original.
    Proven {
        method: String,
    },
    Failed {
        method: String,
        reason: String,
    },
    NotApplicable {
        reason: String,
    },
}

/// A password the run will need for a key: the preview asks for it, the run fails the key
/// without it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum NeededPassword {
    /// The database's master key is protected by a password only.
    MasterKey { database: String },
    /// The certificate's private key is encrypted by a password.
    CertificateKey { database: String, name: String },
}

/// The passwords a key needs, from the inventory.
pub fn needed_passwords(inv: &Inventory, key: &KeyRef) -> Vec<NeededPassword> {
    let db = |name: &str| {
        inv.databases
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    };
    let password_only = |name: &str| {
        db(name)
            .and_then(|d| d.master_key.as_ref())
            .is_some_and(|m| m.protection == crate::inventory::MasterKeyProtection::PasswordOnly)
    };
    match key {
        KeyRef::ServiceMasterKey => vec![],
        KeyRef::DatabaseMasterKey { database } if password_only(database) => {
            vec![NeededPassword::MasterKey {
                database: database.clone(),
            }]
        }
        KeyRef::DatabaseMasterKey { .. } => vec![],
        KeyRef::Certificate { database, name } => {
            let cert = db(database).and_then(|d| {
                d.certificates
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
            });
            match cert.map(|c| c.private_key.as_str()) {
                Some("PW") => vec![NeededPassword::CertificateKey {
                    database: database.clone(),
                    name: name.clone(),
                }],
                Some("MK") if password_only(database) => vec![NeededPassword::MasterKey {
                    database: database.clone(),
                }],
                _ => vec![],
            }
        }
    }
}

/// Where and how to back up; the passwords are in `Secrets`.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// The folder on the server; default: `<default backup path>\Keysafe`.
    pub server_dir: Option<String>,
    /// The folder on the backup medium.
    pub copy_to: PathBuf,
    pub format: Option<CertificateFormat>,
}

/// One key of a plan: what the preview shows (the statement with every password as ****, the
/// files it writes) and what the run executes, the same value. The passwords are bound only
/// when it runs (`PlannedKey::statement`), so a plan can be shown, logged and sent to the UI.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlannedKey {
    pub key: KeyRef,
    pub label: String,
    /// Files the BACKUP statement writes on the server (names carry the run's time).
    pub server_files: Vec<String>,
    /// Files read over the connection instead (a Windows login's certificates): their names
    /// on the medium (.cer, then .pvk).
    pub exported_files: Vec<String>,
    /// The T-SQL, every password shown as ****.
    pub script: String,
    pub needs: Vec<NeededPassword>,
    /// Why this key cannot be backed up as asked.
    pub problem: Option<KeysafeError>,
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    recipe: Option<Recipe>,
}

/// What a key's statement does, without its passwords.
#[derive(Debug, Clone)]
enum Recipe {
    ServiceMasterKey {
        file: String,
    },
    MasterKey {
        database: String,
        file: String,
        /// Only its password opens it: the run must be given that password.
        password_only: bool,
    },
    /// Read over the connection (CERTENCODED, CERTPRIVATEKEY).
    Export {
        database: String,
        name: String,
    },
    Certificate {
        database: String,
        name: String,
        file: String,
        pvk: Option<String>,
        format: CertificateFormat,
    },
}

impl PlannedKey {
    /// A key that cannot be backed up as asked: planned, with why.
    pub fn refused(inv: &Inventory, key: KeyRef, problem: KeysafeError) -> Self {
        PlannedKey {
            label: key.label(),
            needs: needed_passwords(inv, &key),
            key,
            server_files: vec![],
            exported_files: vec![],
            script: String::new(),
            problem: Some(problem),
            recipe: None,
        }
    }

    /// The statement with `secrets` bound: what the run sends. Fails before anything is sent
    /// when a password the key needs is missing.
    pub fn statement(&self, secrets: &Secrets) -> Result<Script> {
        let Some(recipe) = &self.recipe else {
            return Err(self.problem.clone().unwrap_or_else(|| {
                KeysafeError::new(ErrorCode::Internal, "This key has no statement.")
            }));
        };
        let cert_pw = |database: &String, name: &String| {
            secrets
                .certificate_passwords
                .get(&(database.clone(), name.clone()))
        };
        let statement = match recipe {
            Recipe::ServiceMasterKey { file } => {
                tsql::backup_service_master_key(file, &secrets.password)?
            }
            Recipe::MasterKey {
                database,
                file,
                password_only,
            } => {
                // A password the user gave is used whatever the inventory says: a database
                // restored from another server still shows "encrypted by server", but only its
                // password opens it here.
                let open = match (secrets.master_key_passwords.get(database), password_only) {
                    (Some(p), _) => Some(p),
                    (None, true) => {
                        return Err(KeysafeError::new(ErrorCode::MasterKeyNotOpen, format!("{database}'s master key is protected by a password only."))
                            .next("Give its password so Keysafe can open it for the backup (--master-key-password-env DB=VAR)."))
                    }
                    (None, false) => None,
                };
                tsql::backup_master_key(database, file, &secrets.password, open)?
            }
            Recipe::Export { database, name } => tsql::export_certificate(
                database,
                name,
                &secrets.password,
                cert_pw(database, name),
            )?,
            Recipe::Certificate {
                database,
                name,
                file,
                pvk,
                format,
            } => tsql::backup_certificate(
                database,
                name,
                file,
                pvk.as_deref(),
                *format,
                &secrets.password,
                cert_pw(database, name),
            )?,
        };
        // A certificate whose private key the master key protects needs that key open: with
        // the master key's password when the user gave it.
        match (
            &self.key,
            secrets.master_key_passwords.get(key_database(&self.key)),
        ) {
            (KeyRef::Certificate { database, .. }, Some(p)) => {
                Ok(statement.with_master_key_open(database, p)?)
            }
            _ => Ok(statement),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Verified,
    Failed,
    Skipped,
}

impl Outcome {
    /// As the Back Up dialog's result and the console say it.
    pub fn words(self) -> &'static str {
        match self {
            Outcome::Verified => "Verified",
            Outcome::Failed => "Failed",
            Outcome::Skipped => "Skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub server_path: String,
    pub server_sha256: String,
    pub bytes: u64,
    pub read_path: ReadPath,
    pub copy: Option<VerifiedCopy>,
    pub verified: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyResult {
    pub key: KeyRef,
    pub outcome: Outcome,
    pub script: String,
    pub files: Vec<FileResult>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub error: Option<KeysafeError>,
    /// The opt-in restorability check, when it ran.
    pub restore_check: Option<RestoreCheck>,
    /// A certificate's SHA-1 thumbprint (hex) when it was backed up: a restore compares the
    /// restored certificate's with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// A master key's key_guid when it was backed up: what the backup restores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_guid: Option<String>,
    /// What the key is, as the inventory saw it when it was backed up: algorithm and size,
    /// a certificate's subject, expiry and what it protects (PCI DSS 3.6.1.1's description).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn key_database(k: &KeyRef) -> &str {
    match k {
        KeyRef::ServiceMasterKey => "master",
        KeyRef::DatabaseMasterKey { database } | KeyRef::Certificate { database, .. } => database,
    }
}

/// A key's part of its file names: readable, and unique per key. Where cleaning the name
/// loses something ("a b", "a:b" and "a_b" all clean to "a_b"), where the parts could be
/// read two ways (certificate y.z of database x-y, and y-z of x... both "CERT-x-y-z"), or
/// where it is cut to fit, a short hash of the key's identity follows.
fn key_file_part(key: &KeyRef) -> String {
    const MAX: usize = 90;
    let raw = key.file_stem();
    let cleaned = safe_name(&raw);
    let ambiguous = match key {
        KeyRef::Certificate { database, name } => database.contains('-') || name.contains('-'),
        _ => false,
    };
    let short: String = cleaned.chars().take(MAX).collect();
    if cleaned == raw && !ambiguous && short.len() == cleaned.len() {
        return cleaned;
    }
    use sha2::Digest;
    let id = sha2::Sha256::digest(serde_json::to_vec(key).expect("a key serializes"));
    format!("{short}-{}", &hex::encode(id)[..8])
}

/// `s` made safe for a file name: letters, digits, '-', '_' and '.' kept, anything else '_'.
pub(crate) fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The server folder Keysafe uses when none is given.
pub fn default_server_dir(inv: &Inventory) -> Result<String> {
    default_server_dir_of(&inv.server)
}

/// The same, from the server's facts alone.
pub fn default_server_dir_of(facts: &crate::inventory::ServerFacts) -> Result<String> {
    let base = facts.default_backup_path.clone().ok_or_else(|| {
        KeysafeError::new(
            ErrorCode::InvalidInput,
            "The instance's default backup folder is unknown.",
        )
        .next("Give the server folder explicitly (--server-dir).")
    })?;
    let sep = &facts.path_separator;
    Ok(format!(
        "{}{sep}Keysafe",
        base.trim_end_matches(['\\', '/'])
    ))
}

/// BACKUP SERVICE MASTER KEY needs CONTROL SERVER (its docs' Permissions): said before
/// anything is sent.
pub fn smk_needs_control_server(inv: &Inventory) -> KeysafeError {
    let login = &inv.server.login;
    KeysafeError::new(
        ErrorCode::PermissionDenied,
        format!("{login} lacks CONTROL SERVER, which backing up the service master key needs (BACKUP SERVICE MASTER KEY)."),
    )
    .next(format!(
        "GRANT CONTROL SERVER TO {}; (it implies ADMINISTER BULK OPERATIONS and VIEW SERVER STATE)",
        crate::tsql::ident(login).unwrap_or_else(|_| "[login]".into())
    ))
}

/// The plan of `keys`: file names (instance, key, UTC time and a random tag; nothing is ever
/// reused), statements and what each needs. The tag keeps two runs in the same millisecond
/// apart (Windows' clock moves in 15.6 ms steps, so runs a scheduler starts together would
/// otherwise name the same file and the second would fail). No password is needed: each
/// statement is shown with every password masked, and bound when it runs.
pub fn plan(
    inv: &Inventory,
    keys: &[KeyRef],
    req: &BackupOptions,
    now: DateTime<Utc>,
) -> Result<Vec<PlannedKey>> {
    let dir = match &req.server_dir {
        Some(d) => d.trim_end_matches(['\\', '/']).to_string(),
        None => default_server_dir(inv)?,
    };
    let sep = inv.server.path_separator.clone();
    let stamp = format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        rand::random::<u16>()
    );
    let instance: String = safe_name(&inv.server.server_name.replace('\\', "$"))
        .chars()
        .take(64)
        .collect();
    let format = req.format.unwrap_or(if inv.server.supports_pfx() {
        CertificateFormat::Pfx
    } else {
        CertificateFormat::Pvk
    });
    if keys.contains(&KeyRef::ServiceMasterKey) && !inv.server.has("CONTROL SERVER") {
        return Err(smk_needs_control_server(inv));
    }
    if format == CertificateFormat::Pfx && !inv.server.supports_pfx() {
        return Err(KeysafeError::new(
            ErrorCode::Unsupported,
            "PFX export needs SQL Server 2022; this instance is older.",
        )
        .next("Use the .cer + .pvk format."));
    }
    let shown = Secrets::placeholders(inv, keys);
    let mut out = Vec::new();
    for key in keys {
        let stem = format!("{dir}{sep}{instance}_{}_{stamp}", key_file_part(key));
        let mut exported_files = vec![];
        let (server_files, recipe) = match key {
            KeyRef::ServiceMasterKey => {
                let file = format!("{stem}.key");
                (vec![file.clone()], Recipe::ServiceMasterKey { file })
            }
            KeyRef::DatabaseMasterKey { database } => {
                let mk = inv
                    .databases
                    .iter()
                    .find(|d| d.name.eq_ignore_ascii_case(database))
                    .and_then(|d| d.master_key.as_ref());
                let Some(mk) = mk else {
                    return Err(KeysafeError::new(
                        ErrorCode::NotFound,
                        format!("{database} has no database master key that this login can see."),
                    ));
                };
                let file = format!("{stem}.key");
                (
                    vec![file.clone()],
                    Recipe::MasterKey {
                        database: database.clone(),
                        file,
                        password_only: mk.protection == MasterKeyProtection::PasswordOnly,
                    },
                )
            }
            KeyRef::Certificate { database, name }
                if inv.server.is_windows() && inv.server.windows_login =>
            {
                if req.format == Some(CertificateFormat::Pfx) {
                    return Err(KeysafeError::new(
                        ErrorCode::Unsupported,
                        "With Windows Authentication, certificates are exported over the connection as .cer + .pvk: SQL Server makes certificate backup files readable by its service account only.",
                    )
                    .next("Use the .cer + .pvk format, or connect with a SQL Server login for PFX."));
                }
                let file = |ext: &str| {
                    let full = format!("{stem}.{ext}");
                    full.rsplit(['\\', '/']).next().unwrap_or(&full).to_string()
                };
                exported_files = vec![file("cer"), file("pvk")];
                (
                    vec![],
                    Recipe::Export {
                        database: database.clone(),
                        name: name.clone(),
                    },
                )
            }
            KeyRef::Certificate { database, name } => {
                let (file, pvk) = match format {
                    CertificateFormat::Pfx => (format!("{stem}.pfx"), None),
                    CertificateFormat::Pvk => (format!("{stem}.cer"), Some(format!("{stem}.pvk"))),
                };
                (
                    std::iter::once(file.clone()).chain(pvk.clone()).collect(),
                    Recipe::Certificate {
                        database: database.clone(),
                        name: name.clone(),
                        file,
                        pvk,
                        format,
                    },
                )
            }
        };
        let mut planned = PlannedKey {
            key: key.clone(),
            label: key.label(),
            server_files,
            exported_files,
            script: String::new(),
            needs: needed_passwords(inv, key),
            problem: None,
            recipe: Some(recipe),
        };
        planned.script = planned.statement(&shown)?.shown;
        out.push(planned);
    }
    Ok(out)
}

/// Creates the server folder when it is missing (as the service account). A login that may
/// not run xp_create_subdir (or whose xp_fileexist answers nothing, as it does for logins
/// that are not sysadmin) does not stop the run: the backup goes into the folder as it is,
/// and a missing folder is then SQL Server's own 15240. Returns what the user should know.
pub async fn ensure_server_dir(c: &mut SqlConnection, dir: &str) -> Result<Option<String>> {
    let lit = tsql::path_literal(dir)?;
    let rows = c
        .rows(&format!("EXEC master.dbo.xp_fileexist {lit}"))
        .await?;
    let is_dir = rows.first().and_then(|r| r.get::<i32, _>(1)) == Some(1);
    ensure_server_dir_known(c, dir, is_dir).await
}

/// The same when xp_fileexist has already answered (`inventory_and_folder`): creates the
/// folder only when it was not there.
pub async fn ensure_server_dir_known(
    c: &mut SqlConnection,
    dir: &str,
    is_dir: bool,
) -> Result<Option<String>> {
    let lit = tsql::path_literal(dir)?;
    if is_dir {
        return Ok(None);
    }
    match c
        .execute(&format!("EXEC master.dbo.xp_create_subdir {lit}"))
        .await
    {
        Ok(()) => Ok(None),
        Err(e) if e.server.as_ref().is_some_and(|m| m.number == 229) => Ok(Some(format!(
            "This login may not run xp_create_subdir, so Keysafe could neither check nor create {dir}: the backup goes ahead into it as it is (create it on the server first if it is missing)."
        ))),
        // xp_create_subdir works as the service account: "error 5" is its access, "error 3"
        // a drive or share that is not there.
        Err(e) if e.server.as_ref().is_some_and(|m| m.number == 22048) => {
            let denied = e.server.as_ref().is_some_and(|m| m.text.contains("error 5,"));
            let mut k = if denied {
                KeysafeError::new(
                    ErrorCode::PermissionDenied,
                    format!("SQL Server's service account may not create the server folder {dir}."),
                )
                .next("Grant the SQL Server service account write access to the folder above it, create the folder on the server yourself, or choose another server folder.")
            } else {
                KeysafeError::new(
                    ErrorCode::NotFound,
                    format!("SQL Server could not create the server folder {dir}: its drive or share is not there."),
                )
                .next("Choose a server folder on a drive the server has.")
            };
            k.server = e.server;
            Err(k)
        }
        Err(e) => Err(e),
    }
}

/// A certificate over the connection: SQL Server hashes what it sends, the copies on the
/// medium are written, read back unbuffered and compared with those hashes.
async fn export_certificate(
    c: &mut SqlConnection,
    statement: &Script,
    names: &[String],
    database: &str,
    name: &str,
    copy_to: &std::path::Path,
    files: &mut Vec<FileResult>,
) -> Result<()> {
    let sets = c.batch(statement.sent()).await?;
    let row = sets
        .iter()
        .flatten()
        .find(|r| r.len() == 4)
        .ok_or_else(|| {
            KeysafeError::new(
                ErrorCode::VerificationFailed,
                format!("SQL Server returned nothing for certificate {database}.{name}."),
            )
        })?;
    let cer = row.get::<&[u8], _>(0).ok_or_else(|| {
        KeysafeError::new(ErrorCode::NotFound, format!("SQL Server returned no certificate {database}.{name}: it is gone, or this login may not see it."))
    })?;
    // The batch's last result set: HAS_PERMS_BY_NAME(certificate, 'CERTIFICATE', 'CONTROL').
    let control = sets
        .iter()
        .flatten()
        .find(|r| r.len() == 1)
        .and_then(|r| r.get::<i32, _>(0));
    if row.get::<&[u8], _>(2).is_none() && control == Some(0) {
        return Err(crate::error::no_control_on_certificate(
            database,
            name,
            "this login",
        ));
    }
    let pvk = row.get::<&[u8], _>(2).ok_or_else(|| {
        KeysafeError::new(
            ErrorCode::MasterKeyNotOpen,
            format!("SQL Server returned no private key for certificate {database}.{name}: this login cannot open it."),
        )
        .next("If the database master key protects it and does not open by itself (password only, or a database restored from another server), give the master key's password (--master-key-password-env DB=VAR); if a password protects it, give that (--certificate-password-env DB.NAME=VAR).")
    })?;
    for ((bytes, hash), (file, what)) in
        [(cer, row.get::<&[u8], _>(1)), (pvk, row.get::<&[u8], _>(3))]
            .into_iter()
            .zip(names.iter().zip(["CERTENCODED", "CERTPRIVATEKEY"]))
    {
        let server_hash = hash.map(hex::encode_upper).unwrap_or_default();
        if copy::sha256_hex(bytes) != server_hash {
            return Err(KeysafeError::new(
                ErrorCode::VerificationFailed,
                format!("The bytes received for {file} do not match SQL Server's hash of them."),
            ));
        }
        keep_verified_copy(
            files,
            copy_to,
            file,
            bytes,
            format!("{what}([{database}].[{name}])"),
            server_hash,
            ReadPath::Export,
        )
        .await?;
    }
    Ok(())
}

/// Writes `bytes` to the medium as `name`, reads the copy back unbuffered and records it
/// against the server's SHA-256. The record is kept when the copy differs, and the key fails.
///
/// The file system work (write, fsync of the file and its folder, unbuffered read) runs on
/// the blocking pool: a slow medium must not stall the other connections of a fleet.
async fn keep_verified_copy(
    files: &mut Vec<FileResult>,
    copy_to: &std::path::Path,
    name: &str,
    bytes: &[u8],
    server_path: String,
    server_sha256: String,
    read_path: ReadPath,
) -> Result<()> {
    let (dir, file, body) = (copy_to.to_path_buf(), name.to_string(), bytes.to_vec());
    let back = tokio::task::spawn_blocking(move || {
        let dest = copy::write_new(&dir, &file, &body)?;
        copy::read_back(&dest)
    })
    .await
    .map_err(|e| {
        KeysafeError::new(
            ErrorCode::Internal,
            format!("The copy to the medium stopped unexpectedly: {e}"),
        )
    })??;
    let verified = back.sha256 == server_sha256;
    let err = (!verified).then(|| {
        KeysafeError::new(
            ErrorCode::VerificationFailed,
            format!("The copy of {server_path} on the medium differs from the server's."),
        )
        .next("The medium may be failing: copy to another medium.")
    });
    files.push(FileResult {
        server_path,
        server_sha256,
        bytes: bytes.len() as u64,
        read_path,
        copy: Some(back),
        verified,
    });
    err.map_or(Ok(()), Err)
}

/// Asks SQL Server to read a file that does not exist in the server folder: "does not exist"
/// (4860) means this login may read there; anything else (4861 access denied, say) is the
/// error every read-back would get, found before any backup is written.
pub async fn probe_read_back(c: &mut SqlConnection, dir: &str, sep: &str) -> Result<()> {
    let probe = format!(
        "{}{sep}keysafe-probe-{}",
        dir.trim_end_matches(['\\', '/']),
        uuid::Uuid::new_v4().simple()
    );
    let sql = format!(
        "SELECT DATALENGTH(BulkColumn) FROM OPENROWSET(BULK {}, SINGLE_BLOB) AS f",
        tsql::path_literal(&probe)?
    );
    match c.rows(&sql).await {
        Err(e) if e.server.as_ref().is_some_and(|m| m.number == 4860) => Ok(()),
        Err(mut e) => {
            e.message = format!(
                "Nothing was backed up: SQL Server will not let this login read files in {dir}. {}",
                e.message
            );
            Err(e)
        }
        // Someone made a file of that name: it was readable.
        Ok(_) => Ok(()),
    }
}

/// Runs one planned backup to the end: BACKUP, hash on the server, copy, verify.
pub async fn run_one(
    c: &mut SqlConnection,
    p: &PlannedKey,
    secrets: &Secrets,
    copy_to: &std::path::Path,
) -> KeyResult {
    run_one_with(c, p, secrets, copy_to, None).await
}

/// Where the server's folder is visible from this machine (a mounted share), so the file
/// can be read directly instead of over TDS.
#[derive(Debug, Clone)]
pub struct LocalView {
    pub server_dir: String,
    pub local_dir: PathBuf,
}

impl LocalView {
    fn map(&self, server_path: &str) -> Option<PathBuf> {
        let rest = server_path
            .get(..self.server_dir.len())
            .filter(|p| p.eq_ignore_ascii_case(&self.server_dir))
            .map(|_| &server_path[self.server_dir.len()..])?;
        let mut p = self.local_dir.clone();
        for part in rest.split(['\\', '/']).filter(|x| !x.is_empty()) {
            if part == ".." {
                return None;
            }
            p.push(part);
        }
        Some(p)
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadPath {
    /// Read directly from the server's folder (a share mounted here).
    Direct,
    /// Read over TDS with OPENROWSET(BULK).
    Tds,
    /// Exported over TDS (CERTENCODED, CERTPRIVATEKEY): no server file. For a Windows
    /// login, which SQL Server lets read only what its own account may, and BACKUP
    /// CERTIFICATE's files are for the service account alone.
    Export,
}

pub async fn run_one_with(
    c: &mut SqlConnection,
    p: &PlannedKey,
    secrets: &Secrets,
    copy_to: &std::path::Path,
    local: Option<&LocalView>,
) -> KeyResult {
    let started = Utc::now();
    let mut files = Vec::new();
    let r: Result<()> = async {
        let statement = p.statement(secrets)?;
        c.require_private(&format!(
            "the backup password and the key file of the {}",
            p.key.label()
        ))?;
        if let (false, KeyRef::Certificate { database, name }) = (p.exported_files.is_empty(), &p.key) {
            return export_certificate(c, &statement, &p.exported_files, database, name, copy_to, &mut files).await;
        }
        // One round trip: the BACKUP, then for each file the server's SHA-256 of it (and its
        // bytes, unless the folder is visible from here). SQL Server runs the statements in
        // order; when one fails, its error is the one reported (the first), so each still
        // maps to its own explanation.
        let mut reads = Vec::new();
        let mut sql = format!("{}\n;\n", statement.sent());
        for f in &p.server_files {
            let lit = tsql::path_literal(f)?;
            let direct = local.and_then(|l| l.map(f));
            sql.push_str(&if direct.is_some() {
                format!("SELECT HASHBYTES('SHA2_256', BulkColumn) FROM OPENROWSET(BULK {lit}, SINGLE_BLOB) AS backup_file;\n")
            } else {
                format!("SELECT HASHBYTES('SHA2_256', BulkColumn), BulkColumn FROM OPENROWSET(BULK {lit}, SINGLE_BLOB) AS backup_file;\n")
            });
            reads.push((f, direct));
        }
        let sets = c.batch(&sql).await?;
        if sets.len() != reads.len() {
            return Err(KeysafeError::new(
                ErrorCode::VerificationFailed,
                format!(
                    "SQL Server answered {} result set(s) for {} backup file(s).",
                    sets.len(),
                    reads.len()
                ),
            ));
        }
        for ((f, direct), rows) in reads.into_iter().zip(sets) {
            let row = rows.first().ok_or_else(|| {
                KeysafeError::new(
                    ErrorCode::VerificationFailed,
                    format!("SQL Server returned nothing for {f}"),
                )
            })?;
            let mut server_hash = row
                .get::<&[u8], _>(0)
                .map(hex::encode_upper)
                .unwrap_or_default();
            // Directly when the folder is visible from here and the file is there; otherwise
            // the bytes SQL Server sent (asked for again when the mapping found no file).
            let (bytes, read_path) = match direct.and_then(|lp| std::fs::read(lp).ok()) {
                Some(bytes) => (bytes, ReadPath::Direct),
                None => match row.try_get::<&[u8], _>(1) {
                    Ok(Some(b)) => (b.to_vec(), ReadPath::Tds),
                    _ => {
                        let lit = tsql::path_literal(f)?;
                        let rows = c.rows(&format!("SELECT HASHBYTES('SHA2_256', BulkColumn), BulkColumn FROM OPENROWSET(BULK {lit}, SINGLE_BLOB) AS backup_file")).await?;
                        let row = rows.first().ok_or_else(|| KeysafeError::new(ErrorCode::VerificationFailed, format!("SQL Server returned nothing for {f}")))?;
                        server_hash = row.get::<&[u8], _>(0).map(hex::encode_upper).unwrap_or_default();
                        (row.get::<&[u8], _>(1).unwrap_or_default().to_vec(), ReadPath::Tds)
                    }
                },
            };
            if copy::sha256_hex(&bytes) != server_hash {
                return Err(KeysafeError::new(ErrorCode::VerificationFailed, format!("The bytes read ({read_path:?}) do not match the server's hash of {f}."))
                    .next("The file changed between the backup and the copy, or the path mapping is wrong."));
            }
            let name = f.rsplit(['\\', '/']).next().unwrap_or(f);
            keep_verified_copy(&mut files, copy_to, name, &bytes, f.clone(), server_hash, read_path).await?;
        }
        Ok(())
    }
    .await;
    KeyResult {
        key: p.key.clone(),
        outcome: if r.is_ok() {
            Outcome::Verified
        } else {
            Outcome::Failed
        },
        script: p.script.clone(),
        files,
        started,
        finished: Utc::now(),
        error: r.err(),
        restore_check: None,
        thumbprint: None,
        key_guid: None,
        description: None,
    }
}

#[cfg(test)]
mod file_name_tests {
    use super::{key_file_part, KeyRef};

    #[test]
    fn every_key_has_its_own_file_name_within_limits() {
        let cert = |d: &str, n: &str| KeyRef::Certificate {
            database: d.into(),
            name: n.into(),
        };
        let dmk = |d: &str| KeyRef::DatabaseMasterKey { database: d.into() };
        let keys = [
            dmk("a b"),
            dmk("a_b"),
            dmk("a:b"),
            cert("x-y", "z"),
            cert("x", "y-z"),
            cert("Sales", "a b"),
            cert("Sales", "a_b"),
            cert("Sales", &"N".repeat(300)),
            cert("Sales", &format!("{}x", "N".repeat(299))),
        ];
        let parts: Vec<String> = keys.iter().map(key_file_part).collect();
        let unique: std::collections::HashSet<&String> = parts.iter().collect();
        assert_eq!(unique.len(), parts.len(), "{parts:?}");
        for p in &parts {
            // With the instance (64 at most), the stamp (24 + 5) and an extension: under 255.
            assert!(p.len() + 64 + 2 + 29 + 4 <= 255, "{p}");
            assert!(
                p.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)),
                "{p}"
            );
        }
        assert_eq!(
            key_file_part(&dmk("Sales")),
            "DMK-Sales",
            "a plain name stays as it was"
        );
    }
}
