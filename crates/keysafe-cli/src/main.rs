//! `keysafe`: the engine from a terminal or a scheduled task. No secret is ever accepted on
//! the command line: passwords come from environment variables or a no-echo prompt.

// Every line printed goes through term::safe: server-chosen names cannot drive the terminal
// or forge lines (term.rs). JSON output keeps its own escaping (std::println!).
macro_rules! println {
    ($($t:tt)*) => { std::println!("{}", $crate::term::safe(&format!($($t)*))) };
}
macro_rules! eprintln {
    ($($t:tt)*) => { std::eprintln!("{}", $crate::term::safe(&format!($($t)*))) };
}
macro_rules! eprint {
    ($($t:tt)*) => { std::eprint!("{}", $crate::term::safe(&format!($($t)*))) };
}

mod term;

use clap::{Args, Parser, Subcommand, ValueEnum};
use keysafe_core::connection::{Authentication, ConnectOptions, Encrypt, ServerAddress, Trust};
use keysafe_core::profiles::{OsKeyring, Profile, Profiles};
use keysafe_core::report::Custody;
use keysafe_core::run::{self, Progress, RunSettings, Selection};
use keysafe_core::tsql::CertificateFormat;
use keysafe_core::{history, inventory, ErrorCode, KeysafeError, Password};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "keysafe",
    version,
    about = "Back up SQL Server's encryption hierarchy: service master key, database master keys, certificates"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the encryption hierarchy of an instance and its risks.
    Inventory {
        #[command(flatten)]
        conn: ConnArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Each key's backup state (backed up, never, at risk) from the server and Keysafe's
    /// history, as Object Explorer shows it. Exit 1 when any key needs attention.
    Status {
        #[command(flatten)]
        conn: ConnArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Back up keys, copy them to a medium, verify the copies and write a report.
    Backup(Box<BackupArgs>),
    /// Saved connections (passwords only in the OS keyring).
    Profile {
        #[command(subcommand)]
        action: ProfileAction,
    },
    /// Make a database master key open by itself on this server again (after the database
    /// was restored or attached from another server): OPEN MASTER KEY with its password, then
    /// ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY. Changes the server: asks first.
    RepairMasterKey {
        #[command(flatten)]
        conn: ConnArgs,
        /// The database whose master key gets this server's service master key encryption.
        #[arg(long)]
        database: String,
        /// The environment variable holding the master key's password (else a prompt).
        #[arg(long = "master-key-password-env", value_name = "VAR")]
        master_key_password_env: Option<String>,
        /// Confirm without a prompt (scripts). Without it, Keysafe asks on the terminal.
        #[arg(long)]
        yes: bool,
    },
    /// Copy a certificate with its private key to another instance, without any shared
    /// folder or file: CERTENCODED and CERTPRIVATEKEY (encrypted by a one-time password that
    /// never leaves this process) from the first --server/--profile, CREATE CERTIFICATE ...
    /// FROM BINARY on the second, the thumbprints compared. Exit 1 unless they match.
    CopyCertificate {
        #[command(flatten)]
        conn: ConnArgs,
        /// The certificate's database on the source.
        #[arg(long, required_unless_present = "for_tde_database")]
        database: Option<String>,
        /// The certificate's name.
        #[arg(long, required_unless_present = "for_tde_database")]
        certificate: Option<String>,
        /// Make this TDE database restorable on the target in one step: the certificate that
        /// protects its encryption key goes into the target's master.
        #[arg(long, value_name = "DB", conflicts_with_all = ["database", "certificate", "to_database"])]
        for_tde_database: Option<String>,
        /// With --for-tde-database: RESTORE VERIFYONLY of this backup file (a path on the
        /// target) proves the target can read it. Exit 1 when it fails.
        #[arg(long, value_name = "SERVER_PATH", requires = "for_tde_database")]
        verify_backup: Option<String>,
        /// The database on the target (default: the same name). It needs a master key.
        #[arg(long)]
        to_database: Option<String>,
        /// Where the target database has no master key, create one protected by the password
        /// in this environment variable (then back it up: Keysafe prints the command).
        #[arg(long, value_name = "VAR")]
        create_master_key_password_env: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check the copies on a backup medium against the SHA-256 their report recorded, as a
    /// restore does before it sends anything: exit 1 when a copy differs or is missing.
    CheckMedium {
        /// A keysafe-report-*.json, or the folder on the medium that holds it (the newest).
        report: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Restore a key from a Keysafe medium on this or another instance: the copies are
    /// checked against their report first; a certificate's .cer + .pvk go as FROM BINARY (no
    /// file on the server); a PFX, a database master key or the service master key is put in
    /// a folder the server reads (--server-dir-local) or Keysafe says what to copy where and
    /// waits; the server hashes the file before the RESTORE. Exit 0 only when proven.
    Restore(Box<RestoreArgs>),
    /// Can every kept backup be restored? Every backup in msdb's history within the
    /// retention, the certificate it needs (backup encryption, TDE), and whether that
    /// certificate is on the server and in a verified Keysafe copy (from the history). Exit 1
    /// unless every one is both.
    Coverage {
        #[command(flatten)]
        conn: ConnArgs,
        /// How far back backups are kept, in days.
        #[arg(long, value_name = "DAYS", default_value_t = 35)]
        retention_days: u32,
        /// Also write the coverage report (HTML, JSON, CSV) to this folder.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Keysafe's own checks against a test instance, before you point it at production:
    /// every key kind backed up, copied, verified and restore-proven; a certificate and a
    /// database master key restored into scratch databases; coverage of an encrypted backup
    /// whose certificate was dropped; the least-privileged login; a weak password and a
    /// missing folder refused with their explanations. It creates only objects named
    /// keysafe_conf_<random>_* and drops them (files it backed up stay in the server folder).
    /// A second --server is where copy-certificate copies to. Run it with a sysadmin login on a
    /// test instance. Exit 1 when any check fails.
    Selftest {
        #[command(flatten)]
        conn: ConnArgs,
        /// The server folder the backups go to (default: the instance's backup folder + Keysafe).
        #[arg(long, value_name = "SERVER_PATH")]
        server_dir: Option<String>,
        /// Where this machine sees --server-dir (a share): needed for the database master key
        /// restore, which reads its file there.
        #[arg(long, value_name = "DIR")]
        server_dir_local: Option<PathBuf>,
        /// Where the medium and the reports go (default: a new folder under the Keysafe home's
        /// selftest folder, kept).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        /// Only these checks (repeat); see the list with --list.
        #[arg(long = "check", value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(keysafe_core::selftest::CHECKS.iter().map(|c| c.0)))]
        checks: Vec<String>,
        /// Create master's database master key if a check needs it and there is none (and
        /// drop it afterwards): for throw-away instances only.
        #[arg(long)]
        throwaway_instance: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show or verify the run history.
    History {
        /// Check the keyed chain; exit 1 when a record was edited, forged, removed, moved or
        /// cut from the end.
        #[arg(long)]
        verify: bool,
        /// With --verify: also check that every report this history wrote on the medium
        /// (a folder holding keysafe-report-*.json) finds its record.
        #[arg(long, value_name = "FOLDER", requires = "verify")]
        medium: Option<std::path::PathBuf>,
        /// Print each record as its JSON line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ProfileAction {
    /// Save a connection; with --remember the login's password goes to the OS keyring.
    Add {
        name: String,
        #[command(flatten)]
        conn: Box<ConnArgs>,
        #[arg(long)]
        remember: bool,
        #[arg(long, default_value = "")]
        folder: String,
        /// The environment's colour, #RRGGBB.
        #[arg(long)]
        color: Option<String>,
    },
    List,
    Remove {
        name: String,
    },
    /// Print the profiles as JSON, for import elsewhere (no passwords in it).
    Export,
}

#[derive(Args)]
struct ConnArgs {
    /// host, host\instance or host,port. Repeat for a fleet (backup only).
    #[arg(long = "server")]
    servers: Vec<String>,
    /// A saved profile (repeat for a fleet).
    #[arg(long = "profile")]
    profiles: Vec<String>,
    /// SQL Server login, or DOMAIN\\user for Windows Authentication as that account
    /// (NTLMv2 with the password given; Windows builds only).
    #[arg(long, conflicts_with = "integrated")]
    login: Option<String>,
    /// Environment variable that holds the login's password.
    #[arg(long, value_name = "VAR")]
    login_password_env: Option<String>,
    /// Windows integrated authentication (Windows only).
    #[arg(long)]
    integrated: bool,
    /// How much of the session TLS protects: mandatory (all of it; the default), optional
    /// (only the login, unless the server forces encryption: passwords and key files sent
    /// after it could travel in clear), strict (TDS 8.0: TLS before anything else, the
    /// certificate always checked; SQL Server 2022 and later). Overrides a profile's.
    #[arg(long, value_enum)]
    encrypt: Option<Encrypt>,
    /// Do not verify the server certificate.
    #[arg(long, conflicts_with = "ca_file")]
    trust_server_certificate: bool,
    /// Verify the server certificate against this CA (PEM).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// The name expected in the server certificate, if not the host name.
    #[arg(long)]
    host_name_in_certificate: Option<String>,
    /// Seconds to wait for a connection, 1 to 600 (default 30). Overrides a profile's.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=600))]
    connect_timeout: Option<u64>,
}

impl ConnArgs {
    fn encrypt(&self) -> Encrypt {
        self.encrypt.unwrap_or_default()
    }

    fn connect_timeout(&self) -> u64 {
        self.connect_timeout.unwrap_or(30)
    }

    /// A profile's connection with what the command line says instead, where it says it.
    fn over(&self, mut o: ConnectOptions) -> ConnectOptions {
        if let Some(e) = self.encrypt {
            o.encrypt = e;
        }
        if self.ca_file.is_some() || self.trust_server_certificate {
            o.trust = self.trust();
        }
        if let Some(h) = &self.host_name_in_certificate {
            o.host_name_in_certificate = Some(h.clone());
        }
        if let Some(t) = self.connect_timeout {
            o.connect_timeout = Duration::from_secs(t);
        }
        o
    }

    fn trust(&self) -> Trust {
        match (&self.ca_file, self.trust_server_certificate) {
            (Some(p), _) => Trust::CaFile(p.clone()),
            (None, true) => Trust::ServerCertificate,
            _ => Trust::PlatformStore,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum What {
    Smk,
    Dmk,
    Cert,
    All,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum RestoreWhat {
    Smk,
    Dmk,
    Cert,
}

#[derive(Args)]
struct RestoreArgs {
    #[arg(value_enum)]
    what: RestoreWhat,
    /// A keysafe-report-*.json, or the folder on the medium that holds it (the newest).
    report: PathBuf,
    /// The instance to restore on.
    #[command(flatten)]
    conn: ConnArgs,
    /// The key's database in the report (dmk, cert).
    #[arg(long)]
    database: Option<String>,
    /// The certificate's name (cert).
    #[arg(long)]
    certificate: Option<String>,
    /// Which instance's key, when the report holds several.
    #[arg(long, value_name = "NAME")]
    from_server: Option<String>,
    /// The database on the target (default: the same name).
    #[arg(long)]
    to_database: Option<String>,
    /// The folder on the target server it reads the file from (default: its backup
    /// folder's Keysafe subfolder).
    #[arg(long, value_name = "PATH")]
    server_dir: Option<String>,
    /// Where --server-dir is visible from this machine: Keysafe puts the file there itself
    /// (and removes it after). Without it Keysafe says what to copy where and waits.
    #[arg(long, value_name = "PATH")]
    server_dir_local: Option<PathBuf>,
    /// How long to wait for the file to be copied by hand, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    wait: u64,
    /// Environment variable that holds the backup's password (without it: a no-echo prompt).
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// A backup made with split custody: a variable holding one custodian's share (repeat
    /// for each of the K shares needed).
    #[arg(long = "share-env", value_name = "VAR", conflicts_with_all = ["password_env", "shares"])]
    share_env: Vec<String>,
    /// A backup made with split custody: ask for this many shares, one custodian after the
    /// other, without echo.
    #[arg(long, value_name = "K", conflicts_with = "password_env")]
    shares: Option<u8>,
    /// dmk: the variable holding the password that will protect the restored master key;
    /// cert: the password of a new master key for a target database that has none.
    #[arg(long, value_name = "VAR")]
    master_key_password_env: Option<String>,
    /// dmk: also encrypt the restored key by the target's service master key, so it opens
    /// by itself there (TDE and automatic key opening need it).
    #[arg(long)]
    add_service_master_key: bool,
    /// RESTORE ... FORCE: goes on where data encrypted by the current key cannot be
    /// decrypted, and that data is lost. Only when the current key is already broken.
    #[arg(long)]
    force: bool,
    /// cert: the rehearsal: RESTORE VERIFYONLY of this backup file (a path on the target
    /// server) once the certificate is there. Exit 1 when it fails.
    #[arg(long, value_name = "SERVER_PATH")]
    verify_backup: Option<String>,
    /// Where to write the restore report (HTML, JSON). Default: KEYSAFE_HOME/reports.
    #[arg(long, value_name = "DIR")]
    report_to: Option<PathBuf>,
    /// smk: the target instance's name, typed as confirmation (scripts; else Keysafe asks).
    #[arg(long, value_name = "INSTANCE")]
    confirm: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BackupArgs {
    #[arg(value_enum)]
    what: What,
    #[command(flatten)]
    conn: ConnArgs,
    /// Environment variable that holds the backup password (without it: a no-echo prompt).
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Split custody: Keysafe generates the backup password, never writes it anywhere, and
    /// splits it so that any K of the custodians' shares rebuild it (Shamir's secret sharing).
    /// Needs a --custodian for each share and --shares-to.
    #[arg(
        long,
        value_name = "K",
        conflicts_with = "password_env",
        requires = "shares_to"
    )]
    split: Option<u8>,
    /// A custodian of a share (repeat, one per share), as their page names them.
    #[arg(long = "custodian", value_name = "NAME", requires = "split")]
    custodians: Vec<String>,
    /// Where each custodian's page (HTML: the share, its QR code, the acknowledgement to sign)
    /// is written, to print and then delete. Not the medium.
    #[arg(long, value_name = "DIR", requires = "split")]
    shares_to: Option<PathBuf>,
    /// Folder on the server (default: <instance default backup path>\Keysafe).
    #[arg(long, value_name = "PATH")]
    server_dir: Option<String>,
    /// Where --server-dir is visible from this machine (a mounted share): the files are
    /// read directly instead of over TDS, and still checked against the server's hash.
    #[arg(long, value_name = "PATH", requires = "server_dir")]
    server_dir_local: Option<PathBuf>,
    /// Also give this principal full control of the server folder (Windows; repeatable):
    /// a SID or DOMAIN\\name, e.g. DOMAIN\\SQLHOST$ when the folder is on a share.
    #[arg(long = "acl-principal", value_name = "PRINCIPAL")]
    acl_principals: Vec<String>,
    /// Folder on the backup medium.
    #[arg(long, value_name = "DIR")]
    copy_to: PathBuf,
    /// Where to write the report (HTML, JSON, CSV). Default: the --copy-to folder.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Print the report JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Only these databases' master keys (dmk).
    #[arg(long = "database", value_name = "DB")]
    databases: Vec<String>,
    /// Only these certificates, as DB.NAME (cert).
    #[arg(long = "certificate", value_name = "DB.NAME")]
    certificates: Vec<String>,
    /// DB=VAR: the variable holding a database master key's password. Needed for a key
    /// protected by a password only or restored from another server; it also opens the key
    /// for the certificates it protects.
    #[arg(long = "master-key-password-env", value_name = "DB=VAR")]
    master_key_password_env: Vec<String>,
    /// DB.NAME=VAR: the variable holding a password-protected certificate key's password.
    #[arg(long = "certificate-password-env", value_name = "DB.NAME=VAR")]
    certificate_password_env: Vec<String>,
    /// Certificate format (default: pfx on SQL Server 2022, pvk before).
    #[arg(long, value_enum)]
    format: Option<CertificateFormat>,
    /// Who carries the medium off-site (for the report).
    #[arg(long)]
    carrier: Option<String>,
    /// Where the medium is stored (for the report).
    #[arg(long)]
    storage_location: Option<String>,
    /// Also prove each master key and certificate backup restores (in scratch databases).
    #[arg(long)]
    verify_restore: bool,
    /// How many instances at once.
    #[arg(long, default_value_t = run::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Show what would be done (keys, files, the T-SQL with passwords masked, the server
    /// folder and its protection, the passwords needed) and change nothing. No backup
    /// password is asked for.
    #[arg(long)]
    plan: bool,
}

fn keysafe_home() -> PathBuf {
    keysafe_core::profiles::home()
}

fn usage(msg: impl Into<String>) -> KeysafeError {
    KeysafeError::new(ErrorCode::InvalidInput, msg)
}

fn secret_from_env(var: &str, what: &str) -> Result<Password, KeysafeError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Password::new(v)),
        _ => Err(usage(format!(
            "The environment variable {var} ({what}) is not set or empty."
        ))),
    }
}

fn prompt(what: &str) -> Result<Password, KeysafeError> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(format!(
            "No {what} given: use the --*-env option (no terminal to ask on)."
        )));
    }
    rpassword::prompt_password(format!("{what}: "))
        .map(Password::new)
        .map_err(|e| usage(format!("Cannot read the {what}: {e}")))
}

fn connect_options(c: &ConnArgs) -> Result<Vec<ConnectOptions>, KeysafeError> {
    let mut out = Vec::new();
    if !c.profiles.is_empty() {
        let profiles = Profiles::load(&keysafe_home())?;
        for name in &c.profiles {
            let p = profiles.get(name).ok_or_else(|| {
                usage(format!(
                    "There is no profile named '{name}' (keysafe profile list)."
                ))
            })?;
            let pw = c
                .login_password_env
                .as_deref()
                .map(|v| secret_from_env(v, "the login's password"))
                .transpose()?;
            out.push(c.over(p.connect_options(&OsKeyring, pw)?));
        }
    }
    if c.servers.is_empty() {
        return if out.is_empty() {
            Err(usage("Give --server or --profile."))
        } else {
            Ok(out)
        };
    }
    let auth = if c.integrated {
        Authentication::Windows
    } else {
        let login = c.login.clone().ok_or_else(|| {
            usage("Give --login NAME (with --login-password-env VAR) or --integrated.")
        })?;
        let password = match &c.login_password_env {
            Some(v) => secret_from_env(v, "the login's password")?,
            None => prompt(&format!("Password for {login}"))?,
        };
        Authentication::with_password(&login, password)
    };
    let direct: Vec<ConnectOptions> = c
        .servers
        .iter()
        .map(|s| {
            let server: ServerAddress = s.parse()?;
            Ok(ConnectOptions {
                server,
                authentication: auth.clone(),
                encrypt: c.encrypt(),
                trust: c.trust(),
                host_name_in_certificate: c.host_name_in_certificate.clone(),
                connect_timeout: Duration::from_secs(c.connect_timeout()),
                database: None,
            })
        })
        .collect::<Result<_, KeysafeError>>()?;
    out.extend(direct);
    Ok(out)
}

fn cmd_profile(action: &ProfileAction) -> Result<i32, KeysafeError> {
    let mut profiles = Profiles::load(&keysafe_home())?;
    match action {
        ProfileAction::Add {
            name,
            conn,
            remember,
            folder,
            color,
        } => {
            let server = conn
                .servers
                .first()
                .ok_or_else(|| usage("A profile needs --server."))?;
            server.parse::<ServerAddress>()?;
            let password = match (&conn.login, &conn.login_password_env, remember) {
                (Some(_), Some(v), true) => Some(secret_from_env(v, "the login's password")?),
                (Some(l), None, true) => Some(prompt(&format!("Password for {l}"))?),
                _ => None,
            };
            let p = Profile {
                name: name.clone(),
                server: server.clone(),
                login: if conn.integrated {
                    None
                } else {
                    conn.login.clone()
                },
                encrypt: conn.encrypt(),
                trust: conn.trust(),
                host_name_in_certificate: conn.host_name_in_certificate.clone(),
                connect_timeout_secs: conn.connect_timeout(),
                folder: folder.clone(),
                color: color.clone(),
                remember_password: *remember,
            };
            profiles.upsert(p, password.as_ref(), &OsKeyring)?;
            eprintln!(
                "saved profile {name}{}",
                if *remember {
                    " (password in the OS keyring)"
                } else {
                    ""
                }
            );
        }
        ProfileAction::List => {
            for p in &profiles.list {
                println!(
                    "{}\t{}\t{}\t{}",
                    p.name,
                    p.server,
                    p.login.as_deref().unwrap_or("(Windows)"),
                    p.folder
                );
            }
        }
        ProfileAction::Remove { name } => {
            if !profiles.remove(name, &OsKeyring)? {
                return Err(usage(format!("There is no profile named '{name}'.")));
            }
        }
        ProfileAction::Export => std::println!("{}", profiles.export()),
    }
    Ok(0)
}

fn pairs(list: &[String], what: &str) -> Result<Vec<(String, String)>, KeysafeError> {
    list.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| usage(format!("{what} must look like KEY=VAR, not '{p}'")))
        })
        .collect()
}

