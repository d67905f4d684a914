//! Preflight (what the instance is, what the login may do) and the inventory of the
//! encryption hierarchy, with the risks an administrator should see first.

use crate::connection::SqlConnection;
use crate::error::Result;
use crate::tsql;
use chrono::NaiveDateTime;
use serde::Serialize;
use tiberius::Row;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Permission {
    pub name: &'static str,
    pub granted: bool,
    /// Why Keysafe needs it.
    pub needed_for: &'static str,
    /// The statement that grants it.
    pub grant: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerFacts {
    pub server_name: String,
    pub machine_name: String,
    pub instance_name: Option<String>,
    pub product_version: String,
    pub major_version: i32,
    pub edition: String,
    pub host_platform: String,
    pub login: String,
    pub service_account: Option<String>,
    pub default_backup_path: Option<String>,
    /// Where the default backup path came from.
    pub backup_path_source: &'static str,
    pub path_separator: String,
    pub permissions: Vec<Permission>,
    /// SERVERPROPERTY('ProductUpdateLevel'): CUn, or none.
    pub update_level: Option<String>,
    /// A Windows login (DOMAIN\user): SQL Server reads files as that account.
    pub windows_login: bool,
    /// The login's SID (SUSER_SID()), as S-1-...; a Windows account's own SID.
    pub login_sid: Option<String>,
    pub is_sysadmin: bool,
    /// The server's offset from UTC in minutes, now: its catalog and msdb keep local time,
    /// which Keysafe turns into UTC before comparing with anything else.
    pub utc_offset_minutes: Option<i32>,
    /// Whether SQL Server will let this login read back what it writes, as far as can be told
    /// before anything is written.
    pub read_back: ReadBackForecast,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadBackVerdict {
    /// Nothing known stands in the way.
    Possible,
    /// Depends on something only the server's host shows; Keysafe probes the folder before
    /// the first backup.
    Conditional,
    /// SQL Server will refuse: nothing is written.
    Impossible,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReadBackForecast {
    pub verdict: ReadBackVerdict,
    pub reason: String,
    /// What an administrator does about it.
    pub fix: Option<String>,
}

/// SQL Server on Linux lets only sysadmin use OPENROWSET(BULK) before 2022 CU24 and 2025
/// CU3 (sql-server-linux-bulk-operations.md).
pub fn linux_bulk_needs_sysadmin(major: i32, update_level: Option<&str>) -> bool {
    let cu = update_level
        .and_then(|l| l.strip_prefix("CU"))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    match major {
        ..=15 => true,
        16 => cu < 24,
        17 => cu < 3,
        _ => false,
    }
}

/// What stands between this login and reading back the files the server writes (with
/// OPENROWSET(BULK), which hashes every file on the server).
pub fn forecast_read_back(f: &ServerFacts) -> ReadBackForecast {
    let v = |verdict, reason: String, fix: Option<String>| ReadBackForecast {
        verdict,
        reason,
        fix,
    };
    if !f.has("ADMINISTER BULK OPERATIONS") {
        return v(
            ReadBackVerdict::Impossible,
            format!("{} lacks ADMINISTER BULK OPERATIONS, so SQL Server will not let it read the backup files back.", f.login),
            Some(format!("GRANT ADMINISTER BULK OPERATIONS TO {};", tsql::ident(&f.login).unwrap_or_else(|_| "[login]".into()))),
        );
    }
    if f.is_windows() && f.windows_login {
        return v(
            ReadBackVerdict::Conditional,
            format!(
                "SQL Server reads the backup files as {} (Windows Authentication), not as its service account: the server folder must let that account read. Keysafe's folder ACL grants it read access where Keysafe applies it.",
                f.login
            ),
            Some(format!(
                "Let {} read the server folder (Keysafe's ACL does; or icacls \"<server folder>\" /grant \"{}:(OI)(CI)R\"), or connect with a SQL Server login.",
                f.login, f.login
            )),
        );
    }
    if f.is_windows() || f.is_sysadmin {
        return v(
            ReadBackVerdict::Possible,
            "Nothing known stands in the way.".into(),
            None,
        );
    }
    if linux_bulk_needs_sysadmin(f.major_version, f.update_level.as_deref()) {
        return v(
            ReadBackVerdict::Impossible,
            format!(
                "SQL Server on Linux lets only sysadmin read files with OPENROWSET(BULK) before SQL Server 2022 CU24 (2025 CU3); this is {} {} and {} is not sysadmin.",
                f.product_version,
                f.update_level.as_deref().unwrap_or("(no CU)"),
                f.login
            ),
            Some("Connect with a sysadmin login, or update to SQL Server 2022 CU24 (2025 CU3) or later and list the server folder in mssql-conf's bulkadmin.allowedpathslist.".into()),
        );
    }
    v(
        ReadBackVerdict::Conditional,
        format!("SQL Server on Linux lets {} (not sysadmin) read files only in folders listed in mssql-conf's bulkadmin.allowedpathslist, which only the host shows: Keysafe probes the server folder before the first backup.", f.login),
        Some("On the server: sudo /opt/mssql/bin/mssql-conf set bulkadmin.allowedpathslist \"<server folder>\"".into()),
    )
}

impl ServerFacts {
    /// A date the server keeps in its local time (the catalog's create and modify dates,
    /// pvt_key_last_backup_date), in UTC. Unchanged when the offset is unknown.
    pub fn local_to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        local - chrono::Duration::minutes(self.utc_offset_minutes.unwrap_or(0) as i64)
    }

    pub fn has(&self, perm: &str) -> bool {
        self.permissions.iter().any(|p| p.name == perm && p.granted)
    }
    /// PFX export exists from SQL Server 2022 (16.x).
    pub fn supports_pfx(&self) -> bool {
        self.major_version >= 16
    }
    pub fn is_windows(&self) -> bool {
        self.host_platform.eq_ignore_ascii_case("Windows")
    }
}

fn s(r: &Row, i: usize) -> Option<String> {
    r.get::<&str, _>(i).map(str::to_string)
}

/// The server's facts: one round trip (`FACTS_SQL`).
pub async fn preflight(c: &mut SqlConnection) -> Result<ServerFacts> {
    let sets = c.batch(FACTS_SQL).await?;
    facts_from(&sets)
}

/// Who the server is and what this login may do, in one batch of three result sets: the
/// properties and permissions, the host platform (sys.dm_os_host_info exists from 2017), the
/// service account (sys.dm_server_services needs VIEW SERVER STATE). The guarded statements
/// always return one row, NULL when the server cannot tell.
const FACTS_SQL: &str = "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), CAST(SERVERPROPERTY('ProductMajorVersion') AS int),
                    CAST(SERVERPROPERTY('Edition') AS nvarchar(128)), @@SERVERNAME, CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)),
                    CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)), CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(4000)),
                    CAST(SERVERPROPERTY('InstanceDefaultDataPath') AS nvarchar(4000)), CAST(SERVERPROPERTY('PathSeparator') AS nvarchar(1)),
                    SUSER_SNAME(),
                    HAS_PERMS_BY_NAME(NULL, NULL, 'CONTROL SERVER'), HAS_PERMS_BY_NAME(NULL, NULL, 'ADMINISTER BULK OPERATIONS'),
                    HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE'),
                    CAST(SERVERPROPERTY('ProductUpdateLevel') AS nvarchar(128)), IS_SRVROLEMEMBER('sysadmin'),
                    SUSER_SID(), DATEPART(TZOFFSET, SYSDATETIMEOFFSET());
