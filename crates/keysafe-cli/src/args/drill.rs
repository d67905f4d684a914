use super::ConnArgs;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct DrillArgs {
    /// A keysafe-report-*.json, or the folder on the medium that holds it (the newest).
    pub(crate) report: PathBuf,
    /// The scratch instance (first --server or --profile), and optionally the source (the
    /// second): it is only read, for the kept backups in its msdb.
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
    /// Which instance's keys, when the report holds several.
    #[arg(long, value_name = "NAME")]
    pub(crate) from_server: Option<String>,
    /// The scratch instance's name, typed as confirmation the first time (scripts; else
    /// Keysafe asks). Remembered after: scheduled drills need no confirmation.
    #[arg(long, value_name = "INSTANCE")]
    pub(crate) scratch: Option<String>,
    /// The folder on the scratch server it reads the master keys' files from.
    #[arg(long, value_name = "PATH")]
    pub(crate) server_dir: Option<String>,
    /// Where --server-dir is visible from this machine (the service and database master keys
    /// need it: a drill copies nothing by hand).
    #[arg(long, value_name = "PATH")]
    pub(crate) server_dir_local: Option<PathBuf>,
    /// SOURCE_FOLDER=AS_SCRATCH_SEES_IT: where the scratch instance reads the source's kept
    /// backups (repeat). Without it, the paths in the source's msdb.
    #[arg(long, value_name = "FROM=TO")]
    pub(crate) backups_seen_as: Vec<String>,
    /// How many kept backups per certificate are read (the newest first).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) sample: usize,
    /// How far back the source's backups are kept, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 35)]
    pub(crate) retention_days: u32,
    /// Environment variable that holds the backup's password (without it: a no-echo prompt).
    #[arg(long, value_name = "VAR")]
    pub(crate) password_env: Option<String>,
    /// The backup's password kept in this account's OS keyring (keysafe secret set NAME).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["password_env", "share_env"])]
    pub(crate) password_keyring: Option<String>,
    /// A backup made with split custody: a variable holding one custodian's share (repeat).
    #[arg(
        long = "share-env",
        value_name = "VAR",
        conflicts_with = "password_env"
    )]
    pub(crate) share_env: Vec<String>,
    /// Where to write the drill report (HTML, JSON). Default: KEYSAFE_HOME/drills.
    #[arg(long, value_name = "DIR")]
    pub(crate) report_to: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}