fn split_cert(s: &str) -> Result<(String, String), KeysafeError> {
    s.split_once('.')
        .map(|(d, n)| (d.to_string(), n.to_string()))
        .ok_or_else(|| usage(format!("A certificate is DB.NAME, not '{s}'")))
}

async fn cmd_status(conn: &ConnArgs, json: bool) -> Result<i32, KeysafeError> {
    use keysafe_core::status::BackupState;
    let targets = connect_options(conn)?;
    let entries = history::read(&keysafe_home().join("history.jsonl"))?;
    let mut all = Vec::new();
    let mut failed = false;
    for t in &targets {
        let r: Result<_, KeysafeError> = async {
            let mut c = keysafe_core::connection::connect(t).await?;
            let inv = inventory::inventory(&mut c).await?;
            Ok((
                inv.server.server_name.clone(),
                keysafe_core::status::status(&inv, &entries),
            ))
        }
        .await;
        match r {
            Ok(v) => all.push(v),
            Err(e) => {
                failed = true;
                for l in term::error_lines(&format!("[{}] ", t.server), &e) {
                    eprintln!("{l}");
                }
            }
        }
    }
    let attention = all
        .iter()
        .flat_map(|(_, keys)| keys)
        .filter(|k| k.state != BackupState::BackedUp)
        .count();
    if json {
        let v: Vec<_> = all
            .iter()
            .map(|(server, keys)| serde_json::json!({ "server": server, "keys": keys }))
            .collect();
        std::println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        for (server, keys) in &all {
            println!("{server}");
            for k in keys {
                let state = match k.state {
                    BackupState::BackedUp => "backed up",
                    BackupState::Never => "NEVER",
                    BackupState::Risk => "AT RISK",
                };
                println!(
                    "  {state:<10} {:<40} {}{}",
                    k.label,
                    k.last_backup.as_deref().unwrap_or("no verified backup"),
                    k.reason
                        .as_deref()
                        .filter(|_| k.state == BackupState::Risk)
                        .map(|r| format!("\n             {r}"))
                        .unwrap_or_default()
                );
            }
        }
        eprintln!("{attention} key(s) need attention");
    }
    Ok(if failed || attention > 0 { 1 } else { 0 })
}

