//! BACKUP DATABASE and what a restore needs from it, over TCP: the media file records the TDE
//! certificate and the backup encryption certificate by thumbprint, msdb's history lists
//! each backup set, RESTORE HEADERONLY reads the header anywhere, FILELISTONLY and
//! VERIFYONLY only where the certificates are (33111 otherwise), and who may do each.

mod common;
use common::*;

const TDE_SETUP: &str = "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE';
CREATE CERTIFICATE BackupCert WITH SUBJECT = 'Backup encryption';
CREATE DATABASE Payroll;
USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert;
ALTER DATABASE Payroll SET ENCRYPTION ON;";

fn thumb(c: &mut Conn) -> impl std::future::Future<Output = Option<String>> + '_ {
    scalar_str(
        c,
        "SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM master.sys.certificates WHERE name = N'TdeCert'",
    )
}

#[tokio::test]
async fn a_tde_backup_records_its_certificate_and_only_a_server_with_it_reads_the_file_list() {
    let a = start().await;
    let b = start().await;
    let mut ca = sa(&a).await;
    ok(&mut ca, TDE_SETUP).await;
    let file = format!(r"{BACKUP_DIR}\Payroll.bak");
    let done = messages(
        &a,
        "sa",
        "master",
        &format!("BACKUP DATABASE Payroll TO DISK = N'{file}' WITH INIT, COMPRESSION, NAME = N'Payroll full'"),
    );
    assert!(
        done.iter()
            .any(|(n, _, t)| *n == 3014 && t.contains("BACKUP DATABASE successfully processed")),
        "{done:?}"
    );
    let tde = thumb(&mut ca).await.unwrap();

    // msdb's history names the backup and where it went.
    let rows = ok(&mut ca, "SELECT bs.database_name, bs.type, mf.physical_device_name, bs.encryptor_thumbprint FROM msdb.dbo.backupset AS bs INNER JOIN msdb.dbo.backupmediafamily AS mf ON mf.media_set_id = bs.media_set_id").await;
    assert_eq!(rows[0].len(), 1);
    assert_eq!(s(&rows[0][0], 0).as_deref(), Some("Payroll"));
    assert_eq!(s(&rows[0][0], 1).as_deref(), Some("D"));
    assert_eq!(s(&rows[0][0], 2), Some(file.clone()));
    assert!(
        rows[0][0].get::<&[u8], _>(3).is_none(),
        "no backup encryption"
    );

    // On A, the file list shows the TDE thumbprint and the backup verifies.
    let list = ok(
        &mut ca,
        &format!("RESTORE FILELISTONLY FROM DISK = N'{file}'"),
    )
    .await;
    assert_eq!(list[0].len(), 2, "a data file and a log file");
    let tdecol = list[0][0]
        .get::<&[u8], _>("TDEThumbprint")
        .map(hex::encode_upper);
    assert_eq!(tdecol, Some(tde.clone()));
    let verified = messages(
        &a,
        "sa",
        "master",
        &format!("RESTORE VERIFYONLY FROM DISK = N'{file}'"),
    );
    assert!(
        verified
            .iter()
            .any(|(_, _, t)| t == "The backup set on file 1 is valid."),
        "{verified:?}"
    );

    // On B, without the certificate: the header reads, the file list and the verify do not.
    let on_b = format!(r"{BACKUP_DIR}\Payroll-copy.bak");
    std::fs::create_dir_all(host(&b, BACKUP_DIR)).unwrap();
    std::fs::copy(host(&a, &file), host(&b, &on_b)).unwrap();
    let mut cb = sa(&b).await;
    let header = ok(
        &mut cb,
        &format!("RESTORE HEADERONLY FROM DISK = N'{on_b}'"),
    )
    .await;
    assert_eq!(header[0][0].get::<&str, _>("DatabaseName"), Some("Payroll"));
    let e = fails(
        &mut cb,
        &format!("RESTORE FILELISTONLY FROM DISK = N'{on_b}'"),
        33111,
    )
    .await;
    assert!(e.message().contains(&tde), "{}", e.message());
    let said = messages(
        &b,
        "sa",
        "master",
        &format!("RESTORE VERIFYONLY FROM DISK = N'{on_b}'"),
    );
    let numbers: Vec<i32> = said.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(numbers, vec![33111, 3013], "{said:?}");
    assert!(said[1]
        .2
        .contains("VERIFY DATABASE is terminating abnormally"));

    // The certificate copied with its private key: now B reads and verifies the backup.
    ok(
        &mut cb,
        "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026y';",
    )
    .await;
    let rows = ok(&mut ca, "USE master; SELECT CERTENCODED(CERT_ID(N'TdeCert')), CERTPRIVATEKEY(CERT_ID(N'TdeCert'), N'Copy!Passw0rd#1')").await;
    let der = hex::encode_upper(rows[0][0].get::<&[u8], _>(0).unwrap());
    let pvk = hex::encode_upper(rows[0][0].get::<&[u8], _>(1).unwrap());
    ok(&mut cb, &format!("USE master; CREATE CERTIFICATE TdeCert FROM BINARY = 0x{der} WITH PRIVATE KEY (BINARY = 0x{pvk}, DECRYPTION BY PASSWORD = 'Copy!Passw0rd#1');")).await;
    let list = ok(
        &mut cb,
        &format!("RESTORE FILELISTONLY FROM DISK = N'{on_b}'"),
    )
    .await;
    assert_eq!(list[0].len(), 2);
    let said = messages(
        &b,
        "sa",
        "master",
        &format!("RESTORE VERIFYONLY FROM DISK = N'{on_b}'"),
    );
    assert!(said.iter().all(|(n, _, _)| *n != 33111), "{said:?}");
}

