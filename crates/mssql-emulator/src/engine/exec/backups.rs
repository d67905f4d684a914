//! Database backups as far as key recovery needs them: BACKUP DATABASE | LOG writes a media
//! file recording what a restore will need (the TDE certificate's thumbprint, the backup
//! encryption certificate's) and a row of msdb's backup history; RESTORE HEADERONLY,
//! FILELISTONLY and VERIFYONLY read it back, the last two only where the certificates it
//! needs are on the server (33111 otherwise), as a restore would. The file's format is the
//! emulator's own (assumptions::BACKUP_MEDIA_FORMAT); no page of data is in it.

use super::keys::dmk_key;
use super::Out;
use crate::engine::messages::Msg;
use crate::engine::session::Session;
use crate::engine::state::{BackupSetRow, InstanceState};
use crate::engine::{assumptions, now, perms, Event, Fail, Instance, Res};
use crate::sql::ast::{BackupDatabase, RestoreInfo, Statement};
use crate::tds::token::Column;
use crate::value::{ci_eq, SqlType, Value};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Media {
    format: String,
    sets: Vec<MediaSet>,
}

#[derive(Serialize, Deserialize, Clone)]
struct MediaSet {
    name: Option<String>,
    database_name: String,
    /// HEADERONLY's BackupType: 1 database, 2 log, 5 differential.
    backup_type: i64,
    server_name: String,
    user_name: String,
    start: NaiveDateTime,
    finish: NaiveDateTime,
    database_created: NaiveDateTime,
    size: i64,
    compressed: bool,
    copy_only: bool,
    /// The certificate protecting the database encryption key when the backup was taken.
    tde_thumbprint: Option<String>,
    /// A log backup: every certificate that encrypted the log it holds (a protector change
    /// in between leaves two), each needed to restore it.
    #[serde(default)]
    log_thumbprints: Vec<String>,
    key_algorithm: Option<String>,
    encryptor_thumbprint: Option<String>,
    encryptor_type: Option<String>,
    /// What the header records of the server and database that wrote the set (absent from
    /// files written before they were recorded: NULL in HEADERONLY).
    #[serde(default)]
    backup_set_guid: Option<uuid::Uuid>,
    #[serde(default)]
    machine_name: Option<String>,
    #[serde(default)]
    software_version: Option<(i64, i64, i64)>,
    #[serde(default)]
    compatibility_level: Option<i64>,
    #[serde(default)]
    recovery_model: Option<String>,
}

/// "<statement> is terminating abnormally." after the error that stopped it.
fn abnormal(first: Msg, statement: &str) -> Fail {
    Fail(vec![
        first,
        Msg::new(
            3013,
            16,
            1,
            format!("{statement} is terminating abnormally."),
        ),
    ])
}

fn os_error_text(n: u32) -> &'static str {
    match n {
        2 => "The system cannot find the file specified.",
        3 => "The system cannot find the path specified.",
        5 => "Access is denied.",
        _ => "The filename, directory name, or volume label syntax is incorrect.",
    }
}

fn cannot_open(path: &str, os: u32) -> Msg {
    Msg::new(
        3201,
        16,
        assumptions::BACKUP_DEVICE_OPEN_STATE,
        format!(
            "Cannot open backup device '{path}'. Operating system error {os}({}).",
            os_error_text(os)
        ),
    )
}

fn badly_formed(path: &str) -> Msg {
    Msg::new(3241, 16, 0, format!("The media family on device '{path}' is incorrectly formed. SQL Server cannot process this media family."))
}

fn read_media(bytes: &[u8]) -> Option<Media> {
    serde_json::from_slice::<Media>(bytes)
        .ok()
        .filter(|m| m.format == assumptions::BACKUP_MEDIA_FORMAT)
}

pub fn run(
    inst: &Instance,
    session: &mut Session,
    stmt: &Statement,
    out: &mut Out,
) -> Res<Option<u64>> {
    match stmt {
        Statement::BackupDatabase(b) => backup(inst, session, b, out),
        Statement::RestoreInfo {
            what,
            file,
            position,
        } => restore_info(inst, session, *what, file, *position, out),
        _ => unreachable!("dispatched by exec"),
    }
}