async fn cmd_repair_master_key(
    conn: &ConnArgs,
    database: &str,
    password_env: Option<&str>,
    yes: bool,
) -> Result<i32, KeysafeError> {
    let targets = connect_options(conn)?;
    if targets.len() != 1 {
        return Err(usage("repair-master-key takes one --server"));
    }
    let server = targets[0].server.to_string();
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "repair-master-key changes the server: confirm with --yes (no terminal to ask on).",
            ));
        }
        eprint!(
            "This adds {server}'s service master key encryption to {database}'s master key \
             (ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY). Type the database name to go on: "
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| usage(format!("Cannot read the answer: {e}")))?;
        if answer.trim() != database {
            eprintln!("Not confirmed: nothing was changed.");
            return Ok(1);
        }
    }
    let key = match password_env {
        Some(v) => secret_from_env(v, "the master key's password")?,
        None => prompt(&format!("{database} master key password"))?,
    };
    let mut c = keysafe_core::connection::connect(&targets[0]).await?;
    let shown =
        keysafe_core::master_key::add_service_master_key_encryption(&mut c, database, &key).await?;
    eprintln!("{shown}");
    eprintln!(
        "[{server}] {database}: the master key now opens with this server's service master key."
    );
    Ok(0)
}

fn cmd_check_medium(report: &std::path::Path, json: bool) -> Result<i32, KeysafeError> {
    use keysafe_core::recovery::{check_medium, CopyState};
    let check = check_medium(report)?;
    if json {
        print_json(&check)?;
    } else {
        println!("{} (run {})", check.report.display(), check.run_id);
        for c in &check.copies {
            let state = match c.state {
                CopyState::Matches => "matches",
                CopyState::Differs => "DIFFERS",
                CopyState::Missing => "MISSING",
                CopyState::Refused => "REFUSED",
            };
            println!(
                "  {state:<8} [{}] {}: {}",
                c.server,
                c.key,
                c.path.display()
            );
            if let Some(why) = &c.refused {
                println!("           not read: {why}");
            }
            if c.state == CopyState::Differs {
                println!(
                    "           SHA-256 {} where the server's was {}",
                    c.actual_sha256, c.expected_sha256
                );
            }
        }
    }
    let bad = check
        .copies
        .iter()
        .filter(|c| c.state != CopyState::Matches)
        .count();
    if check.copies.is_empty() {
        eprintln!("keysafe: the report lists no verified copy to check.");
    } else if bad > 0 {
        eprintln!(
            "keysafe: {bad} of {} copies do not match their report: do not restore from them; use another copy of the medium.",
            check.copies.len()
        );
    } else {
        eprintln!("{} copies match their report.", check.copies.len());
    }
    Ok(if check.all_match() { 0 } else { 1 })
}