#[tokio::test]
async fn an_encrypted_backup_needs_its_certificate_and_a_dropped_one_leaves_it_unreadable() {
    let a = start().await;
    let mut c = sa(&a).await;
    ok(&mut c, TDE_SETUP).await;
    let file = format!(r"{BACKUP_DIR}\Sales-enc.bak");
    ok(&mut c, "CREATE DATABASE Sales;").await;
    ok(&mut c, &format!("BACKUP DATABASE Sales TO DISK = N'{file}' WITH FORMAT, ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = BackupCert)")).await;
    let bt = scalar_str(&mut c, "SELECT CONVERT(nvarchar(64), encryptor_thumbprint, 2) FROM msdb.dbo.backupset WHERE database_name = N'Sales'").await.unwrap();
    let cert = scalar_str(&mut c, "SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM master.sys.certificates WHERE name = N'BackupCert'").await.unwrap();
    assert_eq!(bt, cert, "the history names the backup's certificate");
    let header = ok(&mut c, &format!("RESTORE HEADERONLY FROM DISK = N'{file}'")).await;
    assert_eq!(
        header[0][0]
            .get::<&[u8], _>("EncryptorThumbprint")
            .map(hex::encode_upper),
        Some(cert.clone())
    );
    assert_eq!(header[0][0].get::<&str, _>("KeyAlgorithm"), Some("aes_256"));
    // Appending another encrypted set to it is refused.
    fails(&mut c, &format!("BACKUP DATABASE Sales TO DISK = N'{file}' WITH ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = BackupCert)"), 3098).await;
    // The certificate dropped (rotated away): the backup can no longer be read here.
    ok(&mut c, "USE master; DROP CERTIFICATE BackupCert;").await;
    let e = fails(
        &mut c,
        &format!("RESTORE VERIFYONLY FROM DISK = N'{file}'"),
        33111,
    )
    .await;
    assert!(e.message().contains(&cert), "{}", e.message());
    // Rotation of the TDE protector: the DEK now names the new certificate; the old backup
    // still needs the old one.
    ok(
        &mut c,
        "USE master; CREATE CERTIFICATE TdeCert2 WITH SUBJECT = 'TDE 2026';",
    )
    .await;
    ok(
        &mut c,
        "USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeCert2;",
    )
    .await;
    let now = scalar_str(&mut c, "SELECT CONVERT(nvarchar(64), encryptor_thumbprint, 2) FROM sys.dm_database_encryption_keys WHERE database_id = DB_ID(N'Payroll')").await.unwrap();
    let new = scalar_str(&mut c, "SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM master.sys.certificates WHERE name = N'TdeCert2'").await.unwrap();
    assert_eq!(now, new);
}

