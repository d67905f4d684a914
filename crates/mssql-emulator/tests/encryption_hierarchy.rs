//! Every key statement with its success and error paths, asserted on state: the file on
//! the server's disk, what it decrypts to, the catalog afterwards.

mod common;
use common::*;
use mssql_emulator::engine::crypto::{read_backup, BackupKind};

fn smk_bytes(r: &Running) -> Vec<u8> {
    r.emu
        .instance()
        .state()
        .service_master_key
        .as_ref()
        .unwrap()
        .key
        .clone()
}

#[tokio::test]
async fn backup_service_master_key_writes_a_file_only_its_password_opens() {
    let r = start().await;
    let mut c = sa(&r).await;
    let path = format!(r"{BACKUP_DIR}\smk.key");
    ok(&mut c, &format!("USE master;\nBACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}';")).await;
    let bytes = std::fs::read(host(&r, &path)).expect("the backup file exists on the server");
    assert!(
        bytes.starts_with(b"MSSQL-EMULATOR KEY BACKUP"),
        "the header says it is the emulator's format"
    );
    let plain =
        read_backup(&bytes, BackupKind::ServiceMasterKey, STRONG).expect("opens with its password");
    let payload: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(
        hex::decode(payload["key"].as_str().unwrap()).unwrap(),
        smk_bytes(&r)
    );
    assert!(read_backup(&bytes, BackupKind::ServiceMasterKey, "Str0ng!Backup#Pasx").is_err());
}