async fn cmd_selftest(
    conn: &ConnArgs,
    server_dir: Option<String>,
    server_dir_local: Option<PathBuf>,
    work_dir: Option<PathBuf>,
    checks: &[String],
    throwaway_instance: bool,
    json: bool,
) -> Result<i32, KeysafeError> {
    use keysafe_core::selftest::{self, Status};
    let targets = connect_options(conn)?;
    let (target, second) = match targets.as_slice() {
        [t] => (t, None),
        [t, second] => (t, Some(second.clone())),
        _ => {
            return Err(KeysafeError::new(
                ErrorCode::InvalidInput,
                "The self-test runs against one instance (and a second one for copy-certificate): give one or two --server (or --profile).",
            ))
        }
    };
    let work = match work_dir {
        Some(w) => w,
        None => keysafe_home()
            .join("selftest")
            .join(chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string()),
    };
    let st = selftest::SelfTest {
        target: target.clone(),
        server_dir,
        server_dir_local,
        work: work.clone(),
        may_change_master: throwaway_instance,
        second,
    };
    if !json {
        println!(
            "Keysafe self-test against {} (work folder {})",
            target.server,
            work.display()
        );
    }
    let outcomes = selftest::run(&st, checks, &|o| {
        if !json {
            let mut lines = o.detail.lines();
            println!(
                "{} {}: {}",
                o.status.word(),
                o.check,
                term::safe(lines.next().unwrap_or(""))
            );
            for l in lines {
                println!("    {}", term::safe(l.trim_start()));
            }
        }
    })
    .await;
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    let failed = count(Status::Failed);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcomes).expect("outcomes serialize")
        );
    } else {
        println!(
            "{}: {} passed, {} failed, {} skipped",
            keysafe_core::report::count(outcomes.len() as u64, "check"),
            count(Status::Passed),
            failed,
            count(Status::Skipped)
        );
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

async fn cmd_coverage(
    conn: &ConnArgs,
    retention_days: u32,
    report: Option<&std::path::Path>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let targets = connect_options(conn)?;
    let runs: Vec<_> = history::read(&keysafe_home().join("history.jsonl"))?
        .iter()
        .filter_map(history::Entry::run)
        .collect();
    let mut all = Vec::new();
    let mut failed = false;
    for t in &targets {
        let r = async {
            let mut c = keysafe_core::connection::connect(t).await?;
            keysafe_core::coverage::coverage(&mut c, retention_days, &runs).await
        }
        .await;
        match r {
            Ok(cov) => all.push(cov),
            Err(e) => {
                failed = true;
                for l in term::error_lines(&format!("[{}] ", t.server), &e) {
                    eprintln!("{l}");
                }
            }
        }
    }
    for cov in &all {
        if let Some(dir) = report {
            let files = cov.write_files(dir)?;
            eprintln!("[{}] report: {}", cov.server, files.html.display());
        }
        if !json {
            println!(
                "{}: {} backup(s) in the last {} day(s) need {} certificate(s)",
                cov.server,
                cov.backups.len(),
                cov.retention_days,
                cov.certificates.len()
            );
            println!("  {}", cov.summary.text);
            for l in cov.lines() {
                println!("  {l}");
            }
            for b in cov.backups.iter().filter(|b| b.unknown.is_some()) {
                println!(
                    "  UNKNOWN: {} backup of {} at {}: {}",
                    b.finished,
                    b.database,
                    b.device,
                    b.unknown.clone().unwrap_or_default()
                );
            }
        }
    }
    if json {
        print_json(&all)?;
    }
    let uncovered = all.iter().filter(|c| !c.all_covered()).count();
    if uncovered > 0 {
        eprintln!("keysafe: {uncovered} instance(s) keep backups that are not covered");
    }
    Ok(if failed || uncovered > 0 { 1 } else { 0 })
}

async fn cmd_restore(a: &RestoreArgs) -> Result<i32, KeysafeError> {
    use keysafe_core::backup::KeyRef;
    use keysafe_core::restore::{self, Placement, RestoreProgress, RestoreRequest};
    let targets = connect_options(&a.conn)?;
    let [target] = targets.as_slice() else {
        return Err(usage(
            "restore takes one instance to restore on (--server or --profile)",
        ));
    };
    let need = |v: &Option<String>, flag: &str| {
        v.clone().ok_or_else(|| {
            usage(format!(
                "restore {} needs {flag}",
                match a.what {
                    RestoreWhat::Smk => "smk",
                    RestoreWhat::Dmk => "dmk",
                    RestoreWhat::Cert => "cert",
                }
            ))
        })
    };
    let key = match a.what {
        RestoreWhat::Smk => KeyRef::ServiceMasterKey,
        RestoreWhat::Dmk => KeyRef::DatabaseMasterKey {
            database: need(&a.database, "--database")?,
        },
        RestoreWhat::Cert => KeyRef::Certificate {
            database: need(&a.database, "--database")?,
            name: need(&a.certificate, "--certificate")?,
        },
    };
    let mut req = RestoreRequest {
        report: a.report.clone(),
        from_server: a.from_server.clone(),
        key: key.clone(),
        target_database: a.to_database.clone(),
        server_dir: a.server_dir.clone(),
        placement: match &a.server_dir_local {
            Some(p) => Placement::Local(p.clone()),
            None => Placement::Manual {
                wait: std::time::Duration::from_secs(a.wait),
            },
        },
        force: a.force,
        add_service_master_key: a.add_service_master_key,
        verify_backup: a.verify_backup.clone(),
        confirmed_instance: None,
    };
    // The medium first, before any password is asked for or any server reached: a copy that
    // is not what was backed up stops everything here.
    let prepared = restore::prepare(&req)?;
    req.report = prepared.report.clone();
    let backup_pw = if !a.share_env.is_empty() {
        let shares = a
            .share_env
            .iter()
            .map(|v| secret_from_env(v, "a custodian's share"))
            .collect::<Result<Vec<_>, _>>()?;
        keysafe_core::custody::combine(&shares)?
    } else if let Some(n) = a.shares {
        let mut shares = Vec::new();
        for i in 1..=n {
            let s = prompt(&format!("share {i} of {n} (its custodian types it)"))?;
            eprintln!("  {}", keysafe_core::custody::describe(&s)?);
            shares.push(s);
        }
        keysafe_core::custody::combine(&shares)?
    } else {
        match &a.password_env {
            Some(v) => secret_from_env(v, "the backup's password")?,
            None => prompt("backup password")?,
        }
    };
    let master_key = a
        .master_key_password_env
        .as_deref()
        .map(|v| secret_from_env(v, "the master key's password"))
        .transpose()?;
    let mut c = keysafe_core::connection::connect(target).await?;
    if key == KeyRef::ServiceMasterKey {
        let name = c
            .rows("SELECT CAST(@@SERVERNAME AS nvarchar(128))")
            .await?
            .first()
            .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            .unwrap_or_default();
        eprintln!("{}", restore::SERVICE_MASTER_KEY_CONSEQUENCES);
        if a.force {
            eprintln!(
                "FORCE is on: what the current key protects and cannot be decrypted will be lost."
            );
        }
        let typed = match &a.confirm {
            Some(t) => t.clone(),
            None if std::io::stdin().is_terminal() => {
                eprint!("Type the instance's name ({name}) to restore its service master key: ");
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .map_err(|e| usage(format!("Cannot read the answer: {e}")))?;
                answer.trim().to_string()
            }
            None => {
                return Err(usage(format!(
                    "Restoring a service master key needs the instance's name typed as confirmation: --confirm {name} (no terminal to ask on)."
                )))
            }
        };
        req.confirmed_instance = Some(typed);
    }
    let secrets = restore::RestoreSecrets {
        backup: &backup_pw,
        master_key: master_key.as_ref(),
    };
    let server = target.server.to_string();
    let mut show = |p: RestoreProgress| {
        match p {
        RestoreProgress::MediumChecked { copies } => {
            eprintln!("[{server}] {copies} file(s) of the key match the report")
        }
        RestoreProgress::CopyNeeded {
            medium_path,
            server_path,
            waiting_seconds,
        } => eprintln!(
            "[{server}] Copy {medium_path}\n    to {server_path} on the server (its service account must be able to read it).\n    Waiting up to {waiting_seconds} s for the server to read the same bytes..."
        ),
        RestoreProgress::Placed { server_path } => {
            eprintln!("[{server}] the server reads {server_path} with the medium's SHA-256")
        }
        RestoreProgress::Restoring { statement } => eprintln!("[{server}] {statement}"),
    }
    };
    let outcome = restore::restore_prepared(&mut c, &req, prepared, &secrets, &mut show).await;
    let report_dir = a
        .report_to
        .clone()
        .unwrap_or_else(|| keysafe_home().join("reports"));
    match restore::record(
        &outcome,
        &req,
        &server,
        &keysafe_home().join("history.jsonl"),
        &report_dir,
    ) {
        Ok(files) => eprintln!("[{server}] restore report: {}", files.html.display()),
        Err(e) => {
            for l in term::error_lines("keysafe: the restore report could not be written: ", &e) {
                eprintln!("{l}");
            }
        }
    }
    let r = outcome?;
    if a.json {
        print_json(&r)?;
    } else {
        println!(
            "[{}] {} restored from {}'s backup{}.",
            r.target_server,
            r.key,
            r.from_server,
            r.target_database
                .as_ref()
                .map(|d| format!(" into {d}"))
                .unwrap_or_default()
        );
        println!("  Proof: {}", r.proof);
        if let Some(v) = &r.backup_verified {
            println!("  Rehearsal: {v}");
        }
        if r.opens_by_itself == Some(false) {
            println!("  The restored master key opens only with its password on {}: add --add-service-master-key (or keysafe repair-master-key) where it must open by itself (TDE).", r.target_server);
        }
    }
    if r.created_master_key {
        back_it_up_now(r.target_database.as_deref().unwrap_or_default(), &server);
    }
    Ok(0)
}

/// copy-certificate's two instances, connected (the source, then the target), and the
/// password of a master key to create on the target where it has none.
async fn source_and_target(
    conn: &ConnArgs,
    new_master_key_env: Option<&str>,
) -> Result<
    (
        [keysafe_core::connection::ConnectOptions; 2],
        [keysafe_core::connection::SqlConnection; 2],
        Option<Password>,
    ),
    KeysafeError,
> {
    let targets = connect_options(conn)?;
    let [from, to] = targets.as_slice() else {
        return Err(usage(
            "copy-certificate takes two instances: the source, then the target (--server or --profile twice)",
        ));
    };
    let new_master_key = new_master_key_env
        .map(|v| secret_from_env(v, "the new master key's password"))
        .transpose()?;
    let a = keysafe_core::connection::connect(from).await?;
    let b = keysafe_core::connection::connect(to).await?;
    Ok(([from.clone(), to.clone()], [a, b], new_master_key))
}

/// A master key Keysafe created protects what it put there: say to back it up, now.
fn back_it_up_now(database: &str, server: &impl std::fmt::Display) {
    eprintln!(
        "keysafe: {database} on {server} had no master key: one was created. Back it up now: keysafe backup dmk --database {database} --server {server} ..."
    );
}

fn print_json(v: &impl serde::Serialize) -> Result<(), KeysafeError> {
    std::println!(
        "{}",
        serde_json::to_string_pretty(v)
            .map_err(|e| KeysafeError::new(ErrorCode::Internal, e.to_string()))?
    );
    Ok(())
}

async fn cmd_make_tde_restorable(
    conn: &ConnArgs,
    database: &str,
    verify_backup: Option<&str>,
    new_master_key_env: Option<&str>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let ([from, to], [mut a, mut b], new_master_key) =
        source_and_target(conn, new_master_key_env).await?;
    let done = keysafe_core::recovery::make_tde_database_restorable(
        &mut a,
        &mut b,
        database,
        new_master_key.as_ref(),
        verify_backup,
    )
    .await?;
    if done.copy.created_master_key {
        back_it_up_now("master", &to.server);
    }
    if json {
        print_json(&done)?;
    } else {
        println!(
            "[{}] {database}'s TDE certificate master.{} (thumbprint {}) is {} [{}]: backups of {database} can be restored there.",
            from.server,
            done.copy.certificate,
            done.copy.thumbprint,
            if done.copy.already_present { "already on" } else { "now on" },
            to.server
        );
        if let Some(v) = &done.backup_verified {
            println!("  Rehearsal: {v}");
        }
    }
    Ok(if done.copy.verified() { 0 } else { 1 })
}

async fn cmd_copy_certificate(
    conn: &ConnArgs,
    database: &str,
    certificate: &str,
    to_database: &str,
    new_master_key_env: Option<&str>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let ([from, to], [mut a, mut b], new_master_key) =
        source_and_target(conn, new_master_key_env).await?;
    let copy = keysafe_core::recovery::copy_certificate(
        &mut a,
        &mut b,
        database,
        certificate,
        to_database,
        new_master_key.as_ref(),
    )
    .await?;
    if copy.created_master_key {
        // The new key protects the copied private key: without its backup the copy is one
        // server failure away from lost.
        back_it_up_now(to_database, &to.server);
    }
    if json {
        print_json(&copy)?;
    } else if copy.already_present {
        println!(
            "[{}] {to_database}.{certificate} is already there with the same thumbprint {}: nothing to copy.",
            to.server, copy.thumbprint
        );
    } else {
        println!(
            "[{}] {database}.{certificate} -> [{}] {to_database}.{certificate}: copied with its private key (protected there by {}), thumbprint {} on both.",
            from.server,
            to.server,
            if copy.target_protection == "MK" { "the database master key" } else { &copy.target_protection },
            copy.thumbprint
        );
    }
    Ok(if copy.verified() { 0 } else { 1 })
}

async fn cmd_inventory(conn: &ConnArgs, json: bool) -> Result<i32, KeysafeError> {
    let targets = connect_options(conn)?;
    if targets.len() != 1 {
        return Err(usage("inventory takes one --server"));
    }
    let mut c = keysafe_core::connection::connect(&targets[0]).await?;
    let inv = inventory::inventory(&mut c).await?;
    if json {
        std::println!("{}", serde_json::to_string_pretty(&inv).expect("json"));
        return Ok(0);
    }
    let f = &inv.server;
    println!(
        "{} — SQL Server {} {} on {} (login {})",
        f.server_name, f.product_version, f.edition, f.host_platform, f.login
    );
    println!(
        "  service account: {}",
        f.service_account
            .as_deref()
            .unwrap_or("(needs VIEW SERVER STATE)")
    );
    println!(
        "  default backup folder: {} [{}]",
        f.default_backup_path.as_deref().unwrap_or("unknown"),
        f.backup_path_source
    );
    match &inv.service_master_key {
        Some(k) => println!(
            "Service Master Key: {} {} bits, modified {}",
            k.algorithm,
            k.key_length,
            k.modified.map(|d| d.to_string()).unwrap_or_default()
        ),
        None => println!("Service Master Key: not visible"),
    }
    for d in &inv.databases {
        let mk = match &d.master_key {
            Some(k) => format!("master key ({:?})", k.protection),
            None => "no master key".into(),
        };
        let tde = d
            .tde
            .map(|s| format!(", TDE state {s}"))
            .unwrap_or_default();
        println!(
            "{}: {mk}{tde}{}",
            d.name,
            if d.not_visible {
                " (not visible to this login)"
            } else {
                ""
            }
        );
        for c in &d.certificates {
            println!(
                "  certificate {} [{}] expires {}, last backup {}{}",
                c.name,
                c.private_key,
                c.expiry.map(|d| d.date().to_string()).unwrap_or_default(),
                c.last_backup
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "never".into()),
                if c.used_by_tde.is_empty() {
                    String::new()
                } else {
                    format!(", protects TDE for {}", c.used_by_tde.join(", "))
                }
            );
        }
        for k in &d.symmetric_keys {
            let by: Vec<String> = k
                .encryptions
                .iter()
                .map(|e| {
                    let cert = d
                        .certificates
                        .iter()
                        .find(|c| Some(c.thumbprint.as_str()) == e.thumbprint.as_deref())
                        .map(|c| c.name.as_str());
                    e.by.describe_with(cert)
                })
                .collect();
            println!(
                "  symmetric key {} ({}) encrypted {}",
                k.name,
                k.algorithm,
                by.join(", ")
            );
        }
    }
    for r in &inv.risks {
        println!("{:?}: {}: {}", r.severity, r.object, r.text);
    }
    Ok(0)
}

