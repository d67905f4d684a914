//! Permissions on one securable, over TCP: GRANT / DENY / REVOKE ON CERTIFICATE::,
//! SYMMETRIC KEY:: and msdb's history tables, shown in sys.database_permissions, and what
//! they open: CERTPRIVATEKEY only with CONTROL on the certificate (VIEW DEFINITION sees it,
//! nothing more), an encrypted backup read only with VIEW DEFINITION on its certificate.

mod common;
use common::*;

const STRONG: &str = "Str0ng!Backup#Pass";
const DIR: &str = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup";

const SETUP: &str = "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE';
CREATE CERTIFICATE BackupCert WITH SUBJECT = 'Backup encryption';
CREATE LOGIN clerk WITH PASSWORD = 'Desk!Pass#2026x';
CREATE USER clerk FOR LOGIN clerk;
USE msdb; CREATE USER clerk FOR LOGIN clerk;";

async fn private_key_is_given(clerk: &mut Conn) -> Option<bool> {
    let rows = ok(
        clerk,
        &format!("USE master; SELECT CASE WHEN CERTPRIVATEKEY(CERT_ID('TdeCert'), '{STRONG}') IS NULL THEN 0 ELSE 1 END"),
    )
    .await;
    rows.iter()
        .flatten()
        .next()
        .and_then(|r| i32v(r, 0))
        .map(|v| v == 1)
}

#[tokio::test]
async fn certprivatekey_needs_control_on_the_certificate_and_a_deny_wins() {
    let r = start().await;
    let mut sa = sa(&r).await;
    ok(&mut sa, SETUP).await;
    let mut clerk = login(&r, "clerk", "Desk!Pass#2026x").await;
    // Not visible at all: CERT_ID is NULL, so is the key.
    let cert_id = "USE master; SELECT CERT_ID('TdeCert')";
    assert_eq!(scalar_i32(&mut clerk, cert_id).await, None);
    assert_eq!(private_key_is_given(&mut clerk).await, Some(false));
    ok(
        &mut sa,
        "USE master; GRANT VIEW DEFINITION ON CERTIFICATE::TdeCert TO clerk;",
    )
    .await;
    // Seen, but its private key is not the clerk's to take.
    assert_eq!(private_key_is_given(&mut clerk).await, Some(false));
    assert_eq!(
        scalar_i32(
            &mut clerk,
            "USE master; SELECT HAS_PERMS_BY_NAME('TdeCert', 'CERTIFICATE', 'CONTROL')"
        )
        .await,
        Some(0)
    );
    ok(
        &mut sa,
        "USE master; GRANT CONTROL ON CERTIFICATE::TdeCert TO clerk;",
    )
    .await;
    assert_eq!(private_key_is_given(&mut clerk).await, Some(true));
    // Another certificate stays out of reach.
    assert_eq!(
        scalar_i32(&mut clerk, "USE master; SELECT CERT_ID('BackupCert')").await,
        None
    );
    let rows = ok(
        &mut sa,
        "USE master; SELECT p.class_desc, p.permission_name, p.state_desc, c.name FROM sys.database_permissions AS p
           JOIN sys.certificates AS c ON c.certificate_id = p.major_id
          WHERE p.class = 25 ORDER BY p.permission_name",
    )
    .await;
    let seen: Vec<(String, String, String, String)> = rows
        .iter()
        .flatten()
        .map(|r| {
            (
                s(r, 0).unwrap(),
                s(r, 1).unwrap(),
                s(r, 2).unwrap(),
                s(r, 3).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "CERTIFICATE".into(),
                "CONTROL".into(),
                "GRANT".into(),
                "TdeCert".into()
            ),
            (
                "CERTIFICATE".into(),
                "VIEW DEFINITION".into(),
                "GRANT".into(),
                "TdeCert".into()
            ),
        ]
    );
    ok(
        &mut sa,
        "USE master; DENY CONTROL ON CERTIFICATE::TdeCert TO clerk;",
    )
    .await;
    assert_eq!(private_key_is_given(&mut clerk).await, Some(false));
    ok(&mut sa, "USE master; REVOKE CONTROL ON CERTIFICATE::TdeCert FROM clerk; REVOKE VIEW DEFINITION ON CERTIFICATE::TdeCert FROM clerk;").await;
    assert_eq!(scalar_i32(&mut clerk, cert_id).await, None);
    // A certificate that does not exist, a permission a certificate does not take.
    fails(
        &mut sa,
        "USE master; GRANT CONTROL ON CERTIFICATE::NoSuchCert TO clerk;",
        15151,
    )
    .await;
    let e = run(
        &mut sa,
        "USE master; GRANT SELECT ON CERTIFICATE::TdeCert TO clerk;",
    )
    .await;
    assert!(e.is_err());
}

#[tokio::test]
async fn an_encrypted_backup_is_read_with_view_definition_on_its_certificate() {
    let r = start().await;
    let mut sa = sa(&r).await;
    ok(&mut sa, SETUP).await;
    ok(
        &mut sa,
        &format!(r"CREATE DATABASE Sales; BACKUP DATABASE Sales TO DISK = N'{DIR}\sales-enc.bak' WITH FORMAT, ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = BackupCert);
                  USE master; GRANT VIEW SERVER STATE TO clerk; ALTER SERVER ROLE dbcreator ADD MEMBER clerk;"),
    )
    .await;
    let mut clerk = login(&r, "clerk", "Desk!Pass#2026x").await;
    let verify = format!(r"RESTORE VERIFYONLY FROM DISK = N'{DIR}\sales-enc.bak'");
    fails(&mut clerk, &verify, 33111).await;
    ok(
        &mut sa,
        "USE master; GRANT VIEW DEFINITION ON CERTIFICATE::BackupCert TO clerk;",
    )
    .await;
    ok(&mut clerk, &verify).await;
    ok(
        &mut clerk,
        &format!(r"RESTORE FILELISTONLY FROM DISK = N'{DIR}\sales-enc.bak'"),
    )
    .await;
}

#[tokio::test]
async fn select_on_msdbs_history_is_granted_table_by_table() {
    let r = start().await;
    let mut sa = sa(&r).await;
    ok(&mut sa, SETUP).await;
    let mut clerk = login(&r, "clerk", "Desk!Pass#2026x").await;
    let read = "SELECT COUNT(*) FROM msdb.dbo.backupset";
    fails(&mut clerk, read, 229).await;
    ok(&mut sa, "USE msdb; GRANT SELECT ON dbo.backupset TO clerk;").await;
    ok(&mut clerk, read).await;
    fails(
        &mut clerk,
        "SELECT COUNT(*) FROM msdb.dbo.backupmediafamily",
        229,
    )
    .await;
    // db_datareader reads every table, unless one is denied.
    ok(&mut sa, "USE msdb; ALTER ROLE db_datareader ADD MEMBER clerk; DENY SELECT ON OBJECT::dbo.backupset TO clerk;").await;
    fails(&mut clerk, read, 229).await;
    ok(
        &mut clerk,
        "SELECT COUNT(*) FROM msdb.dbo.backupmediafamily",
    )
    .await;
    let rows = ok(
        &mut sa,
        "USE msdb; SELECT class_desc, permission_name, state FROM sys.database_permissions WHERE class = 1",
    )
    .await;
    let seen: Vec<String> = rows
        .iter()
        .flatten()
        .map(|r| {
            format!(
                "{} {} {}",
                s(r, 0).unwrap(),
                s(r, 1).unwrap(),
                s(r, 2).unwrap()
            )
        })
        .collect();
    assert_eq!(seen, vec!["OBJECT_OR_COLUMN SELECT D"]);
}