#[tokio::test]
async fn who_may_back_up_read_a_header_or_the_history() {
    let a = start().await;
    let mut c = sa(&a).await;
    ok(&mut c, "CREATE DATABASE Sales; CREATE LOGIN clerk WITH PASSWORD = 'Bk!Operat0r#2026x'; USE Sales; CREATE USER clerk FOR LOGIN clerk;").await;
    let file = format!(r"{BACKUP_DIR}\Sales.bak");
    let said = messages(
        &a,
        "clerk",
        "Sales",
        &format!("BACKUP DATABASE Sales TO DISK = N'{file}'"),
    );
    let numbers: Vec<i32> = said.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(numbers, vec![262, 3013], "{said:?}");
    assert!(!host(&a, &file).exists());
    ok(
        &mut c,
        "USE Sales; ALTER ROLE db_backupoperator ADD MEMBER clerk;",
    )
    .await;
    let said = messages(
        &a,
        "clerk",
        "Sales",
        &format!("BACKUP DATABASE Sales TO DISK = N'{file}'"),
    );
    assert!(said.iter().any(|(n, _, _)| *n == 3014), "{said:?}");
    // Reading a header needs CREATE DATABASE; msdb's history is not public.
    let said = messages(
        &a,
        "clerk",
        "Sales",
        &format!("RESTORE HEADERONLY FROM DISK = N'{file}'"),
    );
    assert_eq!(said.first().map(|m| m.0), Some(262), "{said:?}");
    // CREATE DATABASE is a permission in master: granted there, the header reads.
    ok(
        &mut c,
        "USE master; CREATE USER clerk; GRANT CREATE DATABASE TO clerk;",
    )
    .await;
    let said = messages(
        &a,
        "clerk",
        "Sales",
        &format!("RESTORE HEADERONLY FROM DISK = N'{file}'"),
    );
    assert!(said.is_empty(), "{said:?}");
    let said = messages(
        &a,
        "clerk",
        "Sales",
        "SELECT COUNT(*) FROM msdb.dbo.backupset",
    );
    assert_eq!(said.first().map(|m| m.0), Some(229), "{said:?}");
    // A missing file: 3201 with the operating system's error 2.
    let said = messages(
        &a,
        "sa",
        "master",
        &format!(r"RESTORE HEADERONLY FROM DISK = N'{BACKUP_DIR}\nothere.bak'"),
    );
    assert_eq!(said[0].0, 3201);
    assert!(said[0].2.contains("Operating system error 2"), "{said:?}");
}

fn names(rows: &[Vec<tiberius::Row>]) -> Vec<String> {
    rows[0][0]
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect()
}