/// Split custody: a new password, split among the custodians, each page written before
/// anything is backed up (a backup whose shares could not be written would be unrecoverable).
fn split_password(
    a: &BackupArgs,
    k: u8,
    request: &mut run::RunRequest,
) -> Result<Password, KeysafeError> {
    let dir = a.shares_to.as_ref().expect("clap requires --shares-to");
    let inside = |outer: &std::path::Path| {
        let canon =
            |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        canon(dir).starts_with(canon(outer))
    };
    if inside(&a.copy_to) || a.report.as_deref().is_some_and(inside) {
        return Err(usage(
            "--shares-to is on the medium: the shares must not travel with the backup they open. Write them somewhere else, print them, then delete them.",
        ));
    }
    let (password, split) = keysafe_core::custody::generate_and_split(k, &a.custodians)?;
    let what = match a.what {
        What::Smk => "the service master key".to_string(),
        What::Dmk if a.databases.is_empty() => "every database master key".into(),
        What::Dmk => format!("the master keys of {}", a.databases.join(", ")),
        What::Cert => format!("certificates {}", a.certificates.join(", ")),
        What::All => "every key of the hierarchy".into(),
    };
    let protects: Vec<String> = request
        .targets
        .iter()
        .map(|t| format!("{}: {what}, backed up to {}", t.server, a.copy_to.display()))
        .collect();
    let pages = keysafe_core::custody::write_pages(&split, &protects, dir)?;
    eprintln!(
        "split {}: any {} of {} shares rebuild the backup password; print each page for its custodian, then delete it:",
        split.id,
        split.threshold,
        split.shares.len()
    );
    for p in &pages {
        eprintln!("  {}", p.display());
    }
    request.custody.password_split = Some(split.custody());
    Ok(password)
}

