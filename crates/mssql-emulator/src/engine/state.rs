//! What an instance remembers across restarts: keys, databases, logins, certificates.
//! Persisted as `<data dir>/state.json`, rewritten atomically after every change.

use super::crypto::{serde_hex, Sealed};
use crate::value::ci_eq;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use std::path::Path;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceMasterKey {
    /// Emulates the DPAPI-protected copy: held in the clear in the data dir.
    #[serde(with = "serde_hex")]
    pub key: Vec<u8>,
    pub guid: Uuid,
    pub create_date: NaiveDateTime,
    pub modify_date: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum PrincipalKind {
    SqlLogin,
    WindowsLogin,
    ServerRole,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub name: String,
    pub principal_id: i32,
    #[serde(with = "serde_hex")]
    pub sid: Vec<u8>,
    pub kind: PrincipalKind,
    #[serde(default, with = "serde_hex")]
    pub password_salt: Vec<u8>,
    #[serde(default, with = "serde_hex")]
    pub password_hash: Vec<u8>,
    pub disabled: bool,
    /// Server roles this principal is a member of.
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    pub denies: Vec<String>,
    pub create_date: NaiveDateTime,
    pub modify_date: NaiveDateTime,
    pub default_database: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseUser {
    pub name: String,
    pub login: Option<String>,
    pub principal_id: i32,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    pub denies: Vec<String>,
    pub create_date: NaiveDateTime,
    /// GRANT / DENY ... ON CERTIFICATE:: | SYMMETRIC KEY:: | OBJECT:: to this user.
    #[serde(default)]
    pub object_permissions: Vec<ObjectPermission>,
}

/// One permission on one securable of the database (sys.database_permissions' row).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectPermission {
    /// CERTIFICATE, SYMMETRIC KEY or OBJECT.
    pub class: String,
    /// The securable's name (an object as schema.name).
    pub name: String,
    /// Upper case: CONTROL, VIEW DEFINITION, SELECT...
    pub permission: String,
    pub deny: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseMasterKey {
    pub guid: Uuid,
    pub create_date: NaiveDateTime,
    pub modify_date: NaiveDateTime,
    /// The copy encrypted by the service master key (auto-open).
    pub by_smk: Option<Sealed>,
    /// One copy per password that protects the key.
    pub by_passwords: Vec<Sealed>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum KeyProtection {
    /// MK: by the database master key.
    MasterKey,
    /// PW: by a password.
    Password,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrivateKey {
    pub protection: KeyProtection,
    pub sealed: Sealed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Certificate {
    pub name: String,
    pub certificate_id: i32,
    pub principal_id: i32,
    #[serde(with = "serde_hex")]
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    #[serde(with = "serde_hex")]
    pub thumbprint: Vec<u8>,
    pub start_date: NaiveDateTime,
    pub expiry_date: NaiveDateTime,
    pub private_key: Option<PrivateKey>,
    pub pvt_key_last_backup_date: Option<NaiveDateTime>,
    pub key_length: i32,
}

/// An availability group as its primary keeps it: created here, so this instance is its
/// primary replica (`assumptions::AVAILABILITY_GROUPS_NEED_VIEW_ANY_DEFINITION`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AvailabilityGroup {
    pub group_id: Uuid,
    pub name: String,
    pub contained: bool,
    /// Each database of the group and its group_database_id.
    pub databases: Vec<(String, Uuid)>,
    pub replicas: Vec<AgReplica>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgReplica {
    pub replica_id: Uuid,
    pub server: String,
    pub endpoint_url: String,
    pub availability_mode: String,
    pub failover_mode: String,
}

/// One row of msdb.dbo.backupset, with its backupmediafamily device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackupSetRow {
    pub backup_set_id: i64,
    pub media_set_id: i64,
    pub name: Option<String>,
    pub database_name: String,
    /// D (database), I (differential), L (log).
    pub kind: String,
    pub is_copy_only: bool,
    pub backup_start_date: NaiveDateTime,
    pub backup_finish_date: NaiveDateTime,
    pub backup_size: i64,
    pub user_name: String,
    pub key_algorithm: Option<String>,
    #[serde(default, with = "serde_hex_opt")]
    pub encryptor_thumbprint: Option<Vec<u8>>,
    pub encryptor_type: Option<String>,
    pub physical_device_name: String,
    /// The backup set's position in its media file (1 for the first; BACKUP appends).
    #[serde(default = "first_position")]
    pub position: i32,
    /// backup_set_uuid (HEADERONLY's BackupSetGUID).
    #[serde(default = "Uuid::new_v4")]
    pub backup_set_uuid: Uuid,
    /// backupmediaset.media_uuid: one per media set, shared by the sets appended to it.
    #[serde(default = "Uuid::new_v4")]
    pub media_uuid: Uuid,
    #[serde(default)]
    pub database_creation_date: Option<NaiveDateTime>,
    #[serde(default)]
    pub compressed: bool,
    #[serde(default)]
    pub compatibility_level: Option<i64>,
    #[serde(default)]
    pub recovery_model: Option<String>,
    /// The contained availability group's msdb that records it (`<group>_msdb`), for a
    /// backup taken in that group's environment; None: the instance's msdb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msdb: Option<String>,
}

fn first_position() -> i32 {
    1
}

mod serde_hex_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&hex::encode_upper(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|h| hex::decode(h).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseEncryptionKey {
    pub algorithm: String,
    pub key_length: i32,
    #[serde(with = "serde_hex")]
    pub encryptor_thumbprint: Vec<u8>,
    pub encryption_state: i32,
    pub create_date: NaiveDateTime,
    pub regenerate_date: NaiveDateTime,
    pub modify_date: NaiveDateTime,
    pub set_date: NaiveDateTime,
    pub opened_date: NaiveDateTime,
    /// The certificates (thumbprints, hex) that encrypted the active log's VLFs since the
    /// last log backup: the one before a protector change stays until a log backup takes
    /// its VLFs (`assumptions::LOG_KEEPS_OLD_ENCRYPTOR`).
    #[serde(default)]
    pub log_encryptors: Vec<String>,
    /// ALTER DATABASE ENCRYPTION KEY statements since the last log backup
    /// (`assumptions::DEK_CHANGES_NEED_LOG_BACKUP`).
    #[serde(default)]
    pub changes_since_log_backup: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    pub database_id: i32,
    pub create_date: NaiveDateTime,
    pub owner: String,
    pub users: Vec<DatabaseUser>,
    pub master_key: Option<DatabaseMasterKey>,
    pub certificates: Vec<Certificate>,
    pub encryption_key: Option<DatabaseEncryptionKey>,
    pub is_encrypted: bool,
    pub next_id: i32,
    /// CREATE SYMMETRIC KEY's keys (not the master key).
    #[serde(default)]
    pub symmetric_keys: Vec<SymmetricKey>,
}

/// A symmetric key of CREATE SYMMETRIC KEY and the encryptions that protect it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SymmetricKey {
    pub name: String,
    pub symmetric_key_id: i32,
    pub algorithm: String,
    pub key_length: i32,
    pub guid: Uuid,
    pub create_date: NaiveDateTime,
    pub encryptions: Vec<SymmetricKeyEncryption>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SymmetricKeyEncryption {
    /// The certificate's thumbprint; None for a password.
    #[serde(default, with = "crate::engine::crypto::opt_hex_bytes")]
    pub thumbprint: Option<Vec<u8>>,
    /// sys.key_encryptions' crypt_type as SQL Server recorded it when the key was encrypted
    /// (C256 from compatibility level 170, EPUC before it; ESP2 for a password).
    pub crypt_type: String,
    pub crypt_type_desc: String,
    pub sealed: Sealed,
}

impl Database {
    pub fn is_system(&self) -> bool {
        self.database_id <= 4
    }
    /// sys.databases.recovery_model_desc: tempdb is SIMPLE, every other database FULL
    /// (the emulator does not model ALTER DATABASE ... SET RECOVERY).
    pub fn recovery_model(&self) -> &'static str {
        if self.database_id == 2 {
            "SIMPLE"
        } else {
            "FULL"
        }
    }
    pub fn certificate(&self, name: &str) -> Option<&Certificate> {
        self.certificates.iter().find(|c| ci_eq(&c.name, name))
    }
    pub fn user_for_login(&self, login: &str) -> Option<&DatabaseUser> {
        self.users
            .iter()
            .find(|u| u.login.as_deref().is_some_and(|l| ci_eq(l, login)))
    }
    pub fn user(&self, name: &str) -> Option<&DatabaseUser> {
        self.users.iter().find(|u| ci_eq(&u.name, name))
    }
    pub fn take_id(&mut self) -> i32 {
        self.next_id += 1;
        self.next_id
    }
}

/// A Windows account of the emulated domain (or of the machine): what a domain controller
/// keeps to check an NTLM response. Windows logins name these accounts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowsAccount {
    /// DOMAIN\user, as written in the scenario.
    pub name: String,
    #[serde(with = "serde_hex")]
    pub nt_hash: Vec<u8>,
    /// Its groups' SIDs on the SQL Server host (file access checks); its own SID is derived
    /// from its name (acl::domain_account_sid).
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceState {
    pub service_master_key: Option<ServiceMasterKey>,
    pub logins: Vec<Login>,
    #[serde(default)]
    pub windows_accounts: Vec<WindowsAccount>,
    pub databases: Vec<Database>,
    pub next_principal_id: i32,
    pub next_database_id: i32,
    /// msdb's backup history (backupset joined with backupmediafamily), oldest first.
    #[serde(default)]
    pub backup_history: Vec<BackupSetRow>,
    /// Availability groups this instance hosts a replica of (CREATE AVAILABILITY GROUP).
    #[serde(default)]
    pub availability_groups: Vec<AvailabilityGroup>,
    /// Counts file writes, for fault injection that survives nothing (not persisted).
    #[serde(skip)]
    pub file_writes: u64,
}

impl InstanceState {
    /// The contained availability group `database` belongs to (its own master and msdb
    /// count), if any.
    pub fn contained_group_of(&self, database: &str) -> Option<String> {
        self.availability_groups
            .iter()
            .filter(|g| g.contained)
            .find(|g| {
                g.databases
                    .iter()
                    .any(|(d, _)| d.eq_ignore_ascii_case(database))
                    || [format!("{}_master", g.name), format!("{}_msdb", g.name)]
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(database))
            })
            .map(|g| g.name.clone())
    }

    /// Where TDE looks for a certificate: master, then each contained availability group's
    /// master (assumptions::CONTAINED_AG_SYSTEM_DATABASES).
    pub fn tde_masters(&self) -> Vec<&Database> {
        let mut out: Vec<&Database> = self.database("master").into_iter().collect();
        if assumptions_contained() {
            for g in self.availability_groups.iter().filter(|g| g.contained) {
                if let Some(d) = self.database(&format!("{}_master", g.name)) {
                    out.push(d);
                }
            }
        }
        out
    }

    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|d| ci_eq(&d.name, name))
    }
    pub fn database_mut(&mut self, name: &str) -> Option<&mut Database> {
        self.databases.iter_mut().find(|d| ci_eq(&d.name, name))
    }
    pub fn database_by_id(&self, id: i32) -> Option<&Database> {
        self.databases.iter().find(|d| d.database_id == id)
    }
    pub fn login(&self, name: &str) -> Option<&Login> {
        self.logins.iter().find(|l| ci_eq(&l.name, name))
    }
    /// The domain account DOMAIN\user (case-insensitive, as Windows compares names).
    pub fn windows_account(&self, domain: &str, user: &str) -> Option<&WindowsAccount> {
        self.windows_accounts.iter().find(|a| {
            a.name
                .split_once('\\')
                .is_some_and(|(d, u)| ci_eq(d, domain) && ci_eq(u, user))
        })
    }
    pub fn login_mut(&mut self, name: &str) -> Option<&mut Login> {
        self.logins.iter_mut().find(|l| ci_eq(&l.name, name))
    }

    pub fn load(path: &Path) -> std::io::Result<Option<Self>> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes to a temporary file, fsyncs it, and renames it over the old state.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

fn assumptions_contained() -> bool {
    crate::engine::assumptions::CONTAINED_AG_SYSTEM_DATABASES
}