IF CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 14 SELECT host_platform FROM sys.dm_os_host_info ELSE SELECT CAST(NULL AS nvarchar(256));
IF HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') = 1 SELECT service_account FROM sys.dm_server_services WHERE servicename LIKE N'SQL Server (%' ELSE SELECT CAST(NULL AS nvarchar(256))";

fn facts_from(sets: &[Vec<Row>]) -> Result<ServerFacts> {
    let set = |i: usize| sets.get(i).and_then(|s| s.first());
    let r = set(0).ok_or_else(|| {
        crate::KeysafeError::new(
            crate::ErrorCode::Internal,
            "The server answered the preflight query with no row.",
        )
    })?;
    let major = r.get::<i32, _>(1).unwrap_or(0);
    let login = s(r, 9).unwrap_or_default();
    // SQL Server logins cannot contain a backslash; Windows logins always do.
    let windows_login = login.contains('\\');
    let granted = |i: usize| r.get::<i32, _>(i) == Some(1);
    let grant = |p: &str| {
        format!(
            "GRANT {p} TO {};",
            tsql::ident(&login).unwrap_or_else(|_| "[login]".into())
        )
    };
    let permissions = vec![
        Permission {
            name: "CONTROL SERVER",
            granted: granted(10),
            needed_for: "backing up the service master key (and every other key)",
            grant: grant("CONTROL SERVER"),
        },
        Permission {
            name: "ADMINISTER BULK OPERATIONS",
            granted: granted(11),
            needed_for: "reading the backup on the server to hash it and copy it over TDS",
            grant: grant("ADMINISTER BULK OPERATIONS"),
        },
        Permission {
            name: "VIEW SERVER STATE",
            granted: granted(12),
            needed_for: "the service account and TDE state",
            grant: grant("VIEW SERVER STATE"),
        },
    ];
    let sep = s(r, 8).unwrap_or_else(|| "\\".into());
    let (backup, source) = match (s(r, 6), s(r, 7)) {
        (Some(b), _) => (Some(b), "SERVERPROPERTY('InstanceDefaultBackupPath')"),
        // Before 2019 the property does not exist: the Backup folder beside DATA is SQL
        // Server setup's default.
        (None, Some(d)) => (
            Some(sibling_backup_folder(&d, &sep)),
            "the Backup folder beside InstanceDefaultDataPath (pre-2019 fallback)",
        ),
        (None, None) => (None, "unknown"),
    };
    let mut facts = ServerFacts {
        server_name: s(r, 3).unwrap_or_default(),
        machine_name: s(r, 4).unwrap_or_default(),
        instance_name: s(r, 5),
        product_version: s(r, 0).unwrap_or_default(),
        major_version: major,
        edition: s(r, 2).unwrap_or_default(),
        host_platform: if sep == "/" {
            "Linux".into()
        } else {
            "Windows".into()
        },
        login,
        service_account: None,
        default_backup_path: backup,
        backup_path_source: source,
        path_separator: sep,
        permissions,
        update_level: s(r, 13),
        is_sysadmin: granted(14),
        windows_login,
        login_sid: r
            .get::<&[u8], _>(15)
            .and_then(crate::windows::sid::from_bytes),
        utc_offset_minutes: r.get::<i32, _>(16),
        read_back: ReadBackForecast {
            verdict: ReadBackVerdict::Possible,
            reason: String::new(),
            fix: None,
        },
    };
    if let Some(p) = set(1).and_then(|r| s(r, 0)) {
        facts.host_platform = p;
    }
    facts.service_account = set(2).and_then(|r| s(r, 0));
    facts.read_back = forecast_read_back(&facts);
    Ok(facts)
}

fn sibling_backup_folder(data: &str, sep: &str) -> String {
    if sep == "/" {
        // SQL Server on Linux writes backups to its data folder by default.
        return data.to_string();
    }
    let trimmed = data.trim_end_matches(['\\', '/']);
    match trimmed.rsplit_once(sep) {
        Some((parent, last)) if last.eq_ignore_ascii_case("DATA") => {
            format!("{parent}{sep}Backup{sep}")
        }
        _ => format!("{trimmed}{sep}"),
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServiceMasterKeyInfo {
    pub algorithm: String,
    pub key_length: i32,
    /// UTC (the server's local dates turned with its offset), as every date below.
    pub created: Option<NaiveDateTime>,
    pub modified: Option<NaiveDateTime>,
    /// sys.symmetric_keys.key_guid: what the key is. Regenerated, it is another key.
    pub key_guid: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MasterKeyProtection {
    /// Opens by itself (an SMK-encrypted copy exists).
    ServiceMasterKey,
    /// Needs OPEN MASTER KEY with its password before a backup.
    PasswordOnly,
}

impl MasterKeyProtection {
    /// What protects the key, in an administrator's words (the app and the CLI print these).
    pub fn words(self) -> &'static str {
        match self {
            MasterKeyProtection::ServiceMasterKey => "Service Master Key and password",
            MasterKeyProtection::PasswordOnly => "Password only",
        }
    }
}

/// sys.dm_database_encryption_keys.encryption_state in an administrator's words.
pub fn tde_state_words(state: i32) -> &'static str {
    match state {
        0 => "No database encryption key",
        1 => "Unencrypted",
        2 => "Encryption in progress",
        3 => "Encrypted",
        4 => "Key change in progress",
        5 => "Decryption in progress",
        6 => "Protection change in progress",
        _ => "Unknown state",
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DatabaseMasterKeyInfo {
    pub protection: MasterKeyProtection,
    pub algorithm: String,
    pub created: Option<NaiveDateTime>,
    pub modified: Option<NaiveDateTime>,
    /// sys.symmetric_keys.key_guid: dropped and created again, a master key is another key,
    /// which no copy of the old one restores.
    pub key_guid: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertificateInfo {
    pub name: String,
    pub subject: String,
    /// NA, MK, PW (sys.certificates.pvt_key_encryption_type)
    pub private_key: String,
    /// UTC, as CREATE CERTIFICATE takes it.
    pub expiry: Option<NaiveDateTime>,
    /// pvt_key_last_backup_date, in UTC.
    pub last_backup: Option<NaiveDateTime>,
    pub thumbprint: String,
    /// Databases whose encryption key this certificate protects.
    pub used_by_tde: Vec<String>,
    /// The symmetric keys of this database it encrypts (sys.key_encryptions by thumbprint).
    pub protects: Vec<String>,
}

impl CertificateInfo {
    /// What encrypts the private key (pvt_key_encryption_type), briefly: the tree's column.
    pub fn private_key_words(&self) -> &str {
        match self.private_key.as_str() {
            "MK" => "Database master key",
            "PW" => "Password",
            "NA" => "No private key",
            o => o,
        }
    }

    /// The same, as a sentence: the certificate's properties.
    pub fn private_key_detail(&self) -> &str {
        match self.private_key.as_str() {
            "MK" => "Encrypted by the database master key",
            "PW" => "Encrypted by a password",
            "NA" => "None in the database",
            o => o,
        }
    }
}

/// A key of CREATE SYMMETRIC KEY and what protects it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SymmetricKeyInfo {
    pub name: String,
    pub algorithm: String,
    pub encryptions: Vec<SymmetricKeyEncryption>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SymmetricKeyEncryption {
    pub by: crate::key_encryption::KeyEncryption,
    /// The certificate's or key's thumbprint (hex), when one encrypts it.
    pub thumbprint: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseInfo {
    pub name: String,
    pub tde: Option<i32>,
    pub master_key: Option<DatabaseMasterKeyInfo>,
    pub certificates: Vec<CertificateInfo>,
    pub symmetric_keys: Vec<SymmetricKeyInfo>,
    /// The login could not read this database's keys.
    pub not_visible: bool,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// As the app's icons and the CLI's lines name it.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Risk {
    pub severity: Severity,
    pub object: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub server: ServerFacts,
    pub service_master_key: Option<ServiceMasterKeyInfo>,
    pub databases: Vec<DatabaseInfo>,
    pub risks: Vec<Risk>,
    /// The contained availability groups (SQL Server 2022) this instance hosts: each keeps
    /// its own master, `<group>_master`, where TDE also finds certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contained_groups: Vec<String>,
}

/// Whether TDE looks for certificates in `database`: master, or the own master
/// (`<group>_master`) of one of the instance's contained availability groups.
fn is_tde_master(database: &str, contained_groups: &[String]) -> bool {
    database.eq_ignore_ascii_case("master")
        || contained_groups
            .iter()
            .any(|g| database.eq_ignore_ascii_case(&format!("{g}_master")))
}

impl Inventory {
    /// The certificates TDE can use here, each with the database it is in: master's, and
    /// each contained availability group's master's.
    pub fn tde_certificates(&self) -> Vec<(String, CertificateInfo)> {
        self.databases
            .iter()
            .filter(|d| is_tde_master(&d.name, &self.contained_groups))
            .flat_map(|d| d.certificates.iter().map(|c| (d.name.clone(), c.clone())))
            .collect()
    }
}

/// The whole inventory in two round trips: the server's facts, its service master key, TDE
/// and its databases in one batch; then every database's master key and certificates in a
/// second, for the databases this login may enter (HAS_DBACCESS), so no statement in it is
/// refused. The others are listed as not visible, as before.
pub async fn inventory(c: &mut SqlConnection) -> Result<Inventory> {
    Ok(inventory_and_folder(c, &|_| None).await?.0)
}

/// The inventory, and whether the folder `folder` names from the server's facts is a folder
/// on the server (xp_fileexist, asked in the inventory's second round trip): a backup run
/// needs both before it writes. None when no folder was named.
pub async fn inventory_and_folder(
    c: &mut SqlConnection,
    folder: &(dyn Fn(&ServerFacts) -> Option<String> + Sync),
) -> Result<(Inventory, Option<bool>)> {
    let sets = c
        .batch(&format!(
            "{FACTS_SQL};
SELECT algorithm_desc, key_length, create_date, modify_date, CONVERT(nvarchar(36), key_guid) FROM master.sys.symmetric_keys WHERE name = N'##MS_ServiceMasterKey##';
IF HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') = 1 SELECT DB_NAME(database_id), encryption_state, encryptor_thumbprint FROM sys.dm_database_encryption_keys WHERE database_id > 4 ELSE SELECT CAST(NULL AS nvarchar(128)), CAST(NULL AS int), CAST(NULL AS varbinary(32)) WHERE 1 = 0;
SELECT name, is_master_key_encrypted_by_server, HAS_DBACCESS(name), HAS_PERMS_BY_NAME(name, 'DATABASE', 'VIEW DEFINITION') FROM sys.databases WHERE name NOT IN (N'tempdb', N'model') ORDER BY database_id"
        ))
        .await?;
    let server = facts_from(&sets)?;
    let empty = Vec::new();
    let set = |i: usize| sets.get(i).unwrap_or(&empty);
    let smk = set(3).first().map(|r| ServiceMasterKeyInfo {
        algorithm: s(r, 0).unwrap_or_default(),
        key_length: r.get::<i32, _>(1).unwrap_or(0),
        created: r.get::<NaiveDateTime, _>(2).map(|d| server.local_to_utc(d)),
        modified: r.get::<NaiveDateTime, _>(3).map(|d| server.local_to_utc(d)),
        key_guid: s(r, 4).map(|g| g.to_uppercase()),
    });
    let tde: Vec<(String, i32, Option<Vec<u8>>)> = set(4)
        .iter()
        .map(|r| {
            (
                s(r, 0).unwrap_or_default(),
                r.get::<i32, _>(1).unwrap_or(0),
                r.get::<&[u8], _>(2).map(<[u8]>::to_vec),
            )
        })
        .collect();
    let dbs: Vec<(String, bool, bool)> = set(5)
        .iter()
        .map(|r| {
            (
                s(r, 0).unwrap_or_default(),
                r.get::<bool, _>(1).unwrap_or(false),
                r.get::<i32, _>(2) == Some(1),
            )
        })
        .collect();
    // Databases the login may enter but not see into: without VIEW DEFINITION SQL Server
    // hides their master key and certificates (metadata visibility), and the inventory would
    // list fewer keys as if that were all there is. NULL (a server that cannot say) is not
    // counted as hidden. msdb is left out: every login enters it as guest, and it holds no
    // key of its own but SQL Server's ## certificates, which Keysafe never backs up; a warning
    // there would greet every operator who is not sysadmin.
    let hidden: Vec<String> = set(5)
        .iter()
        .filter(|r| {
            r.get::<i32, _>(2) == Some(1) && r.try_get::<i32, _>(3).ok().flatten() == Some(0)
        })
        .filter_map(|r| s(r, 0))
        .filter(|name| !name.eq_ignore_ascii_case("msdb"))
        .collect();
    // Contained availability groups (SQL Server 2022) keep TDE certificates in their own
    // master too, `<group>_master`, which TDE checks beside the instance's: asked first in
    // the same round trip, only from 2022 (is_contained does not exist before); a login
    // without VIEW ANY DEFINITION sees no group (then none is assumed).
    let asks_contained = server.major_version >= 16;
    let mut sql = String::new();
    if asks_contained {
        sql.push_str("SELECT name FROM sys.availability_groups WHERE is_contained = 1;\n");
    }
    // Then three result sets per database this login may enter, in order.
    for (name, _, access) in &dbs {
        if *access {
            let q = tsql::ident(name)?;
            sql.push_str(&format!(
                "SELECT algorithm_desc, create_date, modify_date, CONVERT(nvarchar(36), key_guid) FROM {q}.sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##';\nSELECT name, subject, pvt_key_encryption_type, expiry_date, pvt_key_last_backup_date, CONVERT(nvarchar(64), thumbprint, 2) FROM {q}.sys.certificates WHERE name NOT LIKE N'##%' ORDER BY name;\nSELECT k.name, k.algorithm_desc, e.crypt_type, CONVERT(nvarchar(64), e.thumbprint, 2) FROM {q}.sys.symmetric_keys AS k JOIN {q}.sys.key_encryptions AS e ON e.key_id = k.symmetric_key_id WHERE k.name NOT LIKE N'##%' ORDER BY k.name;\n"
            ));
        }
    }
    // Last, so that an answer with no result set (some servers give none to a login that
    // is not sysadmin) shifts nothing.
    let dir = folder(&server);
    if let Some(d) = &dir {
        sql.push_str(&format!(
            "EXEC master.dbo.xp_fileexist {};\n",
            tsql::path_literal(d)?
        ));
    }
    let mut per_db = if sql.is_empty() {
        vec![]
    } else {
        c.batch(&sql).await?
    };
    let contained_groups: Vec<String> = if asks_contained && !per_db.is_empty() {
        per_db.remove(0).iter().filter_map(|r| s(r, 0)).collect()
    } else {
        vec![]
    };
    let visible = dbs.iter().filter(|(_, _, access)| *access).count();
    let folder_exists = dir.as_ref().map(|_| {
        per_db
            .get(3 * visible)
            .and_then(|rows| rows.first())
            .and_then(|r| r.get::<i32, _>(1))
            == Some(1)
    });
    let mut per_db = per_db.into_iter();
    let mut databases = Vec::new();
    for (name, by_smk, access) in dbs {
        if !access {
            // No user in that database, or no permission: list it, flagged.
            databases.push(DatabaseInfo {
                name,
                tde: None,
                master_key: None,
                certificates: vec![],
                symmetric_keys: vec![],
                not_visible: true,
            });
            continue;
        }
        let keys = per_db.next().unwrap_or_default();
        let certs = per_db.next().unwrap_or_default();
        let mut symmetric_keys: Vec<SymmetricKeyInfo> = Vec::new();
        for r in per_db.next().unwrap_or_default() {
            let key = s(&r, 0).unwrap_or_default();
            let e = SymmetricKeyEncryption {
                by: crate::key_encryption::KeyEncryption::from_crypt_type(
                    &s(&r, 2).unwrap_or_default(),
                ),
                thumbprint: s(&r, 3),
            };
            match symmetric_keys.last_mut() {
                Some(k) if k.name == key => k.encryptions.push(e),
                _ => symmetric_keys.push(SymmetricKeyInfo {
                    name: key,
                    algorithm: s(&r, 1).unwrap_or_default(),
                    encryptions: vec![e],
                }),
            }
        }
        let master_key = keys.first().map(|k| DatabaseMasterKeyInfo {
            protection: if by_smk {
                MasterKeyProtection::ServiceMasterKey
            } else {
                MasterKeyProtection::PasswordOnly
            },
            algorithm: s(k, 0).unwrap_or_default(),
            created: k.get::<NaiveDateTime, _>(1).map(|d| server.local_to_utc(d)),
            modified: k.get::<NaiveDateTime, _>(2).map(|d| server.local_to_utc(d)),
            key_guid: s(k, 3).map(|g| g.to_uppercase()),
        });
        let certificates = certs
            .iter()
            .map(|r| {
                let thumb = s(r, 5).unwrap_or_default();
                let used_by_tde = if is_tde_master(&name, &contained_groups) {
                    tde.iter()
                        .filter(|(_, _, t)| {
                            t.as_ref().map(hex::encode_upper).as_deref() == Some(thumb.as_str())
                        })
                        .map(|(d, _, _)| d.clone())
                        .collect()
                } else {
                    vec![]
                };
                CertificateInfo {
                    name: s(r, 0).unwrap_or_default(),
                    subject: s(r, 1).unwrap_or_default(),
                    private_key: s(r, 2).unwrap_or_default(),
                    expiry: r.get::<NaiveDateTime, _>(3),
                    last_backup: r.get::<NaiveDateTime, _>(4).map(|d| server.local_to_utc(d)),
                    protects: symmetric_keys
                        .iter()
                        .filter(|k| {
                            k.encryptions.iter().any(|e| {
                                e.by.is_by_certificate()
                                    && e.thumbprint.as_deref() == Some(thumb.as_str())
                            })
                        })
                        .map(|k| k.name.clone())
                        .collect(),
                    thumbprint: thumb,
                    used_by_tde,
                }
            })
            .collect();
        let state = tde
            .iter()
            .find(|(d, _, _)| d.eq_ignore_ascii_case(&name))
            .map(|(_, s, _)| *s);
        databases.push(DatabaseInfo {
            name,
            tde: state,
            master_key,
            certificates,
            symmetric_keys,
            not_visible: false,
        });
    }
    let mut risks = assess(
        &server,
        smk.is_some(),
        &databases,
        chrono::Utc::now().naive_utc(),
    );
    for name in hidden {
        risks.push(Risk {
            severity: Severity::Warning,
            text: format!(
                "{} lacks VIEW DEFINITION here, so SQL Server hides this database's master key and certificates from it: the keys listed may not be all there are (USE {}; GRANT VIEW DEFINITION TO <its user>;)",
                server.login,
                tsql::ident(&name).unwrap_or_else(|_| name.clone())
            ),
            object: name,
        });
    }
    risks.sort_by_key(|r| std::cmp::Reverse(r.severity));
    Ok((
        Inventory {
            server,
            service_master_key: smk,
            databases,
            risks,
            contained_groups,
        },
        folder_exists,
    ))
}

/// A certificate's expiry, with what it does and does not stop. SQL Server does not enforce
/// a certificate's expiry when it is used for database encryption (CREATE CERTIFICATE's
/// Remarks): an expired TDE certificate keeps its databases readable and their backups
/// restorable, so it is a fact to plan a rotation by, not an alarm. Expiry is checked where
/// a certificate authenticates (Service Broker dialogs, certificate-authenticated endpoints
/// such as an availability group's): there an expired one stops the conversation.
fn expiry_risk(c: &CertificateInfo, obj: &str, now: NaiveDateTime) -> Option<Risk> {
    let e = c.expiry?;
    let soon = now + chrono::Duration::days(90);
    if e >= soon {
        return None;
    }
    let when = if e < now {
        format!("expired on {}", e.date())
    } else {
        format!("expires on {}", e.date())
    };
    Some(if c.used_by_tde.is_empty() {
        Risk {
            severity: Severity::Warning,
            object: obj.into(),
            text: format!("{when}: if it authenticates a Service Broker dialog or an endpoint (an availability group's), that stops then; database encryption (TDE) keeps working with it"),
        }
    } else {
        Risk {
            severity: Severity::Info,
            object: obj.into(),
            text: format!(
                "{when}; nothing stops then: SQL Server does not enforce a certificate's expiry for database encryption, so {} stays readable and its backups restore. Rotate it when your policy asks (Rotate Certificate), keeping this one for the backups that need it",
                c.used_by_tde.join(", ")
            ),
        }
    })
}

/// The risks, most severe first.
pub fn assess(
    server: &ServerFacts,
    has_smk: bool,
    dbs: &[DatabaseInfo],
    now: NaiveDateTime,
) -> Vec<Risk> {
    let mut v = Vec::new();
    for p in server.permissions.iter().filter(|p| !p.granted) {
        v.push(Risk {
            severity: Severity::Warning,
            object: server.server_name.clone(),
            text: format!(
                "{} lacks {} (needed for {}): {}",
                server.login, p.name, p.needed_for, p.grant
            ),
        });
    }
    if !has_smk {
        v.push(Risk {
            severity: Severity::Info,
            object: "Service Master Key".into(),
            text: "not visible to this login".into(),
        });
    }
    for d in dbs {
        if d.not_visible {
            v.push(Risk {
                severity: Severity::Warning,
                object: d.name.clone(),
                text: "the login cannot read this database's keys".into(),
            });
        }
        if let Some(k) = &d.master_key {
            if k.protection == MasterKeyProtection::PasswordOnly {
                v.push(Risk {
                    severity: Severity::Warning,
                    object: format!("{} master key", d.name),
                    text: "protected by a password only: if that password is lost, so is everything the key protects".into(),
                });
            }
        }
        for k in &d.symmetric_keys {
            for e in &k.encryptions {
                if let crate::key_encryption::KeyEncryption::Unknown(t) = &e.by {
                    v.push(Risk {
                        severity: Severity::Info,
                        object: format!("{}.{}", d.name, k.name),
                        text: format!("encrypted in a way this Keysafe does not know (crypt_type {t}): check that what protects it is backed up"),
                    });
                }
            }
        }
        for c in &d.certificates {
            let obj = format!("{}.{}", d.name, c.name);
            if !c.used_by_tde.is_empty() && c.last_backup.is_none() {
                v.push(Risk {
                    severity: Severity::Critical,
                    object: obj.clone(),
                    text: format!(
                        "protects TDE for {} and its private key has never been backed up",
                        c.used_by_tde.join(", ")
                    ),
                });
            }
            if let Some(r) = expiry_risk(c, &obj, now) {
                v.push(r);
            }
            if !c.protects.is_empty() && c.last_backup.is_none() && c.private_key != "NA" {
                v.push(Risk {
                    severity: Severity::Warning,
                    object: obj.clone(),
                    text: format!(
                        "encrypts the symmetric key{} {} and its private key has never been backed up: without it, what those keys encrypt cannot be decrypted",
                        if c.protects.len() == 1 { "" } else { "s" },
                        c.protects.join(", ")
                    ),
                });
            }
            if c.private_key == "NA" {
                v.push(Risk {
                    severity: Severity::Info,
                    object: obj,
                    text: "no private key in the database".into(),
                });
            }
        }
    }
    v.sort_by_key(|r| std::cmp::Reverse(r.severity));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(expiry: &str, tde: &[&str]) -> CertificateInfo {
        CertificateInfo {
            name: "C".into(),
            subject: "s".into(),
            private_key: "MK".into(),
            expiry: Some(
                NaiveDateTime::parse_from_str(&format!("{expiry} 00:00:00"), "%Y-%m-%d %H:%M:%S")
                    .unwrap(),
            ),
            last_backup: None,
            thumbprint: "AB".into(),
            used_by_tde: tde.iter().map(|s| s.to_string()).collect(),
            protects: vec![],
        }
    }

    #[test]
    fn an_expired_tde_certificate_is_a_fact_and_an_expired_endpoint_one_a_warning() {
        let now =
            NaiveDateTime::parse_from_str("2026-12-06 12:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let tde = expiry_risk(&cert("2026-11-30", &["Payroll"]), "master.C", now).unwrap();
        assert_eq!(tde.severity, Severity::Info);
        assert!(
            tde.text
                .starts_with("expired on 2026-11-30; nothing stops then"),
            "{}",
            tde.text
        );
        assert!(tde.text.contains("Payroll stays readable"), "{}", tde.text);
        let other = expiry_risk(&cert("2027-01-10", &[]), "master.C", now).unwrap();
        assert_eq!(other.severity, Severity::Warning);
        assert!(
            other
                .text
                .starts_with("expires on 2027-01-10: if it authenticates"),
            "{}",
            other.text
        );
        assert!(
            expiry_risk(&cert("2027-06-01", &[]), "master.C", now).is_none(),
            "beyond 90 days"
        );
    }

    #[test]
    fn the_backup_folder_sits_beside_data_before_2019() {
        assert_eq!(
            super::sibling_backup_folder(
                r"C:\Program Files\Microsoft SQL Server\MSSQL13.X\MSSQL\DATA\",
                "\\"
            ),
            r"C:\Program Files\Microsoft SQL Server\MSSQL13.X\MSSQL\Backup\"
        );
        assert_eq!(
            super::sibling_backup_folder("/var/opt/mssql/data/", "/"),
            "/var/opt/mssql/data/"
        );
    }
}