#[tokio::test]
async fn a_backup_file_records_its_key_derivation_work_and_any_instance_reads_it() {
    let r = start().await;
    let mut c = sa(&r).await;
    let iterations_of = |bytes: &[u8]| {
        let at = b"MSSQL-EMULATOR KEY BACKUP v1 (emulator format, not SQL Server's)\n".len() + 1;
        u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
    };
    let default = format!(r"{BACKUP_DIR}\default.key");
    ok(
        &mut c,
        &format!(
            "BACKUP SERVICE MASTER KEY TO FILE = '{default}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    r.emu.instance().set_backup_kdf_iterations(7);
    let light = format!(r"{BACKUP_DIR}\light.key");
    ok(
        &mut c,
        &format!(
            "BACKUP SERVICE MASTER KEY TO FILE = '{light}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    let (d, l) = (
        std::fs::read(host(&r, &default)).unwrap(),
        std::fs::read(host(&r, &light)).unwrap(),
    );
    assert_eq!(iterations_of(&d), 20_000);
    assert_eq!(iterations_of(&l), 7);
    // The number in the file decides: the instance's current setting does not matter.
    read_backup(&d, BackupKind::ServiceMasterKey, STRONG).expect("the default file opens");
    ok(&mut c, &format!("RESTORE SERVICE MASTER KEY FROM FILE = '{default}' DECRYPTION BY PASSWORD = '{STRONG}'")).await;
    r.emu.instance().set_backup_kdf_iterations(20_000);
    ok(
        &mut c,
        &format!(
            "RESTORE SERVICE MASTER KEY FROM FILE = '{light}' DECRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    assert!(read_backup(&l, BackupKind::ServiceMasterKey, "Str0ng!Backup#Pasx").is_err());
}

#[tokio::test]
async fn backup_refuses_to_overwrite_an_existing_file_or_write_into_a_missing_folder() {
    let r = start().await;
    let mut c = sa(&r).await;
    let path = format!(r"{BACKUP_DIR}\smk.key");
    let sql =
        format!("BACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}'");
    ok(&mut c, &sql).await;
    let before = std::fs::read(host(&r, &path)).unwrap();
    let e = fails(&mut c, &sql, 15240).await;
    assert_eq!(e.class(), 16);
    assert_eq!(
        e.message(),
        format!("Cannot write into file '{path}'. Verify that you have write permissions, that the file path is valid, and that the file does not already exist.")
    );
    assert_eq!(
        std::fs::read(host(&r, &path)).unwrap(),
        before,
        "the first file is untouched"
    );
    // Case-insensitive like NTFS: the same file under another spelling is still "existing".
    fails(
        &mut c,
        &sql.to_uppercase().replace("STR0NG!BACKUP#PASS", STRONG),
        15240,
    )
    .await;
    fails(&mut c, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = 'C:\NoSuchFolder\smk.key' ENCRYPTION BY PASSWORD = '{STRONG}'"), 15240).await;
    fails(
        &mut c,
        &format!(
            r"BACKUP SERVICE MASTER KEY TO FILE = 'Q:\smk.key' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
        15240,
    )
    .await;
    assert!(!host(&r, r"C:\NoSuchFolder").exists());
}

#[tokio::test]
async fn weak_backup_passwords_fail_the_windows_policy_with_the_versions_wording() {
    let r = start().await;
    let mut c = sa(&r).await;
    let e = fails(&mut c, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\a.key' ENCRYPTION BY PASSWORD = 'alllowercase'"), 15118).await;
    assert_eq!(e.message(), "Password validation failed. The password does not meet the operating system policy requirements because it is not complex enough.");
    let e = fails(&mut c, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\a.key' ENCRYPTION BY PASSWORD = 'Ab1!'"), 15116).await;
    assert!(e.message().ends_with("because it is too short."));
    assert!(!host(&r, &format!(r"{BACKUP_DIR}\a.key")).exists());

    let old = start_with(
        Some("[server]\nversion = 2019\n"),
        mssql_emulator::TlsMode::On,
    )
    .await;
    let mut c = sa(&old).await;
    let e = fails(
        &mut c,
        r"BACKUP SERVICE MASTER KEY TO FILE = 'C:\x.key' ENCRYPTION BY PASSWORD = 'alllowercase'",
        15118,
    )
    .await;
    assert_eq!(e.message(), "Password validation failed. The password does not meet Windows policy requirements because it is not complex enough.");
}

#[tokio::test]
async fn paths_and_passwords_must_be_literals() {
    let r = start().await;
    let mut c = sa(&r).await;
    let e = fails(&mut c, "DECLARE @p nvarchar(100) = N'x'; BACKUP SERVICE MASTER KEY TO FILE = @p ENCRYPTION BY PASSWORD = 'Str0ng!Backup#Pass'", 102).await;
    assert_eq!(e.message(), "Incorrect syntax near '@p'.");
    assert_eq!(e.class(), 15);
}

#[tokio::test]
async fn restoring_the_identical_smk_says_15588_and_changes_nothing() {
    let r = start().await;
    let mut c = sa(&r).await;
    let path = format!(r"{BACKUP_DIR}\smk.key");
    ok(
        &mut c,
        &format!(
            "BACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    let before = smk_bytes(&r);
    let msgs = messages(
        &r,
        "sa",
        "master",
        &format!(
            "RESTORE SERVICE MASTER KEY FROM FILE = '{path}' DECRYPTION BY PASSWORD = '{STRONG}'"
        ),
    );
    assert_eq!(
        msgs,
        vec![(
            15588,
            10,
            "The old and new master keys are identical. No data re-encryption is required."
                .to_string()
        )]
    );
    assert_eq!(smk_bytes(&r), before);
    // And over TDS it is not an error.
    ok(
        &mut c,
        &format!(
            "RESTORE SERVICE MASTER KEY FROM FILE = '{path}' DECRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
}

#[tokio::test]
async fn restore_with_a_wrong_password_or_a_damaged_file_fails_with_15317() {
    let r = start().await;
    let mut c = sa(&r).await;
    let path = format!(r"{BACKUP_DIR}\smk.key");
    ok(
        &mut c,
        &format!(
            "BACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    let e = fails(&mut c, &format!("RESTORE SERVICE MASTER KEY FROM FILE = '{path}' DECRYPTION BY PASSWORD = 'Wrong!Pass#123'"), 15317).await;
    assert_eq!(
        e.message(),
        "The master key file does not exist or has invalid format."
    );
    assert_eq!(e.class(), 16);
    fails(&mut c, &format!(r"RESTORE SERVICE MASTER KEY FROM FILE = '{BACKUP_DIR}\missing.key' DECRYPTION BY PASSWORD = '{STRONG}'"), 15317).await;
    let host_path = host(&r, &path);
    let mut b = std::fs::read(&host_path).unwrap();
    let n = b.len() - 5;
    b[n] ^= 0x40;
    std::fs::write(&host_path, b).unwrap();
    fails(
        &mut c,
        &format!(
            "RESTORE SERVICE MASTER KEY FROM FILE = '{path}' DECRYPTION BY PASSWORD = '{STRONG}'"
        ),
        15317,
    )
    .await;
}

#[tokio::test]
async fn restoring_another_instances_smk_replaces_it_and_re_encrypts_the_master_keys() {
    let a = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let b = start().await;
    let mut cb = sa(&b).await;
    ok(&mut cb, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\b.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    // Carry the file to A's server, as an administrator would.
    std::fs::copy(
        host(&b, &format!(r"{BACKUP_DIR}\b.key")),
        host(&a, &format!(r"{BACKUP_DIR}\from-b.key")),
    )
    .unwrap();
    let mut ca = sa(&a).await;
    ok(&mut ca, &format!(r"RESTORE SERVICE MASTER KEY FROM FILE = '{BACKUP_DIR}\from-b.key' DECRYPTION BY PASSWORD = '{STRONG}'")).await;
    assert_eq!(smk_bytes(&a), smk_bytes(&b));
    // HR's master key is still opened by the (new) service master key.
    ok(&mut ca, &format!(r"USE HR; BACKUP MASTER KEY TO FILE = '{BACKUP_DIR}\hr.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    assert!(host(&a, &format!(r"{BACKUP_DIR}\hr.key")).is_file());
}

#[tokio::test]
async fn the_smk_needs_control_server() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = login(&r, "app_reader", "Reader!Pass#22").await;
    let e = fails(&mut c, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\x.key' ENCRYPTION BY PASSWORD = '{STRONG}'"), 15247).await;
    assert_eq!(
        e.message(),
        "User does not have permission to perform this action."
    );
    let mut op = login(&r, "keysafe_operator", "Operat0r!Pass#1").await;
    ok(&mut op, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\op.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    // CONTROL SERVER is not sysadmin membership.
    assert_eq!(
        scalar_i32(&mut op, "SELECT IS_SRVROLEMEMBER('sysadmin')").await,
        Some(0)
    );
    assert_eq!(
        scalar_i32(
            &mut op,
            "SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'CONTROL SERVER')"
        )
        .await,
        Some(1)
    );
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'CONTROL SERVER')"
        )
        .await,
        Some(0)
    );
}

#[tokio::test]
async fn a_password_only_master_key_must_be_opened_before_backup() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    let file = format!(r"{BACKUP_DIR}\sales-dmk.key");
    let backup =
        format!("BACKUP MASTER KEY TO FILE = '{file}' ENCRYPTION BY PASSWORD = '{STRONG}'");
    ok(&mut c, "USE Sales").await;
    let e = fails(&mut c, &backup, 15581).await;
    assert_eq!(e.message(), "Please create a master key in the database or open the master key in the session before performing this operation.");
    fails(
        &mut c,
        "OPEN MASTER KEY DECRYPTION BY PASSWORD = 'Wrong!Pass#1'",
        15313,
    )
    .await;
    ok(&mut c, &format!("OPEN MASTER KEY DECRYPTION BY PASSWORD = 'Sales!Dmk#Pass1'; {backup}; CLOSE MASTER KEY;")).await;
    assert!(host(&r, &file).is_file());
    fails(&mut c, &backup.replace("sales-dmk", "again"), 15581).await;
    let rows = ok(
        &mut c,
        "SELECT is_master_key_encrypted_by_server FROM sys.databases WHERE name = N'Sales'",
    )
    .await;
    assert_eq!(rows[0][0].get::<bool, _>(0), Some(false));
}

#[tokio::test]
async fn a_master_key_restores_into_a_scratch_database_and_proves_its_password() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    let file = format!(r"{BACKUP_DIR}\hr.key");
    ok(
        &mut c,
        &format!(
            "USE HR; BACKUP MASTER KEY TO FILE = '{file}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    ok(&mut c, "CREATE DATABASE [Keysafe scratch]").await;
    fails(&mut c, &format!("USE [Keysafe scratch]; RESTORE MASTER KEY FROM FILE = '{file}' DECRYPTION BY PASSWORD = 'Wrong!Pass#1' ENCRYPTION BY PASSWORD = '{STRONG}'"), 15317).await;
    ok(&mut c, &format!("USE [Keysafe scratch]; RESTORE MASTER KEY FROM FILE = '{file}' DECRYPTION BY PASSWORD = '{STRONG}' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    let rows = ok(&mut c, "SELECT is_master_key_encrypted_by_server FROM sys.databases WHERE name = 'Keysafe scratch'").await;
    assert_eq!(
        rows[0][0].get::<bool, _>(0),
        Some(false),
        "a restored key is not encrypted by the SMK"
    );
    let rows = ok(
        &mut c,
        "SELECT k.key_guid FROM [Keysafe scratch].sys.symmetric_keys k",
    )
    .await;
    let hr_guid = ok(&mut c, "SELECT key_guid FROM HR.sys.symmetric_keys").await;
    assert_eq!(
        rows[0][0].get::<uuid::Uuid, _>(0),
        hr_guid[0][0].get::<uuid::Uuid, _>(0)
    );
    // The identical key again: 15588.
    let msgs = messages(&r, "sa", "Keysafe scratch", &format!("OPEN MASTER KEY DECRYPTION BY PASSWORD = '{STRONG}'; RESTORE MASTER KEY FROM FILE = '{file}' DECRYPTION BY PASSWORD = '{STRONG}' ENCRYPTION BY PASSWORD = '{STRONG}'"));
    assert_eq!(msgs.last().unwrap().0, 15588);
    ok(&mut c, "USE master; DROP DATABASE [Keysafe scratch]").await;
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT COUNT(*) FROM sys.databases WHERE name = 'Keysafe scratch'"
        )
        .await,
        Some(0)
    );
}

#[tokio::test]
async fn master_key_permissions_follow_control_on_the_database() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = login(&r, "app_reader", "Reader!Pass#22").await;
    ok(&mut c, &format!(r"USE HR; BACKUP MASTER KEY TO FILE = '{BACKUP_DIR}\hr-by-reader.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT HAS_PERMS_BY_NAME('HR', 'DATABASE', 'CONTROL')"
        )
        .await,
        Some(1)
    );
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT HAS_PERMS_BY_NAME('Sales', 'DATABASE', 'CONTROL')"
        )
        .await,
        Some(0)
    );
    // No user in Sales: the database cannot even be entered.
    fails(&mut c, "USE Sales", 916).await;
}

#[tokio::test]
async fn create_master_key_refuses_a_second_one_and_weak_passwords() {
    let r = start().await;
    let mut c = sa(&r).await;
    ok(&mut c, "CREATE DATABASE K").await;
    fails(
        &mut c,
        "USE K; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'weak'",
        15116,
    )
    .await;
    ok(
        &mut c,
        &format!("USE K; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '{STRONG}'"),
    )
    .await;
    fails(
        &mut c,
        &format!("USE K; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '{STRONG}'"),
        15578,
    )
    .await;
    let rows = ok(
        &mut c,
        "SELECT name, key_algorithm, algorithm_desc, key_length FROM K.sys.symmetric_keys",
    )
    .await;
    assert_eq!(
        s(&rows[0][0], 0).as_deref(),
        Some("##MS_DatabaseMasterKey##")
    );
    assert_eq!(s(&rows[0][0], 1).as_deref(), Some("A3"));
    assert_eq!(s(&rows[0][0], 2).as_deref(), Some("AES_256"));
    // Dropping the SMK encryption makes it password-only.
    ok(
        &mut c,
        "USE K; ALTER MASTER KEY DROP ENCRYPTION BY SERVICE MASTER KEY",
    )
    .await;
    let rows = ok(&mut c, "SELECT crypt_type FROM K.sys.key_encryptions").await;
    let types: Vec<String> = rows[0].iter().map(|r| s(r, 0).unwrap()).collect();
    assert_eq!(types, vec!["ESP2"]);
    ok(&mut c, &format!("USE K; OPEN MASTER KEY DECRYPTION BY PASSWORD = '{STRONG}'; ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY")).await;
    assert_eq!(scalar_i32(&mut c, "SELECT CAST(is_master_key_encrypted_by_server AS int) FROM sys.databases WHERE name = 'K'").await, Some(1));
}

#[tokio::test]
async fn certificates_back_up_with_their_private_key_and_restore_with_the_same_thumbprint() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    let cer = format!(r"{BACKUP_DIR}\tde.cer");
    let pvk = format!(r"{BACKUP_DIR}\tde.pvk");
    let before = ok(&mut c, "SELECT pvt_key_last_backup_date, thumbprint FROM master.sys.certificates WHERE name = 'TDE_Payroll'").await;
    assert_eq!(
        before[0][0].get::<chrono::NaiveDateTime, _>(0),
        None,
        "never backed up"
    );
    let thumb = before[0][0].get::<&[u8], _>(1).unwrap().to_vec();
    ok(&mut c, &format!("USE master; BACKUP CERTIFICATE TDE_Payroll TO FILE = '{cer}' WITH PRIVATE KEY (FILE = '{pvk}', ENCRYPTION BY PASSWORD = '{STRONG}')")).await;
    assert!(host(&r, &cer).is_file() && host(&r, &pvk).is_file());
    let after = ok(
        &mut c,
        "SELECT pvt_key_last_backup_date FROM master.sys.certificates WHERE name = 'TDE_Payroll'",
    )
    .await;
    assert!(
        after[0][0].get::<chrono::NaiveDateTime, _>(0).is_some(),
        "the export is recorded"
    );
    // The .cer is real DER whose SHA-1 is the thumbprint.
    use sha1::Digest;
    assert_eq!(
        sha1::Sha1::digest(std::fs::read(host(&r, &cer)).unwrap()).to_vec(),
        thumb
    );

    ok(&mut c, &format!("CREATE DATABASE Scratch; USE Scratch; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    fails(&mut c, &format!("USE Scratch; CREATE CERTIFICATE T FROM FILE = '{cer}' WITH PRIVATE KEY (FILE = '{pvk}', DECRYPTION BY PASSWORD = 'Wrong!Pass#1')"), 15465).await;
    ok(&mut c, &format!("USE Scratch; CREATE CERTIFICATE T FROM FILE = '{cer}' WITH PRIVATE KEY (FILE = '{pvk}', DECRYPTION BY PASSWORD = '{STRONG}')")).await;
    let restored = ok(
        &mut c,
        "SELECT thumbprint, pvt_key_encryption_type FROM Scratch.sys.certificates WHERE name = 'T'",
    )
    .await;
    assert_eq!(restored[0][0].get::<&[u8], _>(0).unwrap(), thumb.as_slice());
    assert_eq!(s(&restored[0][0], 1).as_deref(), Some("MK"));
    let e = fails(
        &mut c,
        &format!("USE Scratch; CREATE CERTIFICATE T2 FROM FILE = '{cer}'"),
        15232,
    )
    .await;
    assert!(e.message().contains("already exists"));
    // The same backup again must not overwrite anything.
    fails(&mut c, &format!("USE master; BACKUP CERTIFICATE TDE_Payroll TO FILE = '{cer}' WITH PRIVATE KEY (FILE = '{BACKUP_DIR}\\new.pvk', ENCRYPTION BY PASSWORD = '{STRONG}')"), 15240).await;
    assert!(!host(&r, &format!(r"{BACKUP_DIR}\new.pvk")).exists());
}

#[tokio::test]
async fn certificate_private_key_protection_rules() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    let d = BACKUP_DIR;
    // Password-protected key: the password is needed, and only the right one works.
    fails(&mut c, &format!(r"USE Sales; BACKUP CERTIFICATE SalesSigning TO FILE = '{d}\s.cer' WITH PRIVATE KEY (FILE = '{d}\s.pvk', ENCRYPTION BY PASSWORD = '{STRONG}')"), 15334).await;
    fails(&mut c, &format!(r"USE Sales; BACKUP CERTIFICATE SalesSigning TO FILE = '{d}\s.cer' WITH PRIVATE KEY (FILE = '{d}\s.pvk', ENCRYPTION BY PASSWORD = '{STRONG}', DECRYPTION BY PASSWORD = 'Wrong!Pass#1')"), 15465).await;
    ok(&mut c, &format!(r"USE Sales; BACKUP CERTIFICATE SalesSigning TO FILE = '{d}\s.cer' WITH PRIVATE KEY (FILE = '{d}\s.pvk', ENCRYPTION BY PASSWORD = '{STRONG}', DECRYPTION BY PASSWORD = 'Signing!Cert#Pw1')")).await;
    // Master-key-protected: a decryption password is an error.
    fails(&mut c, &format!(r"USE master; BACKUP CERTIFICATE TDE_Archive TO FILE = '{d}\a.cer' WITH PRIVATE KEY (FILE = '{d}\a.pvk', ENCRYPTION BY PASSWORD = '{STRONG}', DECRYPTION BY PASSWORD = 'x')"), 15147).await;
    // The same certificate again in its own database: SQL Server knows it by thumbprint.
    fails(
        &mut c,
        &format!(r"USE Sales; CREATE CERTIFICATE PublicOnly FROM FILE = '{d}\s.cer'"),
        15232,
    )
    .await;
    // A certificate without a private key.
    ok(
        &mut c,
        &format!(r"USE HR; CREATE CERTIFICATE PublicOnly FROM FILE = '{d}\s.cer'"),
    )
    .await;
    let rows = ok(
        &mut c,
        "SELECT pvt_key_encryption_type_desc FROM HR.sys.certificates WHERE name = 'PublicOnly'",
    )
    .await;
    assert_eq!(s(&rows[0][0], 0).as_deref(), Some("NO_PRIVATE_KEY"));
    fails(&mut c, &format!(r"USE HR; BACKUP CERTIFICATE PublicOnly TO FILE = '{d}\p.cer' WITH PRIVATE KEY (FILE = '{d}\p.pvk', ENCRYPTION BY PASSWORD = '{STRONG}')"), 15246).await;
    fails(
        &mut c,
        &format!(r"USE Sales; BACKUP CERTIFICATE NoSuchCert TO FILE = '{d}\n.cer'"),
        15151,
    )
    .await;
}

#[tokio::test]
async fn pfx_exists_on_2022_only() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    let pfx = format!(r"{BACKUP_DIR}\archive.pfx");
    ok(&mut c, &format!("USE master; BACKUP CERTIFICATE TDE_Archive TO FILE = '{pfx}' WITH FORMAT = 'PFX', PRIVATE KEY (ENCRYPTION BY PASSWORD = '{STRONG}', ALGORITHM = 'AES_256')")).await;
    ok(&mut c, &format!("CREATE DATABASE P; USE P; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '{STRONG}'; CREATE CERTIFICATE A FROM FILE = '{pfx}' WITH FORMAT = 'PFX', PRIVATE KEY (DECRYPTION BY PASSWORD = '{STRONG}')")).await;
    let a = ok(&mut c, "SELECT thumbprint FROM P.sys.certificates").await;
    let b = ok(
        &mut c,
        "SELECT thumbprint FROM master.sys.certificates WHERE name = 'TDE_Archive'",
    )
    .await;
    assert_eq!(a[0][0].get::<&[u8], _>(0), b[0][0].get::<&[u8], _>(0));

    let old = start_with(
        Some("[server]\nversion = 2019\n"),
        mssql_emulator::TlsMode::On,
    )
    .await;
    let mut c = sa(&old).await;
    ok(&mut c, &format!("CREATE MASTER KEY ENCRYPTION BY PASSWORD = '{STRONG}'; CREATE CERTIFICATE C WITH SUBJECT = 'c'")).await;
    let e = fails(&mut c, &format!(r"BACKUP CERTIFICATE C TO FILE = 'C:\c.pfx' WITH FORMAT = 'PFX', PRIVATE KEY (ENCRYPTION BY PASSWORD = '{STRONG}')"), 102).await;
    assert_eq!(e.message(), "Incorrect syntax near 'FORMAT'.");
}

#[tokio::test]
async fn tde_warns_about_an_unexported_certificate_and_encrypts_tempdb_too() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    ok(&mut c, "CREATE DATABASE Ledger").await;
    let msgs = messages(&r, "sa", "Ledger", "CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Payroll");
    assert_eq!(msgs.len(), 1);
    assert_eq!((msgs[0].0, msgs[0].1), (33091, 10));
    ok(&mut c, "ALTER DATABASE Ledger SET ENCRYPTION ON").await;
    let rows = ok(
        &mut c,
        "SELECT DB_NAME(k.database_id), k.encryption_state, c.name, c.pvt_key_last_backup_date
         FROM sys.dm_database_encryption_keys k
         LEFT JOIN master.sys.certificates c ON c.thumbprint = k.encryptor_thumbprint
         ORDER BY k.database_id",
    )
    .await;
    let got: Vec<(String, i32, Option<String>)> = rows[0]
        .iter()
        .map(|r| (s(r, 0).unwrap(), i32v(r, 1).unwrap(), s(r, 2)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("tempdb".into(), 3, None),
            ("Payroll".into(), 3, Some("TDE_Payroll".into())),
            ("Archive".into(), 3, Some("TDE_Archive".into())),
            ("Ledger".into(), 3, Some("TDE_Payroll".into())),
        ]
    );
    // A password-protected certificate can't protect a DEK.
    ok(&mut c, &format!("USE master; CREATE CERTIFICATE PwCert ENCRYPTION BY PASSWORD = '{STRONG}' WITH SUBJECT = 'pw'; CREATE DATABASE L2")).await;
    fails(&mut c, "USE L2; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE PwCert", 33101).await;
    fails(&mut c, "USE master; DROP CERTIFICATE TDE_Payroll", 15352).await;
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || {
        mssql_emulator::EmulatorConfig::new(dir.path())
            .scenario(mssql_emulator::Scenario::from_toml(DEMO).unwrap())
    };
    let emu = mssql_emulator::Emulator::start(cfg()).await.unwrap();
    let r = Running {
        dir: tempfile::tempdir().unwrap(),
        emu,
    };
    let mut c = sa(&r).await;
    let smk = smk_bytes(&r);
    ok(&mut c, &format!("CREATE LOGIN later WITH PASSWORD = '{STRONG}'; CREATE DATABASE Kept; BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\\s.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    drop(c);
    r.emu.shutdown().await;
    let emu = mssql_emulator::Emulator::start(cfg()).await.unwrap();
    let r = Running { dir: r.dir, emu };
    assert_eq!(smk_bytes(&r), smk);
    let mut c = login(&r, "later", STRONG).await;
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT COUNT(*) FROM sys.databases WHERE name = 'Kept'"
        )
        .await,
        Some(1)
    );
    assert!(host(&r, &format!("{BACKUP_DIR}\\s.key")).is_file());
}

#[tokio::test]
async fn regenerating_keys_keeps_every_dependent_usable() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    let before = smk_bytes(&r);
    ok(&mut c, "ALTER SERVICE MASTER KEY REGENERATE").await;
    assert_ne!(smk_bytes(&r), before);
    // HR's master key is re-encrypted by the new SMK and still opens by itself.
    ok(&mut c, &format!(r"USE HR; BACKUP MASTER KEY TO FILE = '{BACKUP_DIR}\hr1.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    // master's DMK protects the TDE certificates: regenerate it, the certificates follow.
    ok(
        &mut c,
        &format!(
            "USE master; ALTER MASTER KEY REGENERATE WITH ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    ok(&mut c, &format!(r"USE master; BACKUP CERTIFICATE TDE_Payroll TO FILE = '{BACKUP_DIR}\p.cer' WITH PRIVATE KEY (FILE = '{BACKUP_DIR}\p.pvk', ENCRYPTION BY PASSWORD = '{STRONG}')")).await;
    // A master key protecting certificates cannot be dropped.
    fails(&mut c, "USE master; DROP MASTER KEY", 15580).await;
    ok(&mut c, "CREATE DATABASE Empty; USE Empty").await;
    fails(&mut c, "USE Empty; DROP MASTER KEY", 15151).await;
    // Passwords can be added and dropped, but never the last encryption.
    ok(&mut c, "USE HR; ALTER MASTER KEY ADD ENCRYPTION BY PASSWORD = 'Second!Pass#22'; ALTER MASTER KEY DROP ENCRYPTION BY PASSWORD = 'Hr!Dmk#Pass1'").await;
    fails(
        &mut c,
        "USE HR; ALTER MASTER KEY DROP ENCRYPTION BY PASSWORD = 'Hr!Dmk#Pass1'",
        15313,
    )
    .await;
    ok(
        &mut c,
        "USE HR; ALTER MASTER KEY DROP ENCRYPTION BY SERVICE MASTER KEY",
    )
    .await;
    fails(
        &mut c,
        "USE HR; ALTER MASTER KEY DROP ENCRYPTION BY PASSWORD = 'Second!Pass#22'",
        15555,
    )
    .await;
    fails(&mut c, &format!(r"USE HR; BACKUP MASTER KEY TO FILE = '{BACKUP_DIR}\hr2.key' ENCRYPTION BY PASSWORD = '{STRONG}'"), 15581).await;
    ok(&mut c, &format!(r"USE HR; OPEN MASTER KEY DECRYPTION BY PASSWORD = 'Second!Pass#22'; BACKUP MASTER KEY TO FILE = '{BACKUP_DIR}\hr2.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
}

/// A database restored from another server: its master key's SMK copy was made by that
/// server's service master key. sys.databases still says "encrypted by server", but nothing
/// opens it automatically: BACKUP MASTER KEY is 15581 until OPEN MASTER KEY, and ALTER MASTER
/// KEY ADD ENCRYPTION BY SERVICE MASTER KEY (itself 15581 while the key is closed) repairs it
/// for good.
#[tokio::test]
async fn a_migrated_databases_master_key_opens_by_password_until_repaired() {
    let scenario = r#"
[[databases]]
name = "Migrated"
master_key = { protection = "migrated", password = "Migrated!Dmk#Pw1" }
certificates = [{ name = "OldSigning" }]
"#;
    let r = start_with(Some(scenario), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    let flag =
        "SELECT is_master_key_encrypted_by_server FROM sys.databases WHERE name = N'Migrated'";
    assert_eq!(ok(&mut c, flag).await[0][0].get::<bool, _>(0), Some(true));
    let file = format!(r"{BACKUP_DIR}\migrated.key");
    let backup =
        format!("BACKUP MASTER KEY TO FILE = '{file}' ENCRYPTION BY PASSWORD = '{STRONG}'");
    ok(&mut c, "USE Migrated").await;
    fails(&mut c, &backup, 15581).await;
    // The certificates it protects are out of reach too.
    fails(
        &mut c,
        &format!(r"BACKUP CERTIFICATE OldSigning TO FILE = '{BACKUP_DIR}\old.cer' WITH PRIVATE KEY (FILE = '{BACKUP_DIR}\old.pvk', ENCRYPTION BY PASSWORD = '{STRONG}')"),
        15581,
    )
    .await;
    fails(
        &mut c,
        "ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY",
        15581,
    )
    .await;
    // With its password: backed up, and nothing changed on the server.
    ok(&mut c, &format!("OPEN MASTER KEY DECRYPTION BY PASSWORD = 'Migrated!Dmk#Pw1'; {backup}; CLOSE MASTER KEY;")).await;
    assert!(host(&r, &file).is_file());
    fails(&mut c, &backup.replace("migrated.key", "again.key"), 15581).await;
    // The repair: opened, then this server's SMK copy added. From then on it opens by itself.
    ok(&mut c, "OPEN MASTER KEY DECRYPTION BY PASSWORD = 'Migrated!Dmk#Pw1'; ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY; CLOSE MASTER KEY;").await;
    ok(&mut c, &backup.replace("migrated.key", "repaired.key")).await;
    assert_eq!(ok(&mut c, flag).await[0][0].get::<bool, _>(0), Some(true));
}

/// CERTENCODED and CERTPRIVATEKEY return a certificate and its password-encrypted private key
/// over the connection (no file, so no file ACL), and CREATE CERTIFICATE ... FROM BINARY
/// re-creates it: same thumbprint, a working private key. CERTPRIVATEKEY gives NULL where the
/// caller cannot open the private key.
#[tokio::test]
async fn certificates_travel_as_binary_and_come_back_with_the_same_thumbprint() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    let rows = ok(
        &mut c,
        &format!("USE master; SELECT CERTENCODED(CERT_ID('TDE_Payroll')), CERTPRIVATEKEY(CERT_ID('TDE_Payroll'), '{STRONG}'), thumbprint FROM sys.certificates WHERE name = 'TDE_Payroll'"),
    )
    .await;
    let der = rows[0][0].get::<&[u8], _>(0).unwrap().to_vec();
    let pvk = rows[0][0].get::<&[u8], _>(1).unwrap().to_vec();
    let thumb = rows[0][0].get::<&[u8], _>(2).unwrap().to_vec();
    assert_eq!(der[0], 0x30, "DER");
    ok(&mut c, "CREATE DATABASE scratch").await;
    ok(
        &mut c,
        &format!("USE scratch; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '{STRONG}'"),
    )
    .await;
    fails(
        &mut c,
        &format!(
            "USE scratch; CREATE CERTIFICATE back FROM BINARY = 0x{} WITH PRIVATE KEY (BINARY = 0x{}, DECRYPTION BY PASSWORD = 'Wrong!Pass#123')",
            hex::encode(&der),
            hex::encode(&pvk)
        ),
        15465,
    )
    .await;
    ok(
        &mut c,
        &format!(
            "USE scratch; CREATE CERTIFICATE back FROM BINARY = 0x{} WITH PRIVATE KEY (BINARY = 0x{}, DECRYPTION BY PASSWORD = '{STRONG}')",
            hex::encode(&der),
            hex::encode(&pvk)
        ),
    )
    .await;
    let rows = ok(
        &mut c,
        "SELECT thumbprint, pvt_key_encryption_type FROM scratch.sys.certificates WHERE name = 'back'",
    )
    .await;
    assert_eq!(rows[0][0].get::<&[u8], _>(0).unwrap(), &thumb[..]);
    assert_eq!(s(&rows[0][0], 1).as_deref(), Some("MK"));
    // A password-protected key without its password, or a certificate nobody can see: NULL.
    let rows = ok(
        &mut c,
        &format!("USE Sales; SELECT CERTPRIVATEKEY(CERT_ID('SalesSigning'), '{STRONG}'), CERTPRIVATEKEY(CERT_ID('SalesSigning'), '{STRONG}', 'Signing!Cert#Pw1'), CERTENCODED(CERT_ID('NoSuchCert'))"),
    )
    .await;
    assert!(rows[0][0].get::<&[u8], _>(0).is_none());
    assert!(rows[0][0].get::<&[u8], _>(1).is_some());
    assert!(rows[0][0].get::<&[u8], _>(2).is_none());
}

/// The refusals the docs' error tables and permission sections name, seeded through T-SQL.
#[tokio::test]
async fn tde_drop_and_kill_refusals_carry_the_documented_numbers_and_permissions() {
    let r = start_with(Some(DEMO), mssql_emulator::TlsMode::On).await;
    let mut c = sa(&r).await;
    ok(&mut c, "CREATE DATABASE Ledger").await;
    let nums = |m: Vec<(i32, u8, String)>| m.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>();
    // System databases: 33102, and ALTER DATABASE's failures end with 5069.
    fails(&mut c, "USE master; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Payroll", 33102).await;
    assert_eq!(
        nums(messages(
            &r,
            "sa",
            "master",
            "ALTER DATABASE msdb SET ENCRYPTION ON"
        )),
        vec![(33102, 16), (5069, 16)]
    );
    // No key yet: 33106 to change the state, 33104 to alter or drop it.
    assert_eq!(
        nums(messages(
            &r,
            "sa",
            "master",
            "ALTER DATABASE Ledger SET ENCRYPTION ON"
        )),
        vec![(33106, 16), (5069, 16)]
    );
    fails(
        &mut c,
        "USE Ledger; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TDE_Payroll",
        33104,
    )
    .await;
    fails(&mut c, "USE Ledger; DROP DATABASE ENCRYPTION KEY", 33104).await;
    // A database that does not exist and one the login may not alter look alike: 5011.
    assert_eq!(
        nums(messages(
            &r,
            "sa",
            "master",
            "ALTER DATABASE NoSuchDb SET ENCRYPTION ON"
        )),
        vec![(5011, 14), (5069, 16)]
    );
    // Enabling twice, disabling twice.
    ok(&mut c, "USE Ledger; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Payroll").await;
    ok(&mut c, "ALTER DATABASE Ledger SET ENCRYPTION ON").await;
    fails(&mut c, "ALTER DATABASE Ledger SET ENCRYPTION ON", 33107).await;
    ok(&mut c, "ALTER DATABASE Ledger SET ENCRYPTION OFF").await;
    fails(&mut c, "ALTER DATABASE Ledger SET ENCRYPTION OFF", 33108).await;

    // CONTROL on the database is not enough for a key: VIEW DEFINITION on the certificate.
    ok(&mut c, &format!("CREATE LOGIN keeper WITH PASSWORD = '{STRONG}'; CREATE DATABASE Books; USE Books; CREATE USER keeper; GRANT CONTROL TO keeper; USE master; CREATE USER keeper;")).await;
    let mut k = login(&r, "keeper", STRONG).await;
    fails(&mut k, "USE Books; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Payroll", 15151).await;
    ok(
        &mut c,
        "USE master; GRANT VIEW DEFINITION ON CERTIFICATE::TDE_Payroll TO keeper",
    )
    .await;
    ok(&mut k, "USE Books; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Payroll").await;

    // DROP CERTIFICATE and DROP SYMMETRIC KEY need CONTROL on the securable; the class's
    // ALTER ANY is not enough.
    ok(&mut c, &format!("CREATE DATABASE Shop; USE Shop; CREATE CERTIFICATE Old ENCRYPTION BY PASSWORD = '{STRONG}' WITH SUBJECT = 'old'; CREATE SYMMETRIC KEY Card WITH ALGORITHM = AES_256 ENCRYPTION BY PASSWORD = '{STRONG}'; CREATE USER keeper; GRANT ALTER ANY CERTIFICATE TO keeper; GRANT ALTER ANY SYMMETRIC KEY TO keeper; GRANT VIEW DEFINITION TO keeper")).await;
    fails(&mut k, "USE Shop; DROP CERTIFICATE Old", 15247).await;
    fails(&mut k, "USE Shop; DROP SYMMETRIC KEY Card", 15247).await;
    ok(&mut c, "USE Shop; GRANT CONTROL ON CERTIFICATE::Old TO keeper; GRANT CONTROL ON SYMMETRIC KEY::Card TO keeper").await;
    ok(
        &mut k,
        "USE Shop; DROP CERTIFICATE Old; DROP SYMMETRIC KEY Card",
    )
    .await;
    let left = ok(
        &mut c,
        "USE Shop; SELECT COUNT(*) FROM sys.certificates WHERE name = 'Old'",
    )
    .await;
    assert_eq!(i32v(&left[0][0], 0), Some(0));

    // CLOSE MASTER KEY needs no permission.
    ok(&mut k, "USE Shop; CLOSE MASTER KEY").await;
    // KILL takes a literal session id.
    ok(&mut c, "GRANT ALTER ANY CONNECTION TO keeper").await;
    let e = fails(&mut c, "DECLARE @s int = 60; KILL @s", 102).await;
    assert_eq!(e.message(), "Incorrect syntax near '@s'.");

    // A compressed set cannot join an uncompressed media set: 3098, then 3013.
    let file = format!(r"{BACKUP_DIR}\ledger.bak");
    ok(
        &mut c,
        &format!("BACKUP DATABASE Ledger TO DISK = N'{file}'"),
    )
    .await;
    let m = messages(
        &r,
        "sa",
        "master",
        &format!("BACKUP DATABASE Ledger TO DISK = N'{file}' WITH COMPRESSION"),
    );
    assert_eq!(nums(m.clone()), vec![(3098, 16), (3013, 16)]);
    assert!(
        m[0].2
            .contains("either omit 'COMPRESSION' or specify 'NO_COMPRESSION'"),
        "{}",
        m[0].2
    );
}
