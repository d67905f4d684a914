//! Scenarios: the instance to emulate, in TOML. See `scenarios/*.toml` for examples and
//! `docs/SCENARIOS.md` for every field.

use super::fs::Platform;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub server: ServerSpec,
    #[serde(default)]
    pub logins: Vec<LoginSpec>,
    #[serde(default)]
    pub databases: Vec<DatabaseSpec>,
    /// Drive letters that exist on a Windows host (default: C).
    #[serde(default)]
    pub drives: Vec<String>,
    /// UNC shares the service account can reach, e.g. `\\fileserver\keys`.
    #[serde(default)]
    pub shares: Vec<String>,
    /// Folders that already exist on the host, e.g. the docs' `c:\temp_backups\keys`.
    #[serde(default)]
    pub folders: Vec<String>,
    /// Windows: security descriptors set on folders, as SDDL (owner and DACL, allow ACEs).
    #[serde(default)]
    pub acls: Vec<AclSpec>,
    /// Database backups already taken (msdb's history and their files), oldest first.
    #[serde(default)]
    pub backups: Vec<BackupSpec>,
}

/// A backup the instance took before the scenario starts: BACKUP DATABASE as it would run,
/// then dated `days_ago`. With `drop_certificate_after`, its encryption certificate is
/// dropped afterwards (rotated away), as happens to retained backups in real life.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    pub database: String,
    /// The server path of the backup file.
    pub file: String,
    #[serde(default)]
    pub days_ago: u32,
    /// full (default), differential, log
    pub kind: Option<String>,
    /// WITH ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = this), a certificate in master.
    pub encryption_certificate: Option<String>,
    #[serde(default)]
    pub drop_certificate_after: bool,
}

/// A folder's permissions: SDDL, or accounts by name (DOMAIN\user, NT SERVICE\name,
/// BUILTIN\Administrators, ...) with full control or read access, inherited by everything
/// below.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclSpec {
    pub path: String,
    /// e.g. `D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;S-1-5-21-...)`
    pub sddl: Option<String>,
    /// Inheritance from the parent folder off (default).
    #[serde(default = "yes")]
    pub protected: bool,
    #[serde(default)]
    pub full: Vec<String>,
    #[serde(default)]
    pub read: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSpec {
    /// The host's NetBIOS name (SERVERPROPERTY('MachineName')).
    pub machine_name: String,
    /// Named instance, or none for the default instance (MSSQLSERVER).
    pub instance: Option<String>,
    /// 2016, 2017, 2019, 2022 or 2025.
    pub version: u16,
    pub edition: String,
    pub platform: Platform,
    /// The host OS as sys.dm_os_host_info shows it.
    pub host_distribution: Option<String>,
    pub service_account: Option<String>,
    pub default_backup_path: Option<String>,
    pub default_data_path: Option<String>,
    pub sa_password: Option<String>,
    /// The Windows domain the host belongs to (the NTLM target), WORKGROUP when alone.
    pub domain: String,
    /// The cumulative update installed (SERVERPROPERTY('ProductUpdateLevel') = CUn); default:
    /// the version's CU in server_info.rs.
    pub cumulative_update: Option<u16>,
    /// Linux: mssql-conf's bulkadmin.allowedpathslist, the folders where a login that is not
    /// sysadmin may read files with OPENROWSET(BULK) (2022 CU24 and later).
    pub bulk_allowed_paths: Vec<String>,
    /// Windows: Kerberos delegation is set up, so a Windows login's access to a UNC path
    /// reaches the file server as that login (else the "double hop" fails).
    pub kerberos_delegation: bool,
    /// SQL Server Configuration Manager's "Force Strict Encryption" (2022 and later): only
    /// TDS 8.0 clients connect (the same as `--tls strict`).
    pub force_strict_encryption: bool,
    /// The host's time zone as a UTC offset, "+05:30" or "-05:00" (a Windows host's; SQL
    /// Server on Linux takes TZ first, which the emulator reads when this is absent).
    pub time_zone: Option<String>,
}

