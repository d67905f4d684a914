//! Everything that crosses IPC, in the shapes the UI draws. TypeScript declarations are
//! generated from these (`bindings.rs`); nobody writes them by hand.

use keysafe_core::Password;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A password typed in a dialog. It arrives as a JSON string and is moved straight into a
/// `secrecy` box: `Debug` prints `<redacted>` and it cannot be serialized back out.
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct Secret(pub Password);

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(Password::new(s))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a connection authenticates: the engine's type, as the Connect dialog sends it.
pub use keysafe_core::connection::AuthKind;

/// How much of the session TLS protects: the engine's type, as the Connect dialog sends it.
pub use keysafe_core::connection::Encrypt;

/// The Connect dialog, field for field.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ConnectArgs {
    pub server: String,
    pub authentication: AuthKind,
    pub login: String,
    #[ts(type = "string | null")]
    pub password: Option<Secret>,
    pub remember_password: bool,
    pub encrypt: Encrypt,
    pub trust_server_certificate: bool,
    pub host_name_in_certificate: String,
    /// The server's certificate (or the CA that issued it), PEM or DER, to verify against;
    /// empty for the platform's trust store.
    pub certificate_file: String,
    pub connect_timeout_secs: u32,
    /// Connect through this saved profile (its password from the keyring when none is typed).
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ConnectionInfo {
    pub id: u32,
    /// As typed in the Connect dialog.
    pub server: String,
    /// @@SERVERNAME
    pub server_name: String,
    pub version: String,
    pub edition: String,
    pub platform: String,
    pub login: String,
    pub database: String,
    pub profile: Option<String>,
    pub color: Option<String>,
}

/// A key's identity: the engine's type.
pub use keysafe_core::backup::KeyRef;

/// Each key's state, as the engine judges it.
pub use keysafe_core::status::BackupState;