async fn cmd_backup(a: &BackupArgs) -> Result<i32, KeysafeError> {
    let targets = connect_options(&a.conn)?;
    let selection = match a.what {
        What::Smk => Selection::ServiceMasterKey,
        What::Dmk => Selection::DatabaseMasterKeys(a.databases.clone()),
        What::Cert => Selection::Certificates(
            a.certificates
                .iter()
                .map(|c| split_cert(c))
                .collect::<Result<_, _>>()?,
        ),
        What::All => Selection::All,
    };
    let settings = RunSettings {
        selection,
        backup: keysafe_core::backup::BackupOptions {
            server_dir: a.server_dir.clone(),
            copy_to: a.copy_to.clone(),
            format: a.format,
        },
        verify_restore: a.verify_restore,
        server_dir_local: a.server_dir_local.clone(),
        acl_principals: a.acl_principals.clone(),
    };
    let request = run::RunRequest {
        targets,
        settings,
        concurrency: a.concurrency,
        custody: Custody {
            carrier: a.carrier.clone(),
            storage_location: a.storage_location.clone(),
            notes: None,
            password_split: None,
        },
        report_dir: a.report.clone().unwrap_or_else(|| a.copy_to.clone()),
        history: keysafe_home().join("history.jsonl"),
    };
    if a.plan {
        return print_plan(&run::plan(&request).await, a.json);
    }
    let mut request = request;
    let password = match (&a.password_env, a.split) {
        (_, Some(k)) => split_password(a, k, &mut request)?,
        (Some(v), None) => secret_from_env(v, "the backup password")?,
        (None, None) => {
            let p = prompt("Backup password")?;
            let again = prompt("Confirm backup password")?;
            if !keysafe_core::password::confirmed(&p, &again) {
                return Err(usage("The passwords do not match."));
            }
            p
        }
    };
    run::check_backup_password(&password)?;
    let mut secrets = keysafe_core::backup::Secrets::new(password);
    for (db, var) in pairs(&a.master_key_password_env, "--master-key-password-env")? {
        secrets.master_key_passwords.insert(
            db.clone(),
            secret_from_env(&var, &format!("{db}'s master key password"))?,
        );
    }
    for (c, var) in pairs(&a.certificate_password_env, "--certificate-password-env")? {
        let key = split_cert(&c)?;
        secrets.certificate_passwords.insert(
            key,
            secret_from_env(&var, &format!("certificate {c}'s key password"))?,
        );
    }
    for w in run::prepare_medium(&a.copy_to)? {
        eprintln!("warning: {w}");
    }
    // On a terminal, one line that redraws itself: [done/planned] last event. Otherwise one
    // line per event, for logs of scheduled tasks.
    // On a terminal, a progress bar whose length grows as instances are planned, and the last
    // event beside it; failures are printed above it so they stay. Otherwise one line per
    // event, for the logs of scheduled tasks.
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("[{bar:24}] {pos}/{len} key(s) {wide_msg}")
                .expect("a valid template")
                .progress_chars("#>."),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let progress = |p: Progress| {
        let (line, failed) = match p {
            Progress::Connecting { server } => (format!("[{server}] connecting"), false),
            Progress::Planned { server, keys } => {
                bar.inc_length(keys as u64);
                (format!("[{server}] {keys} key(s) to back up"), false)
            }
            Progress::FolderReady { server, folder, .. } => {
                (format!("[{server}] server folder {folder}"), false)
            }
            Progress::KeyStarted { server, key } => {
                (format!("[{server}] {key}: backing up"), false)
            }
            Progress::KeyDone {
                server,
                key,
                verified,
            } => {
                bar.inc(1);
                (
                    format!(
                        "[{server}] {key}: {}",
                        if verified {
                            "backed up, copied, verified"
                        } else {
                            "FAILED"
                        }
                    ),
                    !verified,
                )
            }
            // The summary names the report when the run ends.
            Progress::ReportWritten { .. } => return,
            Progress::InstanceDone { server, verified } => (
                format!(
                    "[{server}] {}",
                    if verified {
                        "done"
                    } else {
                        "not everything was verified"
                    }
                ),
                !verified,
            ),
        };
        if !tty {
            eprintln!("{line}");
        } else if failed {
            bar.println(line);
        } else {
            bar.set_message(line);
        }
    };
    let record = run::execute(&request, &secrets, &progress).await;
    bar.finish_and_clear();
    let run::RunRecord {
        report,
        files: written,
    } = record?;
    if a.json {
        std::println!("{}", report.to_json());
    }
    eprintln!(
        "{} of {} key(s) verified on {} instance(s); report: {}",
        report.summary.keys_verified,
        report.summary.keys_requested,
        report.summary.instances,
        written.html.display()
    );
    for i in &report.instances {
        if let Some(e) = &i.error {
            for l in term::error_lines(&format!("[{}] ", i.server), e) {
                eprintln!("{l}");
            }
        }
        if i.folder_protection_failed {
            eprintln!(
                "[{}] FAILED: the server folder's protection did not read back as applied: {}",
                i.server, i.folder_protection
            );
        }
        for k in &i.keys {
            if let Some(e) = &k.error {
                for l in term::error_lines(&format!("[{}] {}: ", i.server, k.key.label()), e) {
                    eprintln!("{l}");
                }
            }
        }
    }
    Ok(if report.succeeded() { 0 } else { 1 })
}