fn backup(
    inst: &Instance,
    session: &Session,
    b: &BackupDatabase,
    out: &mut Out,
) -> Res<Option<u64>> {
    let verb = if b.log {
        "BACKUP LOG"
    } else {
        "BACKUP DATABASE"
    };
    let mut st = inst.state();
    let login = session.login.clone();
    let Some(db) = st.database(&b.database).cloned() else {
        return Err(abnormal(
            Msg::new(
                911,
                16,
                11,
                format!(
                    "Database '{}' does not exist. Make sure that the name is entered correctly.",
                    b.database
                ),
            ),
            verb,
        ));
    };
    if db.name.eq_ignore_ascii_case("tempdb") {
        return Err(abnormal(
            Msg::new(
                3147,
                16,
                3,
                "Backup and restore operations are not allowed on database tempdb.",
            ),
            verb,
        ));
    }
    let operator = db.user_for_login(&login).is_some_and(|u| {
        u.roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case("db_backupoperator"))
    });
    if !(operator || perms::has_database(&st, &login, &db, verb)) {
        return Err(abnormal(
            Msg::new(
                262,
                14,
                1,
                format!("{verb} permission denied in database '{}'.", db.name),
            ),
            verb,
        ));
    }
    let master = st.database("master").cloned().expect("master exists");
    let encryption = match &b.encryption {
        None => None,
        Some((algorithm, cert)) => {
            let c = master
                .certificate(cert)
                .filter(|_| perms::can_see_metadata(&st, &login, &master))
                .ok_or_else(|| {
                    abnormal(
                        crate::engine::messages::cannot_find("find", "certificate", cert),
                        verb,
                    )
                })?;
            Some((algorithm.clone(), hex::encode_upper(&c.thumbprint)))
        }
    };
    let mut media = Media {
        format: assumptions::BACKUP_MEDIA_FORMAT.into(),
        sets: vec![],
    };
    if !b.overwrite {
        match inst.read_backup_media(&b.file) {
            Ok(bytes) => match read_media(&bytes) {
                Some(m) => media = m,
                None => return Err(abnormal(badly_formed(&b.file), verb)),
            },
            Err(2) => {}
            Err(os) => return Err(abnormal(cannot_open(&b.file, os), verb)),
        }
        let incompatible = if media.sets.is_empty() {
            None
        } else if encryption.is_some() {
            Some(("ENCRYPTION", "NO_ENCRYPTION"))
        } else if b.compression && media.sets.iter().any(|m| !m.compressed) {
            Some(("COMPRESSION", "NO_COMPRESSION"))
        } else {
            None
        };
        if let Some((asked, other)) = incompatible {
            let (n, state) = assumptions::INCOMPATIBLE_MEDIA;
            return Err(abnormal(
                Msg::new(n, 16, state, format!("The backup cannot be performed because '{asked}' was requested after the media was formatted with an incompatible structure. To append to this media set, either omit '{asked}' or specify '{other}'. Alternatively, you can create a new media set by using WITH FORMAT in your BACKUP statement. If you use WITH FORMAT on an existing media set, all its backup sets will be overwritten.")),
                verb,
            ));
        }
    }
    let tde_thumbprint = db
        .encryption_key
        .as_ref()
        .filter(|k| k.encryption_state != 1)
        .map(|k| hex::encode_upper(&k.encryptor_thumbprint));
    let log_thumbprints: Vec<String> = match (&db.encryption_key, b.log) {
        (Some(k), true) => k.log_encryptors.clone(),
        _ => vec![],
    };
    let start = now();
    let pages = 328 + 8 * (db.certificates.len() as i64);
    let set = MediaSet {
        name: b.name.clone(),
        database_name: db.name.clone(),
        backup_type: if b.log {
            2
        } else if b.differential {
            5
        } else {
            1
        },
        server_name: inst.info.server_name(),
        user_name: login.clone(),
        start,
        finish: now(),
        database_created: db.create_date,
        size: pages * 8192,
        compressed: b.compression,
        copy_only: b.copy_only,
        tde_thumbprint,
        log_thumbprints,
        key_algorithm: encryption.as_ref().map(|(a, _)| a.to_lowercase()),
        encryptor_thumbprint: encryption.as_ref().map(|(_, t)| t.clone()),
        encryptor_type: encryption.as_ref().map(|_| "CERTIFICATE".to_string()),
        backup_set_guid: Some(uuid::Uuid::new_v4()),
        machine_name: Some(inst.info.machine_name.clone()),
        software_version: Some(inst.info.software_version()),
        compatibility_level: Some(inst.info.compatibility_level()),
        recovery_model: Some(db.recovery_model().to_string()),
    };
    media.sets.push(set.clone());
    let bytes = serde_json::to_vec_pretty(&media).expect("media serializes");
    inst.write_backup_media(&b.file, &bytes)
        .map_err(|os| abnormal(cannot_open(&b.file, os), verb))?;
    let msdb = session
        .contained_group
        .as_ref()
        .map(|g| format!("{g}_msdb"));
    record_history(&mut st, &set, &b.file, media.sets.len() as i32, msdb);
    // A log backup takes the log's VLFs: what stays active is the current encryptor's.
    if b.log {
        if let Some(k) = st
            .database_mut(&db.name)
            .and_then(|d| d.encryption_key.as_mut())
        {
            k.changes_since_log_backup = 0;
            k.log_encryptors = if k.encryption_state == 1 {
                vec![]
            } else {
                vec![hex::encode_upper(&k.encryptor_thumbprint)]
            };
        }
    }
    inst.persist(&st)?;
    out.info(Msg::new(
        4035,
        0,
        1,
        format!(
            "Processed {pages} pages for database '{}', file '{}' on file {}.",
            db.name,
            db.name,
            media.sets.len()
        ),
    ));
    out.info(Msg::new(
        3014,
        0,
        1,
        format!(
            "{verb} successfully processed {pages} pages in 0.010 seconds ({:.3} MB/sec).",
            pages as f64 * 8192.0 / 1_048_576.0 / 0.010
        ),
    ));
    Ok(None)
}

