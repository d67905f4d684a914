//! A TDE certificate's rotation over TCP across a primary and its DR server: the new
//! certificate is on the medium (verified) and on the DR server (same thumbprint) before
//! the database uses it; the old one stays; the history records it. An unreachable member
//! stops the plan before anything changes.

use keysafe_core::backup::Secrets;
use keysafe_core::report::Custody;
use keysafe_core::rotation::{self, RotationRequest};
use keysafe_core::run::{RunRequest, RunSettings, Selection};
use mssql_emulator::{Emulator, DEFAULT_SA_PASSWORD};
use std::path::Path;

const DIR: &str = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup";

const PRIMARY: &str = "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TDE_2025 WITH SUBJECT = 'TDE 2025';
CREATE DATABASE Payroll;
USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_2025;
ALTER DATABASE Payroll SET ENCRYPTION ON;";

const DR: &str = "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'DR!Master#Key2026';";

fn options(emu: &Emulator) -> keysafe_core::connection::ConnectOptions {
    keysafe_test_support::sql_options(emu, "sa", DEFAULT_SA_PASSWORD)
}

fn request(members: Vec<keysafe_core::connection::ConnectOptions>, dir: &Path) -> RotationRequest {
    RotationRequest {
        members,
        certificate: "TDE_2025".into(),
        new_name: "TDE_2026".into(),
        subject: Some("TDE 2026".into()),
        expiry: chrono::NaiveDate::from_ymd_opt(2027, 12, 31),
        take_log_backups: false,
        log_backup_dir: None,
        backup: RunRequest {
            targets: vec![],
            settings: RunSettings::new(Selection::All, dir.join("medium")),
            concurrency: 1,
            custody: Custody::default(),
            report_dir: dir.join("reports"),
            history: dir.join("history.jsonl"),
            instance_splits: Default::default(),
            parity_risks: Default::default(),
        },
    }
}

fn sql(emu: &Emulator, q: &str) -> Vec<Vec<String>> {
    emu.instance()
        .query_as("sa", q)
        .unwrap_or_else(|e| panic!("{q}: {e:?}"))
}