/// `keysafe backup --plan`: the engine's preview, as the Back Up dialog shows it. Exit 1 when
/// something in it would fail.
fn print_plan(plan: &run::BackupPlan, json: bool) -> Result<i32, KeysafeError> {
    let blocked = plan
        .instances
        .iter()
        .any(|i| i.problem.is_some() || i.keys.iter().any(|k| k.problem.is_some()));
    if json {
        std::println!(
            "{}",
            serde_json::to_string_pretty(plan)
                .map_err(|e| KeysafeError::new(ErrorCode::Internal, e.to_string()))?
        );
        return Ok(i32::from(blocked));
    }
    for i in &plan.instances {
        let name = i.server_name.as_deref().unwrap_or(&i.server);
        println!("[{name}] ({})", i.server);
        if let Some(e) = &i.problem {
            for l in term::error_lines("  CANNOT BACK UP: ", e) {
                println!("  {}", l.trim_start());
            }
            continue;
        }
        if let Some(f) = &i.server_folder {
            println!("  Server folder: {f}");
        }
        for line in i.folder.iter().flat_map(|f| f.describe()) {
            println!("    {line}");
        }
        if let Some(m) = &i.medium_folder {
            println!("  Copies to: {m}");
        }
        for k in &i.keys {
            println!("  {}", k.label);
            for n in &k.needs {
                let flag = match n {
                    run::NeededPassword::MasterKey { database } => {
                        format!("--master-key-password-env {database}=VAR")
                    }
                    run::NeededPassword::CertificateKey { database, name } => {
                        format!("--certificate-password-env {database}.{name}=VAR")
                    }
                };
                println!("    needs a password: {flag}");
            }
            if let Some(e) = &k.problem {
                for l in term::error_lines("CANNOT BACK UP: ", e) {
                    println!("    {l}");
                }
            }
            for f in k.server_files.iter().chain(&k.exported_files) {
                println!("    file: {f}");
            }
            for line in k.script.lines() {
                println!("    | {line}");
            }
        }
    }
    Ok(i32::from(blocked))
}