/// msdb.dbo.backupset's columns as its page lists them, up to SQL Server 2019.
const BACKUPSET: &str = "backup_set_id backup_set_uuid media_set_id first_family_number first_media_number last_family_number last_media_number catalog_family_number catalog_media_number position expiration_date software_vendor_id name description user_name software_major_version software_minor_version software_build_version time_zone mtf_minor_version first_lsn last_lsn checkpoint_lsn database_backup_lsn database_creation_date backup_start_date backup_finish_date type sort_order code_page compatibility_level database_version backup_size database_name server_name machine_name flags unicode_locale unicode_compare_style collation_name is_password_protected recovery_model has_bulk_logged_data is_snapshot is_readonly is_single_user has_backup_checksums is_damaged begins_log_chain has_incomplete_metadata is_force_offline is_copy_only first_recovery_fork_guid last_recovery_fork_guid fork_point_lsn database_guid family_guid differential_base_lsn differential_base_guid compressed_backup_size key_algorithm encryptor_thumbprint encryptor_type";
/// RESTORE HEADERONLY's columns as its page lists them, up to SQL Server 2019.
const HEADERONLY: &str = "BackupName BackupDescription BackupType ExpirationDate Compressed Position DeviceType UserName ServerName DatabaseName DatabaseVersion DatabaseCreationDate BackupSize FirstLSN LastLSN CheckpointLSN DatabaseBackupLSN BackupStartDate BackupFinishDate SortOrder CodePage UnicodeLocaleId UnicodeComparisonStyle CompatibilityLevel SoftwareVendorId SoftwareVersionMajor SoftwareVersionMinor SoftwareVersionBuild MachineName Flags BindingID RecoveryForkID Collation FamilyGUID HasBulkLoggedData IsSnapshot IsReadOnly IsSingleUser HasBackupChecksums IsDamaged BeginsLogChain HasIncompleteMetaData IsForceOffline IsCopyOnly FirstRecoveryForkID ForkPointLSN RecoveryModel DifferentialBaseLSN DifferentialBaseGUID BackupTypeDescription BackupSetGUID CompressedBackupSize containment KeyAlgorithm EncryptorThumbprint EncryptorType";

fn listed(doc: &str, since_2022: &[&str]) -> Vec<String> {
    doc.split(' ')
        .chain(since_2022.iter().copied())
        .map(String::from)
        .collect()
}

