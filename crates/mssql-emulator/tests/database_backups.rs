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
    assert_eq!(
        s(&header[0][0], 9).as_deref(),
        Some("Payroll"),
        "DatabaseName"
    );
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
    assert_eq!(
        s(&header[0][0], 15).as_deref(),
        Some("aes_256"),
        "KeyAlgorithm"
    );
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