fn record_history(
    st: &mut InstanceState,
    set: &MediaSet,
    device: &str,
    position: i32,
    msdb: Option<String>,
) {
    let id = st
        .backup_history
        .last()
        .map(|r| r.backup_set_id)
        .unwrap_or(0)
        + 1;
    // A set appended to a media set this instance wrote joins it; anything else is a new one.
    let joined = (position > 1)
        .then(|| {
            st.backup_history
                .iter()
                .rev()
                .find(|r| r.position == position - 1 && ci_eq(&r.physical_device_name, device))
        })
        .flatten()
        .map(|r| (r.media_set_id, r.media_uuid));
    let (media_set_id, media_uuid) = joined.unwrap_or_else(|| {
        (
            st.backup_history
                .iter()
                .map(|r| r.media_set_id)
                .max()
                .unwrap_or(0)
                + 1,
            uuid::Uuid::new_v4(),
        )
    });
    st.backup_history.push(BackupSetRow {
        backup_set_id: id,
        media_set_id,
        media_uuid,
        backup_set_uuid: set.backup_set_guid.unwrap_or_else(uuid::Uuid::new_v4),
        database_creation_date: Some(set.database_created),
        compressed: set.compressed,
        compatibility_level: set.compatibility_level,
        recovery_model: set.recovery_model.clone(),
        name: set.name.clone(),
        database_name: set.database_name.clone(),
        kind: match set.backup_type {
            2 => "L",
            5 => "I",
            _ => "D",
        }
        .into(),
        is_copy_only: set.copy_only,
        backup_start_date: set.start,
        backup_finish_date: set.finish,
        backup_size: set.size,
        user_name: set.user_name.clone(),
        key_algorithm: set.key_algorithm.clone(),
        encryptor_thumbprint: set
            .encryptor_thumbprint
            .as_ref()
            .and_then(|t| hex::decode(t).ok()),
        encryptor_type: set.encryptor_type.clone(),
        physical_device_name: device.to_string(),
        position,
        msdb,
    });
}