#[tokio::test]
async fn the_new_certificate_is_on_the_medium_and_every_member_before_the_database_uses_it() {
    let (d1, d2, work) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let primary = keysafe_test_support::seeded(d1.path(), "SQL01", PRIMARY).await;
    // A backup taken before the rotation: it needs TDE_2025 for as long as it is kept.
    primary
        .instance()
        .run_as(
            "sa",
            r"BACKUP DATABASE Payroll TO DISK = N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Payroll-before.bak' WITH INIT",
        )
        .unwrap();
    let dr = keysafe_test_support::seeded(d2.path(), "SQLDR01", DR).await;
    let req = request(vec![options(&primary), options(&dr)], work.path());
    let secrets = Secrets::chosen(keysafe_core::Password::new("Rotate!Backup#2026"), None).unwrap();
    let heard = std::sync::Mutex::new(Vec::new());
    let r = rotation::rotate(&req, &secrets, None, &|s| {
        heard.lock().unwrap().push(s.to_string())
    })
    .await;
    assert!(r.succeeded(), "{r:#?}");
    assert_eq!(heard.lock().unwrap().len(), rotation::STEPS.len());
    assert_eq!(r.databases, ["Payroll"]);
    let new = r.new_thumbprint.clone().unwrap();
    assert_ne!(new, r.old_thumbprint);

    // The database's key names the new certificate; the old one is still in master.
    let thumb = |emu: &Emulator, name: &str| {
        sql(emu, &format!("SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM master.sys.certificates WHERE name = '{name}'"))
            .first()
            .map(|r| r[0].clone())
    };
    let dek = sql(&primary, "SELECT CONVERT(nvarchar(64), encryptor_thumbprint, 2) FROM sys.dm_database_encryption_keys WHERE DB_NAME(database_id) = 'Payroll'");
    assert_eq!(dek[0][0], new);
    assert_eq!(
        thumb(&primary, "TDE_2025").as_deref(),
        Some(r.old_thumbprint.as_str())
    );
    assert_eq!(thumb(&dr, "TDE_2026").as_deref(), Some(new.as_str()));
    // On the medium, verified, with its report.
    let files = keysafe_test_support::files_under(&work.path().join("medium"));
    assert!(
        files
            .iter()
            .any(|p| p.to_string_lossy().contains("TDE_2026")),
        "{files:?}"
    );
    // In the history, with the old one retiring.
    let entries = keysafe_core::history::load(&work.path().join("history.jsonl"))
        .unwrap()
        .vouched();
    let rows = keysafe_core::history::rows(&entries);
    assert!(
        rows.iter()
            .any(|r| r.what.starts_with("rotation of TDE_2025 to TDE_2026")
                && r.what.contains("TDE_2025 retiring")),
        "{rows:#?}"
    );

    // The retiring certificate cannot be dropped while the backup taken before is kept...
    let mut c = keysafe_core::connection::connect(&options(&primary))
        .await
        .unwrap();
    let history = work.path().join("history.jsonl");
    let kept = rotation::retire_check(&mut c, "SQL01", "TDE_2025", 35, &[])
        .await
        .unwrap();
    assert!(kept.protects.is_empty(), "{kept:#?}");
    assert!(
        kept.needed_by
            .iter()
            .any(|n| n.starts_with("Payroll's full backup of")),
        "{kept:#?}"
    );
    let e = rotation::drop_retired(&mut c, &kept, &history)
        .await
        .unwrap_err();
    assert!(
        e.message
            .contains("kept backups need it: Payroll's full backup"),
        "{}",
        e.message
    );
    assert_eq!(
        thumb(&primary, "TDE_2025").as_deref(),
        Some(r.old_thumbprint.as_str())
    );
    // ...nor the new one, which protects the database.
    let current = rotation::retire_check(&mut c, "SQL01", "TDE_2026", 35, &[])
        .await
        .unwrap();
    assert_eq!(current.protects, ["Payroll"]);
    assert!(!current.may_drop());
    // The active log was written before the change: even with no backup kept, the next log
    // backup will need TDE_2025.
    let active = rotation::retire_check(&mut c, "SQL01", "TDE_2025", 0, &[])
        .await
        .unwrap();
    assert!(
        active.needed_by.iter().any(|n| n
            == "Payroll's active log is still encrypted by it: take a log backup (which will need it too)"),
        "{active:#?}"
    );
    // That log backup, kept, needs both certificates: on the DR server, which has only the
    // new one, RESTORE VERIFYONLY of it fails (33111) until TDE_2025 is there too.
    let log = format!(r"{DIR}\Payroll.trn");
    primary
        .instance()
        .run_as(
            "sa",
            &format!("BACKUP LOG Payroll TO DISK = N'{log}' WITH INIT"),
        )
        .unwrap();
    // Group coverage says so too: the log backup restores on SQL01 only, since the DR
    // server has the new certificate but not the old one the span also needs.
    let cov =
        keysafe_core::parity::group_coverage(&[options(&primary), options(&dr)], 35, &[]).await;
    let spanning = cov
        .backups
        .iter()
        .find(|b| b.device.ends_with("Payroll.trn"))
        .unwrap_or_else(|| panic!("the log backup in {cov:#?}"));
    assert_eq!(spanning.restores_on, ["SQL01"], "{}", spanning.sentence());
    assert!(
        spanning
            .sentence()
            .contains("NOT on SQLDR01 (certificate TDE_2025 missing there)"),
        "{}",
        spanning.sentence()
    );
    let kept = rotation::retire_check(&mut c, "SQL01", "TDE_2025", 35, &[])
        .await
        .unwrap();
    assert!(
        kept.needed_by
            .iter()
            .any(|n| n.starts_with("Payroll's log backup of")
                && n.ends_with("it holds log written before the certificate changed")),
        "{kept:#?}"
    );
    let on_dr = dr.instance().host_path(&log).unwrap();
    std::fs::create_dir_all(on_dr.parent().unwrap()).unwrap();
    std::fs::copy(primary.instance().host_path(&log).unwrap(), &on_dr).unwrap();
    let mut d = keysafe_core::connection::connect(&options(&dr))
        .await
        .unwrap();
    let e = keysafe_core::recovery::rehearse(&mut d, &log)
        .await
        .unwrap_err();
    assert_eq!(e.server.as_ref().map(|m| m.number), Some(33111), "{e:?}");
    keysafe_core::recovery::copy_certificate(&mut c, &mut d, "master", "TDE_2025", "master", None)
        .await
        .unwrap();
    keysafe_core::recovery::rehearse(&mut d, &log)
        .await
        .unwrap();

    // Once the retention has passed (the test moves msdb's clock 36 days on, past the
    // 35-day window) and the log has moved on, it goes, and the history says so.
    primary.instance().age_backup_history(36).unwrap();
    let passed = rotation::retire_check(&mut c, "SQL01", "TDE_2025", 35, &[])
        .await
        .unwrap();
    assert!(passed.may_drop(), "{passed:#?}");
    rotation::drop_retired(&mut c, &passed, &history)
        .await
        .unwrap();
    assert_eq!(thumb(&primary, "TDE_2025"), None);
    let rows =
        keysafe_core::history::rows(&keysafe_core::history::load(&history).unwrap().vouched());
    assert!(rows
        .iter()
        .any(|r| r.what == "certificate TDE_2025 dropped on SQL01: no kept backup needed it"));
}