/// Three sets appended to one file and one in another: the history tables and the header
/// carry every documented column in the documented order, one media set per file.
#[tokio::test]
async fn the_history_tables_and_the_header_carry_the_documented_columns_set_by_set() {
    let a = start().await;
    let mut c = sa(&a).await;
    ok(&mut c, "CREATE DATABASE Stock").await;
    let file = format!(r"{BACKUP_DIR}\Stock.bak");
    for name in ["one", "two", "three"] {
        ok(
            &mut c,
            &format!("BACKUP DATABASE Stock TO DISK = N'{file}' WITH NAME = N'{name}'"),
        )
        .await;
    }
    ok(
        &mut c,
        &format!(r"BACKUP DATABASE Stock TO DISK = N'{BACKUP_DIR}\Stock-2.bak'"),
    )
    .await;

    let sets = ok(
        &mut c,
        "SELECT * FROM msdb.dbo.backupset ORDER BY backup_set_id",
    )
    .await;
    assert_eq!(
        names(&sets),
        listed(
            BACKUPSET,
            &["last_valid_restore_time", "compression_algorithm"]
        )
    );
    let media: Vec<(i32, i32, String)> = sets[0]
        .iter()
        .map(|r| {
            (
                r.get::<i32, _>("media_set_id").unwrap(),
                r.get::<i32, _>("position").unwrap(),
                r.get::<&str, _>("key_algorithm").unwrap().to_string(),
            )
        })
        .collect();
    let m = media[0].0;
    assert_eq!(
        media,
        vec![
            (m, 1, "NO_Encryption".into()),
            (m, 2, "NO_Encryption".into()),
            (m, 3, "NO_Encryption".into()),
            (media[3].0, 1, "NO_Encryption".into())
        ]
    );
    assert_ne!(media[3].0, m, "another file is another media set");
    let r0 = &sets[0][0];
    assert_eq!(r0.get::<u8, _>("software_major_version"), Some(16));
    assert_eq!(r0.get::<&str, _>("recovery_model"), Some("FULL"));
    assert_eq!(r0.get::<u8, _>("compatibility_level"), Some(160));

    // One family row and one media set row per file: the join gives each set once.
    let fam = ok(&mut c, "SELECT * FROM msdb.dbo.backupmediafamily").await;
    assert_eq!(names(&fam), listed("media_set_id family_sequence_number media_family_id media_count logical_device_name physical_device_name device_type physical_block_size mirror", &[]));
    assert_eq!(fam[0].len(), 2);
    let ms = ok(&mut c, "SELECT * FROM msdb.dbo.backupmediaset").await;
    assert_eq!(names(&ms), listed("media_set_id media_uuid media_family_count name description software_name software_vendor_id MTF_major_version mirror_count is_password_protected is_compressed is_encrypted", &[]));
    assert_eq!(ms[0].len(), 2);
    let joined = ok(&mut c, "SELECT bs.position FROM msdb.dbo.backupset AS bs INNER JOIN msdb.dbo.backupmediafamily AS mf ON mf.media_set_id = bs.media_set_id").await;
    assert_eq!(joined[0].len(), 4);

    // The header: one row per set, each naming its position and the GUID msdb knows it by.
    let header = ok(&mut c, &format!("RESTORE HEADERONLY FROM DISK = N'{file}'")).await;
    assert_eq!(
        names(&header),
        listed(
            HEADERONLY,
            &["LastValidRestoreTime", "TimeZone", "CompressionAlgorithm"]
        )
    );
    assert_eq!(header[0].len(), 3);
    for (i, h) in header[0].iter().enumerate() {
        assert_eq!(h.get::<i16, _>("Position"), Some(i as i16 + 1));
        assert_eq!(
            h.get::<&str, _>("BackupName"),
            Some(["one", "two", "three"][i])
        );
        assert_eq!(
            h.get::<uuid::Uuid, _>("BackupSetGUID"),
            sets[0][i].get::<uuid::Uuid, _>("backup_set_uuid")
        );
        assert_eq!(h.get::<&str, _>("BackupTypeDescription"), Some("DATABASE"));
        assert_eq!(h.get::<i32, _>("SoftwareVersionMajor"), Some(16));
    }

    // SQL Server 2019 has neither the 2022 columns nor the header's.
    let old = start_with(
        Some(mssql_emulator::scenarios::LINUX_2019),
        mssql_emulator::TlsMode::On,
    )
    .await;
    let mut o = sa(&old).await;
    ok(
        &mut o,
        "CREATE DATABASE Stock; BACKUP DATABASE Stock TO DISK = N'/var/opt/mssql/data/Stock.bak'",
    )
    .await;
    let sets = ok(&mut o, "SELECT * FROM msdb.dbo.backupset").await;
    assert_eq!(names(&sets), listed(BACKUPSET, &[]));
    let header = ok(
        &mut o,
        "RESTORE HEADERONLY FROM DISK = N'/var/opt/mssql/data/Stock.bak'",
    )
    .await;
    assert_eq!(names(&header), listed(HEADERONLY, &[]));
}