/// A certificate in master whose private key this session can use, by thumbprint (hex):
/// what decrypting a TDE or encrypted backup needs. 33111 when there is none.
fn need_certificate(st: &InstanceState, session: &Session, thumbprint: &str) -> Result<(), Msg> {
    // master, then each contained availability group's master
    // (assumptions::CONTAINED_AG_SYSTEM_DATABASES).
    let found = st.tde_masters().into_iter().find_map(|m| {
        m.certificates
            .iter()
            .find(|c| hex::encode_upper(&c.thumbprint) == thumbprint.to_uppercase())
            .map(|c| (m, c))
    });
    let master = found
        .map(|(m, _)| m)
        .unwrap_or_else(|| st.database("master").expect("master exists"));
    let found = found.map(|(_, c)| c);
    match found {
        Some(c) if c.private_key.is_some() => {
            // The private key is protected by master's database master key, which must open.
            if dmk_key(st, session, master).is_none() && master.master_key.is_some() {
                return Err(crate::engine::messages::no_master_key(
                    assumptions::DMK_NOT_OPEN_STATE,
                ));
            }
            Ok(())
        }
        _ => Err(no_certificate(thumbprint)),
    }
}

fn no_certificate(thumbprint: &str) -> Msg {
    Msg::new(
        33111,
        16,
        3,
        format!(
            "Cannot find server certificate with thumbprint '0x{}'.",
            thumbprint.to_uppercase()
        ),
    )
}

fn col(name: &str, ty: SqlType) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable: true,
    }
}

fn text(v: &Option<String>) -> Value {
    v.as_ref()
        .map(|s| Value::Str(s.clone()))
        .unwrap_or(Value::Null)
}

fn bytes(v: &Option<String>) -> Value {
    v.as_ref()
        .and_then(|h| hex::decode(h).ok())
        .map(Value::Bytes)
        .unwrap_or(Value::Null)
}

