//! The command line, as clap reads it: one file per command family, `main.rs` dispatches.

mod backup;
mod drill;
mod group;
mod profile;
mod restore;
mod schedule;

pub(crate) use backup::{BackupArgs, What};
pub(crate) use drill::DrillArgs;
pub(crate) use group::GroupAction;
pub(crate) use profile::ProfileAction;
pub(crate) use restore::{RestoreArgs, RestoreWhat};
pub(crate) use schedule::{Cadence, ScheduleAction, SecretAction};

use clap::{Args, Parser, Subcommand};
use keysafe_core::connection::{ConnectOptions, Encrypt, Trust};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "keysafe",
    version,
    about = "Back up SQL Server's encryption hierarchy: service master key, database master keys, certificates"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// Saved groups of profiles: the servers a database can end up on (an availability
    /// group's replicas, a DR server), used with --group.
    Group {
        #[command(subcommand)]
        action: GroupAction,
    },
    /// Key parity across a group: every certificate a member's TDE databases or kept
    /// encrypted backups need, and whether each member holds it with its private key and
    /// the same thumbprint. With --copy-missing, copies each missing one from a member that
    /// holds it (no share, no file; proven by thumbprint); another certificate under the
    /// same name is never replaced. Exit 1 unless every member holds every one.
    Parity {
        #[command(flatten)]
        conn: ConnArgs,
        /// How far back kept backups count, in days (their encryption certificates).
        #[arg(long, value_name = "DAYS", default_value_t = 35)]
        retention_days: u32,
        /// Copy each missing certificate to the members that lack it, then check again.
        #[arg(long)]
        copy_missing: bool,
        /// With --copy-missing: where a member's master has no master key, create one
        /// protected by the password in this environment variable (then back it up).
        #[arg(long, value_name = "VAR", requires = "copy_missing")]
        create_master_key_password_env: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rotate a TDE certificate safely across the servers its databases can end up on (the
    /// primary first, then every replica or DR server; --group works): the new certificate
    /// is created on the primary, backed up to --copy-to and verified, copied to every other
    /// member and proven by thumbprint, and only then does each database's encryption key
    /// change to it. The old certificate is kept (retiring): backups taken before still need
    /// it. Any member unreachable, or any step failing, stops it before the databases
    /// change. A backup-encryption certificate (one msdb records backups encrypted with) is
    /// rotated the same way without any database change: the last step says what the backup
    /// jobs need. Changes the servers: asks first. Exit 0 only when every step is done.
    RotateCertificate {
        #[command(flatten)]
        conn: ConnArgs,
        /// The certificate in master that protects the databases' encryption keys now.
        #[arg(long)]
        certificate: String,
        /// The new certificate's name.
        #[arg(long)]
        new_name: String,
        /// The new certificate's subject (default: "TDE certificate NEW_NAME", or "Backup
        /// encryption certificate NEW_NAME").
        #[arg(long)]
        subject: Option<String>,
        /// The new certificate's expiry date, YYYY-MM-DD (default: SQL Server's, a year).
        /// An expired TDE certificate keeps working; this only dates it.
        #[arg(long, value_name = "DATE")]
        expiry: Option<chrono::NaiveDate>,
        /// Environment variable that holds the password of the new certificate's backup
        /// (without it: a no-echo prompt, twice).
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// That password kept in this account's OS keyring (keysafe secret set NAME).
        #[arg(long, value_name = "NAME", conflicts_with = "password_env")]
        password_keyring: Option<String>,
        /// The medium's folder the new certificate's backup is copied to and verified on.
        #[arg(long, value_name = "DIR")]
        copy_to: PathBuf,
        /// Where a member's master has no master key to protect the copy, create one with
        /// the password in this environment variable (then back it up).
        #[arg(long, value_name = "VAR")]
        create_master_key_password_env: Option<String>,
        /// Where a database's key changed after its last log backup, take one (BACKUP LOG)
        /// before the change, as SQL Server requires between changes. Without it, such a
        /// database stops the rotation before anything changes.
        #[arg(long)]
        log_backup: bool,
        /// The server folder for that log backup (default: the instance's default backup
        /// folder, where log backups usually go).
        #[arg(long, value_name = "DIR", requires = "log_backup")]
        log_backup_dir: Option<String>,
        /// Confirm without a prompt (scripts).
        #[arg(long)]
        yes: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Drop a retiring certificate from master on each server given, only where nothing needs
    /// it: no database's encryption key, and no kept backup of the last --retention-days (the
    /// backups' own files read for TDE, as coverage does). Otherwise refused, naming what
    /// needs it (exit 1). Changes the servers: asks first.
    DropCertificate {
        #[command(flatten)]
        conn: ConnArgs,
        /// The certificate's name in master.
        #[arg(long)]
        certificate: String,
        /// How long backups are kept, in days.
        #[arg(long, value_name = "DAYS", default_value_t = 35)]
        retention_days: u32,
        /// Confirm without a prompt (scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Unattended runs: add, list, remove a schedule (Task Scheduler, systemd, SQL Agent).
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Secrets for unattended runs, kept in this account's OS keyring.
    Secret {
        #[command(subcommand)]
        action: SecretAction,
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
    /// The recovery drill: on a scratch instance (never the source; its name typed the first
    /// time), restore every key of a report from the medium alone and prove each, read a
    /// sample of the source's kept backups per certificate with RESTORE VERIFYONLY, drop what
    /// it created, and write a drill report with the time to recover. The medium is checked
    /// before any server is reached. Exit 0 only when everything passed.
    Drill(Box<DrillArgs>),
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
    /// The evidence an auditor asks for, per key, mapped to a standard's controls (DISA's
    /// SQL Server STIG, PCI DSS v4.0.1, the CIS SQL Server 2022 Benchmark's 7.1): last verified backup, copies and hashes, off-server
    /// custody, the folder ACL read back, the restore proof, how the password is held, the
    /// key's changes and restores. From the vouched history and its reports only; the pack
    /// records the history's chain head. Exit 1 when a control lacks evidence. With --verify,
    /// checks a pack against the history now: exit 1 if a record it cites changed.
    Evidence {
        /// The standard whose controls the pack maps to.
        #[arg(long, value_enum, required_unless_present = "verify")]
        standard: Option<keysafe_core::evidence::Standard>,
        /// Runs finished on or after this day (YYYY-MM-DD, UTC); default: 365 days ago.
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        /// Where the pack (HTML and JSON) is written (default: the Keysafe home's evidence folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Check this pack (its JSON) against the history instead.
        #[arg(long, value_name = "PACK_JSON", conflicts_with_all = ["standard", "since", "out", "instance", "run"])]
        verify: Option<PathBuf>,
        /// Only this instance's keys (its @@SERVERNAME, as the history names it).
        #[arg(long, value_name = "NAME")]
        instance: Option<String>,
        /// Only this run (its id, or its first characters as `keysafe history` shows them),
        /// whenever it was.
        #[arg(long, value_name = "RUN_ID", conflicts_with = "since")]
        run: Option<String>,
        /// Print the pack's JSON on stdout.
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

#[derive(Args)]
pub(crate) struct ConnArgs {
    /// host, host\instance or host,port. Repeat for a fleet (backup only).
    #[arg(long = "server")]
    pub(crate) servers: Vec<String>,
    /// A saved profile (repeat for a fleet).
    #[arg(long = "profile")]
    pub(crate) profiles: Vec<String>,
    /// A saved group of profiles (keysafe group add): each of its members.
    #[arg(long = "group", value_name = "NAME")]
    pub(crate) groups: Vec<String>,
    /// SQL Server login, or DOMAIN\\user for Windows Authentication as that account
    /// (NTLMv2 with the password given; Windows builds only).
    #[arg(long, conflicts_with = "integrated")]
    pub(crate) login: Option<String>,
    /// Environment variable that holds the login's password.
    #[arg(long, value_name = "VAR")]
    pub(crate) login_password_env: Option<String>,
    /// Windows integrated authentication (Windows only).
    #[arg(long)]
    pub(crate) integrated: bool,
    /// How much of the session TLS protects: mandatory (all of it; the default), optional
    /// (only the login, unless the server encrypts the whole session anyway; in a plaintext
    /// session Keysafe sends no password and reads no key file, and says why), strict (TDS 8.0: TLS before anything else, the
    /// certificate always checked; SQL Server 2022 and later). Overrides a profile's.
    #[arg(long, value_enum)]
    pub(crate) encrypt: Option<Encrypt>,
    /// Do not verify the server certificate.
    #[arg(long, conflicts_with = "ca_file")]
    pub(crate) trust_server_certificate: bool,
    /// Verify the server certificate against this CA (PEM).
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,
    /// The name expected in the server certificate, if not the host name.
    #[arg(long)]
    pub(crate) host_name_in_certificate: Option<String>,
    /// Seconds to wait for a connection, 1 to 600 (default 30). Overrides a profile's.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub(crate) connect_timeout: Option<u64>,
}

impl ConnArgs {
    pub(crate) fn encrypt(&self) -> Encrypt {
        self.encrypt.unwrap_or_default()
    }

    pub(crate) fn connect_timeout(&self) -> u64 {
        self.connect_timeout.unwrap_or(30)
    }

    /// A profile's connection with what the command line says instead, where it says it.
    pub(crate) fn over(&self, mut o: ConnectOptions) -> ConnectOptions {
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

    pub(crate) fn trust(&self) -> Trust {
        match (&self.ca_file, self.trust_server_certificate) {
            (Some(p), _) => Trust::CaFile(p.clone()),
            (None, true) => Trust::ServerCertificate,
            _ => Trust::PlatformStore,
        }
    }
}