/// After the TDE protector changes, the log written before stays encrypted by the old
/// certificate: sys.dm_db_log_info shows both encryptors, the next log backup needs both
/// (VERIFYONLY on a server without the old one answers 33111 naming it), and afterwards the
/// active log is the new certificate's alone (`assumptions::LOG_KEEPS_OLD_ENCRYPTOR`).
#[tokio::test]
async fn a_log_backup_spanning_a_protector_change_needs_both_certificates() {
    let a = start().await;
    let mut c = sa(&a).await;
    ok(&mut c, TDE_SETUP).await;
    let old = thumb(&mut c).await.unwrap();
    ok(
        &mut c,
        "USE master; CREATE CERTIFICATE TdeCert2 WITH SUBJECT = 'TDE 2';
USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeCert2;",
    )
    .await;
    let new = scalar_str(
        &mut c,
        "SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM master.sys.certificates WHERE name = N'TdeCert2'",
    )
    .await
    .unwrap();
    const VLFS: &str = "SELECT CONVERT(nvarchar(64), vlf_encryptor_thumbprint, 2) FROM sys.dm_db_log_info(DB_ID(N'Payroll')) ORDER BY vlf_sequence_number";
    let text = |rows: Vec<Vec<tiberius::Row>>| -> Vec<String> {
        rows[0].iter().map(|r| s(r, 0).unwrap()).collect()
    };
    assert_eq!(text(ok(&mut c, VLFS).await), [old.clone(), new.clone()]);
    let log = format!(r"{BACKUP_DIR}\Payroll-log.trn");
    ok(
        &mut c,
        &format!("BACKUP LOG Payroll TO DISK = N'{log}' WITH INIT"),
    )
    .await;
    assert_eq!(text(ok(&mut c, VLFS).await), std::slice::from_ref(&new));
    let full = format!(r"{BACKUP_DIR}\Payroll-after.bak");
    ok(
        &mut c,
        &format!("BACKUP DATABASE Payroll TO DISK = N'{full}' WITH INIT"),
    )
    .await;
    ok(&mut c, &format!("RESTORE VERIFYONLY FROM DISK = N'{log}'")).await;
    // Without the old certificate the log backup cannot be read; the full one can.
    ok(&mut c, "USE master; DROP CERTIFICATE TdeCert;").await;
    let e = fails(
        &mut c,
        &format!("RESTORE VERIFYONLY FROM DISK = N'{log}'"),
        33111,
    )
    .await;
    assert!(e.message().contains(&old), "{}", e.message());
    ok(&mut c, &format!("RESTORE VERIFYONLY FROM DISK = N'{full}'")).await;
}

/// "After a database encryption key has been modified twice, a log backup must be performed
/// before the database encryption key can be modified again" (ALTER DATABASE ENCRYPTION KEY):
/// the third change is refused and changes nothing; a log backup lets it through
/// (`assumptions::DEK_CHANGES_NEED_LOG_BACKUP`).
#[tokio::test]
async fn a_third_key_change_waits_for_a_log_backup() {
    let a = start().await;
    let mut c = sa(&a).await;
    ok(&mut c, TDE_SETUP).await;
    ok(
        &mut c,
        "USE master; CREATE CERTIFICATE TdeCert2 WITH SUBJECT = 'TDE 2';
USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeCert2;
ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeCert;",
    )
    .await;
    const ENCRYPTOR: &str = "SELECT CONVERT(nvarchar(64), encryptor_thumbprint, 2) FROM sys.dm_database_encryption_keys WHERE database_id = DB_ID(N'Payroll')";
    let before = scalar_str(&mut c, ENCRYPTOR).await.unwrap();
    assert_eq!(Some(before.clone()), thumb(&mut c).await, "back on TdeCert");
    let e = fails(
        &mut c,
        "USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeCert2;",
        33122,
    )
    .await;
    assert!(e.message().contains("'Payroll'"), "{}", e.message());
    assert!(e.message().contains("log backup"), "{}", e.message());
    assert_eq!(
        scalar_str(&mut c, ENCRYPTOR).await.unwrap(),
        before,
        "nothing changed"
    );
    ok(
        &mut c,
        &format!(r"BACKUP LOG Payroll TO DISK = N'{BACKUP_DIR}\Payroll-log.trn' WITH INIT"),
    )
    .await;
    ok(
        &mut c,
        "USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeCert2;",
    )
    .await;
    assert_ne!(scalar_str(&mut c, ENCRYPTOR).await.unwrap(), before);
}

