use super::ConnArgs;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum RestoreWhat {
    Smk,
    Dmk,
    Cert,
}

#[derive(Args)]
pub(crate) struct RestoreArgs {
    #[arg(value_enum)]
    pub(crate) what: RestoreWhat,
    /// A keysafe-report-*.json, or the folder on the medium that holds it (the newest).
    pub(crate) report: PathBuf,
    /// The instance to restore on.
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
    /// The key's database in the report (dmk, cert).
    #[arg(long)]
    pub(crate) database: Option<String>,
    /// The certificate's name (cert).
    #[arg(long)]
    pub(crate) certificate: Option<String>,
    /// Which instance's key, when the report holds several.
    #[arg(long, value_name = "NAME")]
    pub(crate) from_server: Option<String>,
    /// The database on the target (default: the same name).
    #[arg(long)]
    pub(crate) to_database: Option<String>,
    /// The folder on the target server it reads the file from (default: its backup
    /// folder's Keysafe subfolder).
    #[arg(long, value_name = "PATH")]
    pub(crate) server_dir: Option<String>,
    /// Where --server-dir is visible from this machine: Keysafe puts the file there itself
    /// (and removes it after). Without it Keysafe says what to copy where and waits.
    #[arg(long, value_name = "PATH")]
    pub(crate) server_dir_local: Option<PathBuf>,
    /// How long to wait for the file to be copied by hand, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub(crate) wait: u64,
    /// Environment variable that holds the backup's password (without it: a no-echo prompt).
    #[arg(long, value_name = "VAR")]
    pub(crate) password_env: Option<String>,
    /// A backup made with split custody: a variable holding one custodian's share (repeat
    /// for each of the K shares needed).
    #[arg(long = "share-env", value_name = "VAR", conflicts_with_all = ["password_env", "shares"])]
    pub(crate) share_env: Vec<String>,
    /// A backup made with split custody: ask for this many shares, one custodian after the
    /// other, without echo.
    #[arg(long, value_name = "K", conflicts_with = "password_env")]
    pub(crate) shares: Option<u8>,
    /// dmk: the variable holding the password that will protect the restored master key;
    /// cert: the password of a new master key for a target database that has none.
    #[arg(long, value_name = "VAR")]
    pub(crate) master_key_password_env: Option<String>,
    /// dmk: also encrypt the restored key by the target's service master key, so it opens
    /// by itself there (TDE and automatic key opening need it).
    #[arg(long)]
    pub(crate) add_service_master_key: bool,
    /// RESTORE ... FORCE: goes on where data encrypted by the current key cannot be
    /// decrypted, and that data is lost. Only when the current key is already broken.
    #[arg(long)]
    pub(crate) force: bool,
    /// cert: the rehearsal: RESTORE VERIFYONLY of this backup file (a path on the target
    /// server) once the certificate is there. Exit 1 when it fails.
    #[arg(long, value_name = "SERVER_PATH")]
    pub(crate) verify_backup: Option<String>,
    /// Where to write the restore report (HTML, JSON). Default: KEYSAFE_HOME/reports.
    #[arg(long, value_name = "DIR")]
    pub(crate) report_to: Option<PathBuf>,
    /// smk: the target instance's name, typed as confirmation (scripts; else Keysafe asks).
    #[arg(long, value_name = "INSTANCE")]
    pub(crate) confirm: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}