#[tokio::test]
async fn an_unreachable_member_stops_the_rotation_before_anything_changes() {
    let (d1, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = keysafe_test_support::seeded(d1.path(), "SQL01", PRIMARY).await;
    let gone = keysafe_test_support::unreachable(options(&primary));
    let req = request(vec![options(&primary), gone], work.path());
    let secrets = Secrets::chosen(keysafe_core::Password::new("Rotate!Backup#2026"), None).unwrap();
    let r = rotation::rotate(&req, &secrets, None, &|_| {}).await;
    assert!(!r.succeeded());
    let e = r.error.unwrap();
    assert!(
        e.message.starts_with("Nothing was changed"),
        "{}",
        e.message
    );
    assert!(r.steps.iter().all(|s| !s.done));
    assert!(sql(
        &primary,
        "SELECT name FROM master.sys.certificates WHERE name = 'TDE_2026'"
    )
    .is_empty());
    assert!(!work.path().join("medium").exists());
    assert!(!work.path().join("history.jsonl").exists());
}

/// A key changed after the last log backup: the rotation stops before anything changes and
/// says why (SQL Server refuses a third change without a log backup between); asked to, it
/// takes that log backup into the instance's default backup folder before the change.
#[tokio::test]
async fn a_key_change_pending_a_log_backup_stops_the_rotation_unless_it_takes_one() {
    let (d1, d2, work) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    // A server five hours east of UTC: msdb keeps its local time, the DMV UTC, so a log
    // backup taken before the changes reads as later than them unless both are made UTC.
    // Two changes since it: the emulator (as SQL Server) refuses a third until a log backup.
    let primary = keysafe_test_support::emulator(
        d1.path(),
        "[server]\nmachine_name = \"SQL01\"\ntime_zone = \"+05:00\"\n",
    )
    .await;
    primary
        .instance()
        .run_as(
            "sa",
            &format!(
                r"{PRIMARY}
BACKUP DATABASE Payroll TO DISK = N'{DIR}\Payroll-full.bak' WITH INIT;
BACKUP LOG Payroll TO DISK = N'{DIR}\Payroll-before.trn' WITH INIT;
USE master; CREATE CERTIFICATE TDE_2025B WITH SUBJECT = 'TDE 2025 B';
CREATE CERTIFICATE TDE_2025C WITH SUBJECT = 'TDE 2025 C';
USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TDE_2025B;
ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TDE_2025C;"
            ),
        )
        .unwrap();
    let dr = keysafe_test_support::seeded(d2.path(), "SQLDR01", DR).await;
    let mut req = request(vec![options(&primary), options(&dr)], work.path());
    req.certificate = "TDE_2025C".into();
    let secrets = Secrets::chosen(keysafe_core::Password::new("Rotate!Backup#2026"), None).unwrap();
    let logs = || {
        sql(
            &primary,
            "SELECT physical_device_name FROM msdb.dbo.backupmediafamily AS f JOIN msdb.dbo.backupset AS s ON s.media_set_id = f.media_set_id WHERE s.type = 'L' AND s.database_name = 'Payroll' AND f.physical_device_name LIKE N'%keysafe%'",
        )
    };

    let r = rotation::rotate(&req, &secrets, None, &|_| {}).await;
    let e = r.error.clone().expect("stopped");
    assert!(
        e.message
            .starts_with("Nothing was changed: the encryption key of Payroll (changed "),
        "{}",
        e.message
    );
    assert!(e.next_step.unwrap().contains("--log-backup"));
    assert!(r.steps.iter().all(|s| !s.done));
    assert!(sql(
        &primary,
        "SELECT name FROM master.sys.certificates WHERE name = 'TDE_2026'"
    )
    .is_empty());
    assert!(logs().is_empty());

    req.take_log_backups = true;
    let r = rotation::rotate(&req, &secrets, None, &|_| {}).await;
    assert!(r.succeeded(), "{r:#?}");
    let taken = logs();
    assert_eq!(taken.len(), 1, "{taken:?}");
    let file = &taken[0][0];
    assert!(
        file.starts_with(DIR) && file.contains(r"\Payroll_LOG_keysafe_") && file.ends_with(".trn"),
        "{file}"
    );
    assert!(r.steps[4].detail.contains(file.as_str()), "{:#?}", r.steps);
    assert!(primary.instance().host_path(file).unwrap().is_file());
    let dek = sql(&primary, "SELECT CONVERT(nvarchar(64), encryptor_thumbprint, 2) FROM sys.dm_database_encryption_keys WHERE DB_NAME(database_id) = 'Payroll'");
    assert_eq!(Some(&dek[0][0]), r.new_thumbprint.as_ref());
}

/// An expired TDE certificate is a date, not an outage: SQL Server does not enforce expiry
/// for database encryption, so the database is backed up and its backup verifies; Keysafe
/// says exactly that (an Info risk, not a warning) and points to a rotation.
#[tokio::test]
async fn an_expired_tde_certificate_keeps_working_and_keysafe_says_so() {
    let d = tempfile::tempdir().unwrap();
    let seed = "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TDE_2020 WITH SUBJECT = 'TDE 2020', START_DATE = '20200101', EXPIRY_DATE = '20210101';
CREATE DATABASE Payroll;
USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_2020;
ALTER DATABASE Payroll SET ENCRYPTION ON;";
    let primary = keysafe_test_support::seeded(d.path(), "SQL01", seed).await;
    let file = format!(r"{DIR}\Payroll-expired.bak");
    let i = primary.instance();
    i.run_as(
        "sa",
        &format!("BACKUP DATABASE Payroll TO DISK = N'{file}' WITH INIT"),
    )
    .unwrap();
    i.run_as("sa", &format!("RESTORE VERIFYONLY FROM DISK = N'{file}'"))
        .unwrap();
    let mut c = keysafe_core::connection::connect(&options(&primary))
        .await
        .unwrap();
    let inv = keysafe_core::inventory::inventory(&mut c).await.unwrap();
    let risk = inv
        .risks
        .iter()
        .find(|r| r.object == "master.TDE_2020" && r.text.starts_with("expired"))
        .expect("the expiry is named");
    assert_eq!(risk.severity, keysafe_core::inventory::Severity::Info);
    assert!(
        risk.text
            .starts_with("expired on 2021-01-01; nothing stops then")
            && risk.text.contains("Payroll stays readable"),
        "{}",
        risk.text
    );
}

/// A backup-encryption certificate is rotated the way Microsoft advises (a new certificate,
/// not a renewed one): the new one on the medium and every member, no database key
/// changed, the step naming what the backup jobs need; the old one stays, needed by the
/// backups encrypted with it.
#[tokio::test]
async fn a_backup_encryption_certificate_rotates_without_touching_a_database() {
    let (d1, d2, work) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let primary = keysafe_test_support::seeded(
        d1.path(),
        "SQL01",
        "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE Backup_2025 WITH SUBJECT = 'Backup encryption 2025';
CREATE DATABASE Sales;",
    )
    .await;
    let old_backup = format!(r"{DIR}\Sales-2025.bak");
    primary
        .instance()
        .run_as(
            "sa",
            &format!("BACKUP DATABASE Sales TO DISK = N'{old_backup}' WITH INIT, ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = Backup_2025)"),
        )
        .unwrap();
    let dr = keysafe_test_support::seeded(d2.path(), "SQLDR01", DR).await;
    let mut req = request(vec![options(&primary), options(&dr)], work.path());
    req.certificate = "Backup_2025".into();
    req.new_name = "Backup_2027".into();
    let secrets = Secrets::chosen(keysafe_core::Password::new("Rotate!Backup#2026"), None).unwrap();
    let r = rotation::rotate(&req, &secrets, None, &|_| {}).await;
    assert!(r.succeeded(), "{r:#?}");
    assert!(r.backup_encryption);
    assert!(r.databases.is_empty());
    assert!(
        r.steps[5]
            .detail
            .contains("SERVER CERTIFICATE = [Backup_2027]")
            && r.steps[5]
                .detail
                .contains("Keep Backup_2025 for the 1 backup"),
        "{}",
        r.steps[5].detail
    );
    let on_dr = sql(
        &dr,
        "SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM master.sys.certificates WHERE name = 'Backup_2027'",
    );
    assert_eq!(on_dr[0][0], r.new_thumbprint.clone().unwrap());
    // The jobs can use it now; the old certificate is still needed by the old backup.
    primary
        .instance()
        .run_as(
            "sa",
            &format!(r"BACKUP DATABASE Sales TO DISK = N'{DIR}\Sales-2027.bak' WITH INIT, ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = Backup_2027)"),
        )
        .unwrap();
    let mut c = keysafe_core::connection::connect(&options(&primary))
        .await
        .unwrap();
    let kept = rotation::retire_check(&mut c, "SQL01", "Backup_2025", 35, &[])
        .await
        .unwrap();
    assert!(!kept.may_drop(), "{kept:#?}");
    assert!(
        kept.needed_by
            .iter()
            .any(|n| n.starts_with("Sales's full backup of")),
        "{kept:#?}"
    );
}