fn cmd_history(
    verify: bool,
    medium: Option<&std::path::Path>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let path = keysafe_home().join("history.jsonl");
    let h = history::History::open(&path)?;
    let loaded = h.load()?;
    if verify {
        let mut problems = loaded.audit.problems.clone();
        if let Some(m) = medium {
            problems.extend(history::check_medium(&loaded, &h.name(), m)?);
        }
        if json {
            std::println!(
                "{}",
                serde_json::json!({
                    "records": loaded.audit.records,
                    "vouched": loaded.audit.vouched,
                    "key_place": loaded.audit.key_place,
                    "problems": problems,
                })
            );
        } else if problems.is_empty() {
            println!(
                "history intact: {} record(s){}",
                loaded.audit.records,
                if loaded.audit.key_place == history::KeyPlace::LocalFile {
                    " (keyed with history.key: no OS keyring answered)"
                } else {
                    ""
                }
            );
        } else {
            println!(
                "history altered: {} of {} record(s) vouched for",
                loaded.audit.vouched, loaded.audit.records
            );
            for p in &problems {
                println!("  {}", p.explain());
            }
        }
        return Ok(i32::from(!problems.is_empty()));
    }
    for p in &loaded.audit.problems {
        eprintln!("warning: history: {}", p.explain());
    }
    let entries = loaded.vouched();
    if json {
        for e in &entries {
            std::println!("{}", serde_json::to_string(&e.record).expect("json"));
        }
        return Ok(0);
    }
    for e in &entries {
        if e.record["action"] == "restore" {
            let r = &e.record["restore"];
            let at = e.record["at"].as_str().unwrap_or("");
            println!(
                "{}  {:<7} restore of the {} on {}  {}",
                at.get(..16).unwrap_or(at).replace('T', " ") + " UTC",
                if e.record["succeeded"] == true {
                    "ok"
                } else {
                    "FAILED"
                },
                r["key"].as_str().unwrap_or("?"),
                r["target_server"].as_str().unwrap_or("?"),
                e.record["operator"].as_str().unwrap_or(""),
            );
            continue;
        }
        let Some(r) = e.run() else { continue };
        let mut servers: Vec<&str> = r.keys.iter().map(|k| k.server.as_str()).collect();
        servers.dedup();
        println!(
            "{}  {:<7} {}/{} key(s) verified  {:<12} {}\n    {}",
            r.finished.format("%Y-%m-%d %H:%M UTC"),
            if r.succeeded { "ok" } else { "FAILED" },
            r.summary.keys_verified,
            r.summary.keys_requested,
            r.operator,
            servers.join(", "),
            r.report.with_extension("html").display()
        );
    }
    Ok(0)
}

fn init_logging() {
    keysafe_core::logging::init(&keysafe_home().join("logs"), "keysafe");
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    let r = match &cli.command {
        Command::Inventory { conn, json } => cmd_inventory(conn, *json).await,
        Command::Status { conn, json } => cmd_status(conn, *json).await,
        Command::Backup(a) => cmd_backup(a).await,
        Command::Profile { action } => cmd_profile(action),
        Command::History {
            verify,
            medium,
            json,
        } => cmd_history(*verify, medium.as_deref(), *json),
        Command::RepairMasterKey {
            conn,
            database,
            master_key_password_env,
            yes,
        } => cmd_repair_master_key(conn, database, master_key_password_env.as_deref(), *yes).await,
        Command::CheckMedium { report, json } => cmd_check_medium(report, *json),
        Command::Restore(a) => cmd_restore(a).await,
        Command::Coverage {
            conn,
            retention_days,
            report,
            json,
        } => cmd_coverage(conn, *retention_days, report.as_deref(), *json).await,
        Command::Selftest {
            conn,
            server_dir,
            server_dir_local,
            work_dir,
            checks,
            throwaway_instance,
            json,
        } => {
            cmd_selftest(
                conn,
                server_dir.clone(),
                server_dir_local.clone(),
                work_dir.clone(),
                checks,
                *throwaway_instance,
                *json,
            )
            .await
        }
        Command::CopyCertificate {
            conn,
            database,
            certificate,
            for_tde_database,
            verify_backup,
            to_database,
            create_master_key_password_env,
            json,
        } => match (for_tde_database, database, certificate) {
            (Some(db), _, _) => {
                cmd_make_tde_restorable(
                    conn,
                    db,
                    verify_backup.as_deref(),
                    create_master_key_password_env.as_deref(),
                    *json,
                )
                .await
            }
            (None, Some(database), Some(certificate)) => {
                cmd_copy_certificate(
                    conn,
                    database,
                    certificate,
                    to_database.as_deref().unwrap_or(database),
                    create_master_key_password_env.as_deref(),
                    *json,
                )
                .await
            }
            _ => Err(usage(
                "copy-certificate needs --database and --certificate, or --for-tde-database",
            )),
        },
    };
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            for l in term::error_lines("keysafe: ", &e) {
                eprintln!("{l}");
            }
            std::process::exit(if e.code == ErrorCode::InvalidInput {
                2
            } else {
                1
            });
        }
    }
}