/// A contained availability group's TDE certificate may live in the group's own master
/// ("SQL Server checks both master databases"): a database encrypted by it backs up, and
/// the backup verifies while that certificate is there and not after it is dropped
/// (`assumptions::CONTAINED_AG_SYSTEM_DATABASES`).
#[tokio::test]
async fn a_contained_groups_own_master_holds_its_tde_certificate() {
    let a = start().await;
    let mut c = sa(&a).await;
    ok(
        &mut c,
        "CREATE DATABASE Payroll;
CREATE AVAILABILITY GROUP [CAG] WITH (CONTAINED) FOR DATABASE Payroll
  REPLICA ON N'SQL01' WITH (ENDPOINT_URL = N'TCP://sql01:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = AUTOMATIC);
USE CAG_master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Contained!Key#2026';
CREATE CERTIFICATE CagTde WITH SUBJECT = 'TDE in the contained master';
USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE CagTde;
ALTER DATABASE Payroll SET ENCRYPTION ON;",
    )
    .await;
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT COUNT(*) FROM master.sys.certificates WHERE name = N'CagTde'"
        )
        .await,
        Some(0),
        "not in the instance's master"
    );
    let file = format!(r"{BACKUP_DIR}\Payroll-cag.bak");
    ok(
        &mut c,
        &format!("BACKUP DATABASE Payroll TO DISK = N'{file}' WITH INIT"),
    )
    .await;
    ok(&mut c, &format!("RESTORE VERIFYONLY FROM DISK = N'{file}'")).await;
    ok(
        &mut c,
        "USE Payroll; ALTER DATABASE Payroll SET ENCRYPTION OFF; DROP DATABASE ENCRYPTION KEY; USE CAG_master; DROP CERTIFICATE CagTde;",
    )
    .await;
    fails(
        &mut c,
        &format!("RESTORE VERIFYONLY FROM DISK = N'{file}'"),
        33111,
    )
    .await;
}

/// A backup taken in a contained availability group's environment (a session that logged in
/// to one of its databases) is recorded in the group's own msdb, not the instance's: the
/// instance reads it as CAG_msdb, the session as msdb (`assumptions::CONTAINED_AG_SESSIONS`).
#[tokio::test]
async fn a_backup_taken_in_a_contained_group_is_recorded_in_its_own_msdb() {
    let a = start().await;
    let mut c = sa(&a).await;
    ok(
        &mut c,
        "CREATE DATABASE Payroll;
CREATE AVAILABILITY GROUP [CAG] WITH (CONTAINED) FOR DATABASE Payroll
  REPLICA ON N'SQL01' WITH (ENDPOINT_URL = N'TCP://sql01:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = AUTOMATIC);",
    )
    .await;
    let mut cfg = config(
        &a,
        "sa",
        mssql_emulator::DEFAULT_SA_PASSWORD,
        tiberius::EncryptionLevel::Required,
    );
    cfg.database("Payroll");
    let mut inside = connect_with(cfg).await.expect("a session in the group");
    ok(
        &mut inside,
        &format!(r"BACKUP DATABASE Payroll TO DISK = N'{BACKUP_DIR}\inside.bak' WITH INIT"),
    )
    .await;
    ok(
        &mut c,
        &format!(r"BACKUP DATABASE Payroll TO DISK = N'{BACKUP_DIR}\outside.bak' WITH INIT"),
    )
    .await;
    const FILES: &str = "SELECT mf.physical_device_name FROM {msdb}.dbo.backupset AS bs INNER JOIN {msdb}.dbo.backupmediafamily AS mf ON mf.media_set_id = bs.media_set_id";
    let files = |rows: Vec<Vec<tiberius::Row>>| -> Vec<String> {
        rows[0].iter().map(|r| s(r, 0).unwrap()).collect()
    };
    let instance = files(ok(&mut c, &FILES.replace("{msdb}", "msdb")).await);
    assert!(
        instance.len() == 1 && instance[0].ends_with("outside.bak"),
        "{instance:?}"
    );
    let group = files(ok(&mut c, &FILES.replace("{msdb}", "CAG_msdb")).await);
    assert!(
        group.len() == 1 && group[0].ends_with("inside.bak"),
        "{group:?}"
    );
    assert_eq!(
        files(ok(&mut inside, &FILES.replace("{msdb}", "msdb")).await),
        group,
        "inside the group, msdb is the group's"
    );
}
