use super::ConnArgs;
use clap::{Args, ValueEnum};
use keysafe_core::run;
use keysafe_core::tsql::CertificateFormat;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum What {
    Smk,
    Dmk,
    Cert,
    All,
    /// Only the keys never backed up, changed since their last verified backup, or at risk
    /// (what `keysafe status` flags); exit 0 when there is nothing to do.
    Changed,
}

#[derive(Args)]
pub(crate) struct BackupArgs {
    #[arg(value_enum)]
    pub(crate) what: What,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
    /// Environment variable that holds the backup password (without it: a no-echo prompt).
    #[arg(long, value_name = "VAR")]
    pub(crate) password_env: Option<String>,
    /// The backup password kept in this account's OS keyring (keysafe secret set NAME): for
    /// scheduled runs.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["password_env", "split"])]
    pub(crate) password_keyring: Option<String>,
    /// Split custody: Keysafe generates the backup password, never writes it anywhere, and
    /// splits it so that any K of the custodians' shares rebuild it (Shamir's secret sharing).
    /// Needs a --custodian for each share and --shares-to.
    #[arg(
        long,
        value_name = "K",
        conflicts_with = "password_env",
        requires = "shares_to"
    )]
    pub(crate) split: Option<u8>,
    /// A custodian of a share (repeat, one per share), as their page names them.
    #[arg(long = "custodian", value_name = "NAME", requires = "split")]
    pub(crate) custodians: Vec<String>,
    /// Where each custodian's page (HTML: the share, its QR code, the acknowledgement to sign)
    /// is written, to print and then delete. Not the medium.
    #[arg(long, value_name = "DIR", requires = "split")]
    pub(crate) shares_to: Option<PathBuf>,
    /// With several instances: a split of its own for each instance (its own password and
    /// pages), so a custodian of one server's share learns nothing about another's.
    #[arg(long, requires = "split")]
    pub(crate) split_per_instance: bool,
    /// Folder on the server (default: <instance default backup path>\Keysafe).
    #[arg(long, value_name = "PATH")]
    pub(crate) server_dir: Option<String>,
    /// Where --server-dir is visible from this machine (a mounted share): the files are
    /// read directly instead of over TDS, and still checked against the server's hash.
    #[arg(long, value_name = "PATH", requires = "server_dir")]
    pub(crate) server_dir_local: Option<PathBuf>,
    /// Also give this principal full control of the server folder (Windows; repeatable):
    /// a SID or DOMAIN\\name, e.g. DOMAIN\\SQLHOST$ when the folder is on a share.
    #[arg(long = "acl-principal", value_name = "PRINCIPAL")]
    pub(crate) acl_principals: Vec<String>,
    /// Folder on the backup medium.
    #[arg(long, value_name = "DIR")]
    pub(crate) copy_to: PathBuf,
    /// Where to write the report (HTML, JSON, CSV). Default: the --copy-to folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) report: Option<PathBuf>,
    /// Print the report JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// With --group: how far back kept backups count for key parity (their encryption
    /// certificates), in days; each member's report lists its parity risks.
    #[arg(long, value_name = "DAYS", default_value_t = 35)]
    pub(crate) retention_days: u32,
    /// Only these databases' master keys (dmk).
    #[arg(long = "database", value_name = "DB")]
    pub(crate) databases: Vec<String>,
    /// Only these certificates, as DB.NAME (cert).
    #[arg(long = "certificate", value_name = "DB.NAME", value_parser = crate::input::db_name)]
    pub(crate) certificates: Vec<(String, String)>,
    /// DB=VAR: the variable holding a database master key's password. Needed for a key
    /// protected by a password only or restored from another server; it also opens the key
    /// for the certificates it protects.
    #[arg(long = "master-key-password-env", value_name = "DB=VAR", value_parser = crate::input::db_var)]
    pub(crate) master_key_password_env: Vec<(String, String)>,
    /// DB.NAME=VAR: the variable holding a password-protected certificate key's password.
    #[arg(long = "certificate-password-env", value_name = "DB.NAME=VAR", value_parser = crate::input::cert_var)]
    pub(crate) certificate_password_env: Vec<((String, String), String)>,
    /// Certificate format (default: pfx on SQL Server 2022, pvk before).
    #[arg(long, value_enum)]
    pub(crate) format: Option<CertificateFormat>,
    /// Who carries the medium off-site (for the report).
    #[arg(long)]
    pub(crate) carrier: Option<String>,
    /// Where the medium is stored (for the report).
    #[arg(long)]
    pub(crate) storage_location: Option<String>,
    /// Also prove each master key and certificate backup restores (in scratch databases).
    #[arg(long)]
    pub(crate) verify_restore: bool,
    /// How many instances at once.
    #[arg(long, default_value_t = run::DEFAULT_CONCURRENCY)]
    pub(crate) concurrency: usize,
    /// Show what would be done (keys, files, the T-SQL with passwords masked, the server
    /// folder and its protection, the passwords needed) and change nothing. No backup
    /// password is asked for.
    #[arg(long)]
    pub(crate) plan: bool,
}