impl Default for ServerSpec {
    fn default() -> Self {
        ServerSpec {
            machine_name: "SQLPROD01".into(),
            instance: None,
            version: 2022,
            edition: "Developer Edition (64-bit)".into(),
            platform: Platform::Windows,
            host_distribution: None,
            service_account: None,
            default_backup_path: None,
            default_data_path: None,
            sa_password: None,
            domain: "WORKGROUP".into(),
            cumulative_update: None,
            bulk_allowed_paths: Vec::new(),
            kerberos_delegation: false,
            force_strict_encryption: false,
            time_zone: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LoginSpec {
    pub name: String,
    /// SQL authentication password; for a Windows login (DOMAIN\\user), the password of
    /// its account in the emulated domain, which NTLM logins are checked against.
    pub password: Option<String>,
    #[serde(default)]
    pub windows: bool,
    /// A Windows login's groups on the SQL Server host, e.g. `BUILTIN\Administrators` (a
    /// local administrator), or SIDs. Everyone, Authenticated Users and Users always.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub grant: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
    pub default_database: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MasterKeyProtection {
    /// Encrypted by the service master key (and a password): opens automatically.
    ServiceMasterKey,
    /// Encrypted by a password only: must be opened with OPEN MASTER KEY.
    PasswordOnly,
    /// Restored or attached from another server: encrypted by a password and by that
    /// server's service master key, which is not this one's. sys.databases still says
    /// "encrypted by server"; the key opens only with OPEN MASTER KEY until ALTER MASTER KEY
    /// ADD ENCRYPTION BY SERVICE MASTER KEY re-encrypts it with this server's.
    Migrated,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterKeySpec {
    pub protection: MasterKeyProtection,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub name: String,
    pub login: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub grant: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    pub name: String,
    pub subject: Option<String>,
    /// YYYY-MM-DD; default today.
    pub start_date: Option<String>,
    /// YYYY-MM-DD; default a year after the start.
    pub expiry_date: Option<String>,
    /// Protect the private key with this password instead of the database master key.
    pub password: Option<String>,
    /// When the private key was last exported (YYYY-MM-DD), if ever.
    pub last_backup: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    pub name: String,
    pub owner: Option<String>,
    pub master_key: Option<MasterKeySpec>,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub certificates: Vec<CertificateSpec>,
    /// Turn on TDE with a database encryption key protected by this certificate in master.
    pub tde_certificate: Option<String>,
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.server.version, 2016 | 2017 | 2019 | 2022 | 2025) {
            return Err(format!(
                "server.version must be 2016, 2017, 2019, 2022 or 2025, not {}",
                self.server.version
            ));
        }
        if let Some(tz) = &self.server.time_zone {
            parse_utc_offset(tz).ok_or_else(|| {
                format!("server.time_zone must be a UTC offset such as \"+05:30\", not {tz:?}")
            })?;
        }
        if self.server.force_strict_encryption && self.server.version < 2022 {
            return Err("force_strict_encryption needs SQL Server 2022 or later (TDS 8.0)".into());
        }
        if self.server.platform == Platform::Linux && self.server.version == 2016 {
            return Err("SQL Server 2016 does not run on Linux".into());
        }
        if let Some(i) = &self.server.instance {
            if i.is_empty()
                || i.len() > 16
                || !i
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            {
                return Err(format!(
                    "instance name {i:?} is not valid (1-16 letters, digits, _ or $)"
                ));
            }
        }
        for d in &self.databases {
            if let Some(t) = &d.tde_certificate {
                let master = self
                    .databases
                    .iter()
                    .find(|m| m.name.eq_ignore_ascii_case("master"));
                let found = master.is_some_and(|m| {
                    m.certificates
                        .iter()
                        .any(|c| c.name.eq_ignore_ascii_case(t) && c.password.is_none())
                });
                if !found {
                    return Err(format!("database {}: tde_certificate {t} must be a certificate in master protected by its master key", d.name));
                }
            }
        }
        Ok(())
    }

    /// SQL Server 2022 on Windows, default instance, an SMK, `sa`.
    pub fn default_instance() -> Self {
        Scenario::default()
    }

    pub fn major_version(&self) -> u8 {
        match self.server.version {
            2016 => 13,
            2017 => 14,
            2019 => 15,
            2022 => 16,
            _ => 17,
        }
    }
}

/// "+05:30", "-05:00", "+00:00" (or "Z") as an offset from UTC, within a day.
pub fn parse_utc_offset(s: &str) -> Option<chrono::FixedOffset> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return chrono::FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}