#[derive(Debug, Clone, Serialize, TS)]
pub struct Property {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct KeyNode {
    pub key: KeyRef,
    pub label: String,
    pub state: BackupState,
    /// The engine's words for it, as `keysafe status` prints them.
    pub state_words: String,
    /// The last verified backup Keysafe made (history), RFC 3339 in UTC.
    pub last_verified: Option<String>,
    /// The server's own record of a backup (a certificate's pvt_key_last_backup_date, in the
    /// server's clock: "YYYY-MM-DD HH:MM"), when Keysafe has none.
    pub server_record: Option<String>,
    pub risk: Option<String>,
    /// Changed after its last verified backup.
    pub changed_since_backup: bool,
    /// What protects it, in a few words (Object Explorer Details' Protection column).
    pub protection: String,
    /// When the key last changed (server clock, "YYYY-MM-DD HH:MM"), where the server says.
    pub modified: Option<String>,
    /// A certificate's expiry date ("YYYY-MM-DD").
    pub expiry: Option<String>,
    /// The engine's verdict: false for a certificate without its private key.
    pub can_back_up: bool,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct DatabaseNode {
    pub name: String,
    /// sys.dm_database_encryption_keys.encryption_state, described.
    pub tde: Option<String>,
    pub master_key: Option<KeyNode>,
    pub certificates: Vec<KeyNode>,
    pub not_visible: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct RiskView {
    pub severity: String,
    pub object: String,
    pub text: String,
}

/// Object Explorer's view of one connection.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ServerTree {
    pub id: u32,
    pub server_name: String,
    pub service_master_key: Option<KeyNode>,
    pub databases: Vec<DatabaseNode>,
    pub risks: Vec<RiskView>,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PasswordCheck {
    /// SQL Server's verdict, predicted: None when it will accept the password.
    pub policy_error: Option<String>,
    pub strength: keysafe_core::password::Strength,
    /// The engine's words for it.
    pub strength_words: String,
    pub entropy_bits: u32,
}

/// A volume of this machine, as the engine lists and judges it.
pub use keysafe_core::volumes::Volume;

/// What to back up, where, for which connections.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct BackupRequest {
    pub connections: Vec<u32>,
    /// Empty: everything on each connection (SMK, every DMK, every certificate with a key).
    pub keys: Vec<KeyRef>,
    /// The medium's folder on this machine.
    pub copy_to: String,
    /// The server-side folder; empty for `<default backup path>\Keysafe`.
    pub server_dir: String,
    pub acl_principals: Vec<String>,
    pub verify_restore: bool,
    pub carrier: String,
    pub storage_location: String,
    pub notes: String,
    /// Split custody: Keysafe generates the password and splits it among custodians (the
    /// password fields are then not used).
    pub split: Option<SplitRequest>,
}

/// "Split among custodians...": any `threshold` of the custodians' shares rebuild the backup
/// password; each custodian's page is written to `shares_to` (never on the medium).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct SplitRequest {
    pub threshold: u8,
    pub custodians: Vec<String>,
    pub shares_to: String,
    /// One split for the run, or one per instance (each its own password and pages).
    #[serde(default)]
    pub scope: keysafe_core::custody::SplitScope,
}

/// The secrets of a backup, kept apart from the request so the request can be logged.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct BackupSecrets {
    #[ts(type = "string")]
    pub password: Secret,
    #[ts(type = "string")]
    pub confirm: Secret,
    /// The passwords the plan said the keys need (`PlannedKey::needs`), each with its key.
    pub key_passwords: Vec<KeyPassword>,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct KeyPassword {
    pub key: NeededPassword,
    #[ts(type = "string")]
    pub password: Secret,
}

/// What a run will do, previewed: the engine's types.
pub use keysafe_core::run::{BackupPlan, FolderPlan, InstancePlan, NeededPassword, PlannedKey};

/// Live progress of a backup run: the engine's, as it is.
pub use keysafe_core::run::Progress;

/// A finished run: the engine's result, and what only the app keeps (where the reports
/// and the custodians' pages are).
#[derive(Debug, Clone, Serialize, TS)]
pub struct RunSummary {
    #[serde(flatten)]
    #[ts(flatten)]
    pub result: keysafe_core::report::RunResult,
    /// The JSON, HTML and CSV reports Keysafe kept (KEYSAFE_HOME/reports).
    pub report_files: Vec<String>,
    /// Split custody: each custodian's page (to print, hand over, then delete). The shares
    /// themselves never cross to the UI.
    pub share_pages: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Html,
    Json,
    Csv,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ResultSetView {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// A script's run: the grids and the Messages tab.
#[derive(Debug, Clone, Serialize, TS)]
pub struct QueryOutcome {
    pub result_sets: Vec<ResultSetView>,
    pub messages: Vec<String>,
    pub errors: u32,
    pub database: String,
    pub cancelled: bool,
    pub elapsed_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ProfileView {
    pub name: String,
    pub server: String,
    pub authentication: AuthKind,
    pub login: String,
    pub encrypt: Encrypt,
    pub trust_server_certificate: bool,
    pub host_name_in_certificate: String,
    /// As ConnectArgs::certificate_file.
    pub certificate_file: String,
    pub connect_timeout_secs: u32,
    pub folder: String,
    pub color: Option<String>,
    pub remember_password: bool,
    /// The Demo profile of `--demo`: not saved, cannot be edited.
    pub demo: bool,
}

/// One backup run or restore of the history: the engine's row, as `keysafe history` prints it.
pub use keysafe_core::history::Row as HistoryRow;

#[derive(Debug, Clone, Serialize, TS)]
pub struct HistoryView {
    pub runs: Vec<HistoryRow>,
    /// The keyed chain holds; false when a record was edited, forged, removed or cut off.
    pub chain_intact: bool,
    /// What is wrong with the history, each naming its line (only vouched records are shown).
    pub problems: Vec<String>,
    /// Keys of the open connections whose last verified backup is missing or stale.
    pub attention: Vec<StaleKey>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct StaleKey {
    pub server: String,
    pub label: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AppInfo {
    pub version: String,
    pub demo: bool,
    pub home: String,
    pub recent_servers: Vec<String>,
    /// The account Windows Authentication logs in as (DOMAIN\user on Windows).
    pub windows_user: String,
    /// What restoring a service master key does and what FORCE loses, in the engine's words.
    pub service_master_key_consequences: String,
}

/// Recovery: what the engine reports, as it is.
pub use keysafe_core::coverage::Coverage;
pub use keysafe_core::evidence::Standard;
pub use keysafe_core::recovery::MediumCheck;
pub use keysafe_core::restore::{RestoreProgress, RestoreResult};
pub use keysafe_core::schedule::ScheduleState;

/// An evidence pack made from the history: where it was written, what it found, and its
/// HTML to show.
#[derive(Debug, Clone, Serialize, TS)]
pub struct EvidenceView {
    pub html: String,
    pub html_path: String,
    pub json_path: String,
    pub keys: u32,
    pub controls_met: u32,
    pub controls_missing: u32,
    pub history_problems: Vec<String>,
}

/// A restore that was proven, and where its report (HTML) was kept.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RestoreDone {
    pub result: RestoreResult,
    /// None when the report could not be written (the log says why).
    pub report: Option<String>,
}

/// The Restore dialog's request (the passwords come apart, in `RestoreSecretsView`).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct RestoreArgs {
    /// The report (keysafe-report-*.json) or the medium folder holding it.
    pub report: String,
    /// Which instance's key, when the report holds several.
    pub from_server: Option<String>,
    pub key: KeyRef,
    /// Where a certificate or database master key goes (empty: the same name).
    pub target_database: String,
    /// The server's folder it reads files from (empty: its backup folder's Keysafe subfolder).
    pub server_dir: String,
    /// That folder as this machine sees it; empty: the administrator copies the file.
    pub server_dir_local: String,
    pub wait_seconds: u32,
    pub force: bool,
    pub add_service_master_key: bool,
    /// A backup file on the target to RESTORE VERIFYONLY afterwards (the rehearsal).
    pub verify_backup: String,
    /// The service master key: the instance's name as typed.
    pub confirmed_instance: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct RestoreSecretsView {
    #[ts(type = "string")]
    pub backup: Secret,
    /// A database master key's new password, or a new master key's for a certificate.
    #[ts(type = "string | null")]
    pub master_key: Option<Secret>,
    /// A backup made with split custody: the custodians' shares as typed, instead of
    /// `backup` (which is then empty).
    #[ts(type = "string[]")]
    pub shares: Vec<Secret>,
}

/// The Key Parity dialog's members: open connections and, or, a saved group.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ParityRequest {
    pub connections: Vec<u32>,
    /// A saved group's name (its profiles connect with their remembered passwords).
    pub group: Option<String>,
    /// How far back kept backups count (their encryption certificates), in days.
    pub retention_days: u32,
}

/// Parity as the engine judged it, and the copies made (empty for a check).
#[derive(Debug, Clone, Serialize, TS)]
pub struct ParityDone {
    pub parity: keysafe_core::parity::Parity,
    pub copies: Vec<keysafe_core::parity::ParityCopy>,
}

/// A saved group of profiles.
pub use keysafe_core::profiles::Group;

/// The Rotate Certificate dialog's plan: the primary (the connection it was opened from)
/// first, then the other members ticked and, or, a saved group's.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct RotateRequest {
    pub connections: Vec<u32>,
    pub group: Option<String>,
    /// The certificate in master that protects the databases' encryption keys now.
    pub certificate: String,
    pub new_name: String,
    pub subject: String,
    /// "YYYY-MM-DD", or empty for SQL Server's default (a year).
    pub expiry: String,
    /// The medium's folder the new certificate's backup is copied to and verified on.
    pub copy_to: String,
    /// Take the log backup SQL Server requires between key changes where one is pending.
    pub take_log_backups: bool,
}

/// The rotation's secrets: the new certificate's backup password (twice), and the password
/// of a master key to create where a member's master has none.
#[derive(Deserialize, TS)]
pub struct RotateSecrets {
    #[ts(type = "string")]
    pub password: Secret,
    #[ts(type = "string")]
    pub confirm: Secret,
    #[ts(type = "string | null")]
    pub new_master_key: Option<Secret>,
}