fn restore_info(
    inst: &Instance,
    session: &Session,
    what: RestoreInfo,
    file: &str,
    position: Option<i64>,
    out: &mut Out,
) -> Res<Option<u64>> {
    let verb = match what {
        RestoreInfo::Header => "RESTORE HEADERONLY",
        RestoreInfo::FileList => "RESTORE FILELISTONLY",
        RestoreInfo::Verify => "VERIFY DATABASE",
    };
    let st = inst.state();
    // "Obtaining information about a backup set or backup device requires CREATE DATABASE
    // permission" (RESTORE arguments, Permissions).
    // CREATE DATABASE is a permission in master: CREATE ANY DATABASE, CONTROL of master
    // (db_owner there) or a GRANT CREATE DATABASE to the login's user in master.
    let master = st.database("master").expect("master exists");
    if !perms::has_database(&st, &session.login, master, "CREATE DATABASE") {
        return Err(abnormal(
            Msg::new(
                262,
                14,
                1,
                "CREATE DATABASE permission denied in database 'master'.",
            ),
            verb,
        ));
    }
    let raw = inst
        .read_backup_media(file)
        .map_err(|os| abnormal(cannot_open(file, os), verb))?;
    let media = read_media(&raw).ok_or_else(|| abnormal(badly_formed(file), verb))?;
    let pick = |n: i64| -> Res<(i64, MediaSet)> {
        usize::try_from(n - 1)
            .ok()
            .and_then(|i| media.sets.get(i))
            .map(|s| (n, s.clone()))
            .ok_or_else(|| {
                let (num, state) = assumptions::BACKUP_SET_MISSING;
                abnormal(
                    Msg::new(
                        num,
                        16,
                        state,
                        format!("Cannot find file ID {n} on device '{file}'."),
                    ),
                    verb,
                )
            })
    };
    match what {
        RestoreInfo::Header => {
            let sets: Vec<(i64, MediaSet)> = match position {
                Some(n) => vec![pick(n)?],
                None => media
                    .sets
                    .iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, s)| (i as i64 + 1, s))
                    .collect(),
            };
            let lsn = || SqlType::Decimal(25, 0);
            let n = SqlType::NVarChar;
            let mut columns = vec![
                col("BackupName", n(Some(128))),
                col("BackupDescription", n(Some(255))),
                col("BackupType", SqlType::SmallInt),
                col("ExpirationDate", SqlType::DateTime),
                col("Compressed", SqlType::Bit),
                col("Position", SqlType::SmallInt),
                col("DeviceType", SqlType::TinyInt),
                col("UserName", n(Some(128))),
                col("ServerName", n(Some(128))),
                col("DatabaseName", n(Some(128))),
                col("DatabaseVersion", SqlType::Int),
                col("DatabaseCreationDate", SqlType::DateTime),
                col("BackupSize", SqlType::Decimal(20, 0)),
                col("FirstLSN", lsn()),
                col("LastLSN", lsn()),
                col("CheckpointLSN", lsn()),
                col("DatabaseBackupLSN", lsn()),
                col("BackupStartDate", SqlType::DateTime),
                col("BackupFinishDate", SqlType::DateTime),
                col("SortOrder", SqlType::SmallInt),
                col("CodePage", SqlType::SmallInt),
                col("UnicodeLocaleId", SqlType::Int),
                col("UnicodeComparisonStyle", SqlType::Int),
                col("CompatibilityLevel", SqlType::TinyInt),
                col("SoftwareVendorId", SqlType::Int),
                col("SoftwareVersionMajor", SqlType::Int),
                col("SoftwareVersionMinor", SqlType::Int),
                col("SoftwareVersionBuild", SqlType::Int),
                col("MachineName", n(Some(128))),
                col("Flags", SqlType::Int),
                col("BindingID", SqlType::UniqueIdentifier),
                col("RecoveryForkID", SqlType::UniqueIdentifier),
                col("Collation", n(Some(128))),
                col("FamilyGUID", SqlType::UniqueIdentifier),
                col("HasBulkLoggedData", SqlType::Bit),
                col("IsSnapshot", SqlType::Bit),
                col("IsReadOnly", SqlType::Bit),
                col("IsSingleUser", SqlType::Bit),
                col("HasBackupChecksums", SqlType::Bit),
                col("IsDamaged", SqlType::Bit),
                col("BeginsLogChain", SqlType::Bit),
                col("HasIncompleteMetaData", SqlType::Bit),
                col("IsForceOffline", SqlType::Bit),
                col("IsCopyOnly", SqlType::Bit),
                col("FirstRecoveryForkID", SqlType::UniqueIdentifier),
                col("ForkPointLSN", lsn()),
                col("RecoveryModel", n(Some(60))),
                col("DifferentialBaseLSN", lsn()),
                col("DifferentialBaseGUID", SqlType::UniqueIdentifier),
                col("BackupTypeDescription", n(Some(60))),
                col("BackupSetGUID", SqlType::UniqueIdentifier),
                col("CompressedBackupSize", SqlType::BigInt),
                col("containment", SqlType::TinyInt),
                col("KeyAlgorithm", n(Some(32))),
                col("EncryptorThumbprint", SqlType::VarBinary(Some(20))),
                col("EncryptorType", n(Some(32))),
            ];
            // Applies to SQL Server 2022 and later.
            let since_2022 = inst.info.major >= 16;
            if since_2022 {
                columns.push(col("LastValidRestoreTime", SqlType::DateTime));
                columns.push(col("TimeZone", n(Some(32))));
                columns.push(col("CompressionAlgorithm", n(Some(32))));
            }
            let int = |v: Option<i64>| v.map(Value::Int).unwrap_or(Value::Null);
            let same_server = |s: &MediaSet| ci_eq(&s.server_name, &inst.info.server_name());
            let rows =
                sets.iter()
                    .map(|(n, s)| {
                        let version = s.software_version;
                        // The collation's properties are known for sets this instance wrote.
                        let ours = |v: i64| int(same_server(s).then_some(v));
                        let mut row = vec![
                            text(&s.name),
                            Value::Null,
                            Value::Int(s.backup_type),
                            Value::Null,
                            Value::Bit(s.compressed),
                            Value::Int(*n),
                            Value::Int(2),
                            Value::Str(s.user_name.clone()),
                            Value::Str(s.server_name.clone()),
                            Value::Str(s.database_name.clone()),
                            Value::Null,
                            Value::DateTime(inst.info.to_local(s.database_created)),
                            Value::Decimal(s.size as i128, 0),
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::DateTime(inst.info.to_local(s.start)),
                            Value::DateTime(inst.info.to_local(s.finish)),
                            ours(crate::engine::server_info::COLLATION_SORT_ORDER),
                            ours(crate::engine::server_info::COLLATION_CODE_PAGE),
                            ours(crate::engine::server_info::COLLATION_LOCALE),
                            ours(crate::engine::server_info::COLLATION_COMPARISON_STYLE),
                            int(s.compatibility_level),
                            Value::Int(4608),
                            int(version.map(|v| v.0)),
                            int(version.map(|v| v.1)),
                            int(version.map(|v| v.2)),
                            text(&s.machine_name),
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            if same_server(s) {
                                Value::Str(crate::engine::server_info::DATABASE_COLLATION.into())
                            } else {
                                Value::Null
                            },
                            Value::Null,
                            Value::Bit(false),
                            Value::Bit(false),
                            Value::Bit(false),
                            Value::Bit(false),
                            Value::Bit(false),
                            Value::Bit(false),
                            Value::Bit(false),
                            Value::Bit(false),
                            Value::Bit(false),
                            Value::Bit(s.copy_only),
                            Value::Null,
                            Value::Null,
                            text(&s.recovery_model),
                            Value::Null,
                            Value::Null,
                            Value::Str(
                                match s.backup_type {
                                    2 => "TRANSACTION LOG",
                                    5 => "DATABASE DIFFERENTIAL",
                                    _ => "DATABASE",
                                }
                                .into(),
                            ),
                            s.backup_set_guid.map(Value::Guid).unwrap_or(Value::Null),
                            // The emulator does not compress: the set's bytes are its size.
                            Value::Int(s.size),
                            Value::Int(0),
                            Value::Str(s.key_algorithm.clone().unwrap_or_else(|| {
                                assumptions::NOT_ENCRYPTED_KEY_ALGORITHM.into()
                            })),
                            bytes(&s.encryptor_thumbprint),
                            text(&s.encryptor_type),
                        ];
                        if since_2022 {
                            row.push(Value::Null);
                            row.push(Value::Null);
                            row.push(if s.compressed {
                                Value::Str("MS_XPRESS".into())
                            } else {
                                Value::Null
                            });
                        }
                        row
                    })
                    .collect::<Vec<_>>();
            let n = rows.len() as u64;
            out.events.push(Event::Rows { columns, rows });
            Ok(Some(n))
        }
        RestoreInfo::FileList | RestoreInfo::Verify => {
            let (n, set) = pick(position.unwrap_or(1))?;
            for t in [&set.encryptor_thumbprint, &set.tde_thumbprint]
                .into_iter()
                .flatten()
                .chain(set.log_thumbprints.iter())
            {
                need_certificate(&st, session, t).map_err(|m| abnormal(m, verb))?;
            }
            // A backup made WITH ENCRYPTION is read only with VIEW DEFINITION on its
            // certificate (backup-encryption.md); without it SQL Server cannot find it.
            if let Some(t) = &set.encryptor_thumbprint {
                let master = st.database("master").expect("master exists");
                let seen = master.certificates.iter().any(|c| {
                    hex::encode_upper(&c.thumbprint) == t.to_uppercase()
                        && perms::has_object(
                            &st,
                            &session.login,
                            master,
                            "CERTIFICATE",
                            &c.name,
                            "VIEW DEFINITION",
                        )
                });
                if !seen {
                    return Err(abnormal(no_certificate(t), verb));
                }
            }
            if what == RestoreInfo::Verify {
                let (num, state) = assumptions::BACKUP_SET_VALID;
                out.info(Msg::new(
                    num,
                    0,
                    state,
                    format!("The backup set on file {n} is valid."),
                ));
                return Ok(None);
            }
            let data_dir = inst.info.default_data_path.trim_end_matches(['\\', '/']);
            let sep = inst.info.path_separator();
            let columns = vec![
                col("LogicalName", SqlType::NVarChar(Some(128))),
                col("PhysicalName", SqlType::NVarChar(Some(260))),
                col("Type", SqlType::Char(1)),
                col("FileGroupName", SqlType::NVarChar(Some(128))),
                // The documented result set (restore-statements-filelistonly.md), in order.
                col("Size", SqlType::Decimal(20, 0)),
                col("MaxSize", SqlType::Decimal(20, 0)),
                col("FileID", SqlType::BigInt),
                col("CreateLSN", SqlType::Decimal(25, 0)),
                col("DropLSN", SqlType::Decimal(25, 0)),
                col("UniqueID", SqlType::UniqueIdentifier),
                col("ReadOnlyLSN", SqlType::Decimal(25, 0)),
                col("ReadWriteLSN", SqlType::Decimal(25, 0)),
                col("BackupSizeInBytes", SqlType::BigInt),
                col("SourceBlockSize", SqlType::Int),
                col("FileGroupID", SqlType::Int),
                col("LogGroupGUID", SqlType::UniqueIdentifier),
                col("DifferentialBaseLSN", SqlType::Decimal(25, 0)),
                col("DifferentialBaseGUID", SqlType::UniqueIdentifier),
                col("IsReadOnly", SqlType::Bit),
                col("IsPresent", SqlType::Bit),
                col("TDEThumbprint", SqlType::VarBinary(Some(32))),
                col("SnapshotURL", SqlType::NVarChar(Some(360))),
            ];
            // File GUIDs that stay the same for a database across reads of its backups.
            let file_guid = |n: u8| {
                use sha2::Digest;
                let h = sha2::Sha256::digest(format!("{}:{n}", set.database_name).as_bytes());
                Value::Guid(uuid::Uuid::from_slice(&h[..16]).expect("16 bytes"))
            };
            let d = &set.database_name;
            let rows = vec![
                vec![
                    Value::Str(d.clone()),
                    Value::Str(format!("{data_dir}{sep}{d}.mdf")),
                    Value::Str("D".into()),
                    Value::Str("PRIMARY".into()),
                    Value::Decimal(8 * 1_048_576, 0),
                    Value::Decimal(35_184_372_080_640, 0),
                    Value::Int(1),
                    Value::Decimal(0, 0),
                    Value::Null,
                    file_guid(1),
                    Value::Null,
                    Value::Null,
                    Value::Int(set.size),
                    Value::Int(512),
                    Value::Int(1),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Bit(false),
                    Value::Bit(true),
                    bytes(&set.tde_thumbprint),
                    Value::Null,
                ],
                vec![
                    Value::Str(format!("{d}_log")),
                    Value::Str(format!("{data_dir}{sep}{d}_log.ldf")),
                    Value::Str("L".into()),
                    Value::Null,
                    Value::Decimal(8 * 1_048_576, 0),
                    Value::Decimal(2_199_023_255_552, 0),
                    Value::Int(2),
                    Value::Decimal(0, 0),
                    Value::Null,
                    file_guid(2),
                    Value::Null,
                    Value::Null,
                    Value::Int(0),
                    Value::Int(512),
                    Value::Int(0),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Bit(false),
                    Value::Bit(true),
                    bytes(&set.tde_thumbprint),
                    Value::Null,
                ],
            ];
            out.events.push(Event::Rows { columns, rows });
            Ok(Some(2))
        }
    }
}

/// Moves the last backup set of a media file back in time (a scenario's earlier backups).
pub(crate) fn date_back_last_set(
    inst: &Instance,
    file: &str,
    by: chrono::Duration,
) -> Result<(), String> {
    let bytes = inst
        .read_backup_media(file)
        .map_err(|os| format!("{file}: operating system error {os}"))?;
    let mut m = read_media(&bytes).ok_or_else(|| format!("{file} is not a backup"))?;
    if let Some(s) = m.sets.last_mut() {
        s.start -= by;
        s.finish -= by;
    }
    inst.write_backup_media(
        file,
        &serde_json::to_vec_pretty(&m).expect("media serializes"),
    )
    .map_err(|os| format!("{file}: operating system error {os}"))
}
