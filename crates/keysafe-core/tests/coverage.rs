//! Coverage over TCP: every retained backup in msdb with the certificate it needs, judged
//! against the server and Keysafe's history. A backup encryption certificate dropped while a
//! retained backup needs it is the loudest line; a rotated TDE certificate is still needed by
//! the backups taken before the rotation, found from the backup file itself.

use keysafe_core::backup::KeyRef;
use keysafe_core::connection::connect;
use keysafe_core::coverage::{self, NeedKind, Verdict};
use keysafe_core::run::{RunSettings, Selection};
use mssql_emulator::DEFAULT_SA_PASSWORD;
use std::time::Duration;

const DIR: &str = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup";

#[tokio::test]
async fn a_dropped_certificate_that_retained_backups_need_is_flagged_and_a_rotated_one_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let emu =
        keysafe_test_support::emulator(dir.path(), "[server]\nmachine_name = \"SQLCOV\"\n").await;
    let run_sql = |sql: &str| {
        emu.instance()
            .run_as("sa", sql)
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
    };
    run_sql(
        "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE';
CREATE CERTIFICATE BackupCert WITH SUBJECT = 'Backup encryption';
CREATE DATABASE Payroll;
CREATE DATABASE Sales;
USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert;
ALTER DATABASE Payroll SET ENCRYPTION ON;",
    );
    let pause = || std::thread::sleep(Duration::from_millis(30));
    pause();
    run_sql(&format!(
        r"BACKUP DATABASE Payroll TO DISK = N'{DIR}\Payroll-1.bak' WITH INIT"
    ));
    run_sql(&format!(
        r"BACKUP DATABASE Sales TO DISK = N'{DIR}\Sales.bak' WITH FORMAT, ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = BackupCert)"
    ));
    pause();
    // The TDE protector rotated; the backup encryption certificate dropped.
    run_sql(
        "USE master; CREATE CERTIFICATE TdeCert2 WITH SUBJECT = 'TDE 2026';
USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeCert2;
USE master; DROP CERTIFICATE BackupCert;",
    );
    pause();
    run_sql(&format!(
        r"BACKUP DATABASE Payroll TO DISK = N'{DIR}\Payroll-2.bak' WITH INIT"
    ));

    // Keysafe has a verified copy of TdeCert only.
    let medium = dir.path().join("medium");
    let o = keysafe_test_support::sql_options(&emu, "sa", DEFAULT_SA_PASSWORD);
    let settings = RunSettings::new(
        Selection::Keys(vec![KeyRef::Certificate {
            database: "master".into(),
            name: "TdeCert".into(),
        }]),
        &medium,
    );
    let (report, files) =
        keysafe_test_support::back_up_to_medium(&o, &settings, "Cov!Backup#2026x").await;
    let history = dir.path().join("history.jsonl");
    keysafe_core::report::record_run(&history, &report, &files.json).unwrap();
    let runs: Vec<_> = keysafe_core::history::read(&history)
        .unwrap()
        .iter()
        .filter_map(|e| e.run())
        .collect();

    let mut c = connect(&o).await.unwrap();
    let cov = coverage::coverage(&mut c, 35, &runs).await.unwrap();
    assert_eq!(cov.server, "SQLCOV");
    assert_eq!(cov.backups.len(), 3, "{:?}", cov.backups);
    assert!(!cov.all_covered());
    let thumb = |name: &str| {
        let st = emu.instance().state();
        st.database("master")
            .unwrap()
            .certificate(name)
            .map(|c| hex::encode_upper(&c.thumbprint))
    };
    let by_verdict = |v: Verdict| {
        cov.certificates
            .iter()
            .filter(|c| c.verdict == v)
            .collect::<Vec<_>>()
    };
    // Worst first: the dropped backup encryption certificate, with no copy anywhere.
    assert_eq!(
        cov.certificates[0].verdict,
        Verdict::Lost,
        "{:?}",
        cov.certificates
    );
    assert!(!cov.certificates[0].on_server);
    assert_eq!(cov.certificates[0].backups, 1);
    let sales = cov.backups.iter().find(|b| b.database == "Sales").unwrap();
    assert_eq!(sales.needs[0].kind, NeedKind::BackupEncryption);
    assert_eq!(sales.needs[0].thumbprint, cov.certificates[0].thumbprint);
    assert!(cov.lines()[0].starts_with("LOST"), "{:?}", cov.lines());
    assert_eq!(cov.summary.tone, keysafe_core::coverage::Tone::Bad);
    assert!(
        cov.summary
            .text
            .starts_with("1 kept backup cannot be restored anywhere"),
        "{}",
        cov.summary.text
    );
    // The rotated-away TDE certificate is still needed by the first Payroll backup, read from
    // its file; it is on the server and in Keysafe's copy.
    let covered = by_verdict(Verdict::Covered);
    assert_eq!(covered.len(), 1, "{:?}", cov.certificates);
    assert_eq!(Some(covered[0].thumbprint.clone()), thumb("TdeCert"));
    assert!(covered[0].copy_report.is_some());
    let first = cov
        .backups
        .iter()
        .find(|b| b.device.ends_with("Payroll-1.bak"))
        .unwrap();
    assert_eq!(first.needs[0].source, "the backup file");
    // The new TDE certificate protects the newest backup and has no copy yet.
    let only = by_verdict(Verdict::ServerOnly);
    assert_eq!(only.len(), 1);
    assert_eq!(Some(only[0].thumbprint.clone()), thumb("TdeCert2"));
    assert_eq!(only[0].name.as_deref(), Some("TdeCert2"));
}

/// A TDE database whose certificate rotates (TdeA -> TdeB -> TdeC, TdeA then dropped), on an
/// instance in `time_zone`, with backups between the changes.
async fn rotated(
    dir: &std::path::Path,
    time_zone: &str,
    seed_backups: &[&str],
) -> mssql_emulator::Emulator {
    let emu = keysafe_test_support::emulator(
        dir,
        &format!("[server]\nmachine_name = \"SQLTZ\"\ntime_zone = \"{time_zone}\"\n"),
    )
    .await;
    for sql in seed_backups {
        emu.instance()
            .run_as("sa", sql)
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        std::thread::sleep(Duration::from_millis(20));
    }
    emu
}

async fn coverage_of(emu: &mssql_emulator::Emulator) -> coverage::Coverage {
    let mut c = connect(&keysafe_test_support::sql_options(
        emu,
        "sa",
        DEFAULT_SA_PASSWORD,
    ))
    .await
    .unwrap();
    coverage::coverage(&mut c, 35, &[]).await.unwrap()
}

fn thumbprint(emu: &mssql_emulator::Emulator, name: &str) -> String {
    let st = emu.instance().state();
    hex::encode_upper(
        &st.database("master")
            .unwrap()
            .certificate(name)
            .unwrap_or_else(|| panic!("{name}"))
            .thumbprint,
    )
}

const SETUP: &str = "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TdeA WITH SUBJECT = 'TDE A';
CREATE CERTIFICATE TdeB WITH SUBJECT = 'TDE B';
CREATE DATABASE Payroll;
USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeA;
ALTER DATABASE Payroll SET ENCRYPTION ON;";

#[tokio::test]
async fn each_backup_is_judged_by_the_certificate_it_needs_east_and_west_of_utc() {
    for tz in ["+05:30", "-05:00"] {
        let dir = tempfile::tempdir().unwrap();
        let emu = rotated(
            dir.path(),
            tz,
            &[
                SETUP,
                &format!(r"BACKUP DATABASE Payroll TO DISK = N'{DIR}\before.bak' WITH INIT"),
                "USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeB;",
                &format!(r"BACKUP DATABASE Payroll TO DISK = N'{DIR}\after.bak' WITH INIT"),
            ],
        )
        .await;
        let (a, b) = (thumbprint(&emu, "TdeA"), thumbprint(&emu, "TdeB"));
        emu.instance()
            .run_as("sa", "USE master; DROP CERTIFICATE TdeA;")
            .unwrap();
        let cov = coverage_of(&emu).await;
        let needs = |file: &str| -> Vec<String> {
            cov.backups
                .iter()
                .find(|x| x.device.ends_with(file))
                .unwrap_or_else(|| panic!("{file}: {:?}", cov.backups))
                .needs
                .iter()
                .map(|n| n.thumbprint.clone())
                .collect()
        };
        // On a server east of UTC, comparing its local backup time with the UTC set_date
        // would credit the first backup to TdeB, which cannot restore it.
        assert_eq!(needs("before.bak"), vec![a.clone()], "{tz}");
        assert_eq!(needs("after.bak"), vec![b.clone()], "{tz}");
        let lost = cov.certificates.iter().find(|c| c.thumbprint == a).unwrap();
        assert_eq!(lost.verdict, Verdict::Lost, "{tz}");
        assert!(!cov.all_covered());
    }
}

#[tokio::test]
async fn three_backup_sets_in_one_media_file_are_judged_set_by_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = format!(r"{DIR}\appended.bak");
    let emu = rotated(
        dir.path(),
        "+01:00",
        &[
            SETUP,
            &format!(r"BACKUP DATABASE Payroll TO DISK = N'{file}' WITH INIT"),
            "USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeB;",
            &format!(r"BACKUP DATABASE Payroll TO DISK = N'{file}'"),
            &format!(r"BACKUP LOG Payroll TO DISK = N'{file}'"),
            // A third rotation: every set now predates the key's last change, so each is read
            // from the file, at its own position.
            "USE master; CREATE CERTIFICATE TdeC WITH SUBJECT = 'TDE C';
             USE Payroll; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TdeC;",
        ],
    )
    .await;
    let (a, b) = (thumbprint(&emu, "TdeA"), thumbprint(&emu, "TdeB"));
    let cov = coverage_of(&emu).await;
    let sets: Vec<&coverage::RetainedBackup> = cov
        .backups
        .iter()
        .filter(|x| x.device.ends_with("appended.bak"))
        .collect();
    assert_eq!(sets.len(), 3, "{:?}", cov.backups);
    let needs: Vec<Vec<String>> = sets
        .iter()
        .map(|s| s.needs.iter().map(|n| n.thumbprint.clone()).collect())
        .collect();
    // The log backup, the database's first, holds the log since the first full backup: the
    // part written before the change to TdeB is still TdeA's (KB4534430), so it needs both.
    assert_eq!(
        needs,
        vec![vec![a.clone()], vec![b.clone()], vec![b.clone(), a.clone()]]
    );
    assert!(sets
        .iter()
        .all(|s| s.needs[0].source.contains("backup file")));
}

#[tokio::test]
async fn coverage_works_with_exactly_its_documented_permissions_and_names_each_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let emu = rotated(
        dir.path(),
        "+00:00",
        &[
            SETUP,
            &format!(r"BACKUP DATABASE Payroll TO DISK = N'{DIR}\least.bak' WITH INIT"),
            "USE master; CREATE LOGIN auditor WITH PASSWORD = 'Read!Only#2026x';
             CREATE USER auditor FOR LOGIN auditor; GRANT VIEW DEFINITION TO auditor;
             GRANT VIEW SERVER STATE TO auditor; GRANT CREATE ANY DATABASE TO auditor;
             USE msdb; CREATE USER auditor FOR LOGIN auditor;
             GRANT SELECT ON OBJECT::dbo.backupset TO auditor; GRANT SELECT ON OBJECT::dbo.backupmediafamily TO auditor;",
        ],
    )
    .await;
    let auditor = keysafe_test_support::sql_options(&emu, "auditor", "Read!Only#2026x");
    let as_auditor = {
        let mut c = connect(&auditor).await.unwrap();
        coverage::coverage(&mut c, 35, &[]).await.unwrap()
    };
    let as_sa = coverage_of(&emu).await;
    assert_eq!(as_auditor.backups.len(), 1);
    assert_eq!(
        as_auditor.backups[0].needs[0].thumbprint,
        as_sa.backups[0].needs[0].thumbprint
    );
    assert_eq!(
        as_auditor.certificates[0].verdict,
        as_sa.certificates[0].verdict
    );
    for (revoke, grant, named) in [
        (
            "USE msdb; REVOKE SELECT ON OBJECT::dbo.backupset FROM auditor;",
            "USE msdb; GRANT SELECT ON OBJECT::dbo.backupset TO auditor;",
            "SELECT on msdb.dbo.backupset",
        ),
        (
            "USE msdb; REVOKE SELECT ON OBJECT::dbo.backupmediafamily FROM auditor;",
            "USE msdb; GRANT SELECT ON OBJECT::dbo.backupmediafamily TO auditor;",
            "SELECT on msdb.dbo.backupmediafamily",
        ),
        (
            "REVOKE VIEW SERVER STATE FROM auditor;",
            "GRANT VIEW SERVER STATE TO auditor;",
            "VIEW SERVER STATE",
        ),
        (
            "REVOKE CREATE ANY DATABASE FROM auditor;",
            "GRANT CREATE ANY DATABASE TO auditor;",
            "CREATE ANY DATABASE",
        ),
        (
            "USE master; REVOKE VIEW DEFINITION FROM auditor;",
            "USE master; GRANT VIEW DEFINITION TO auditor;",
            "VIEW DEFINITION in master",
        ),
    ] {
        emu.instance().run_as("sa", revoke).unwrap();
        let mut c = connect(&auditor).await.unwrap();
        let e = coverage::coverage(&mut c, 35, &[]).await.unwrap_err();
        assert_eq!(
            e.code,
            keysafe_core::ErrorCode::PermissionDenied,
            "{named}: {e:?}"
        );
        assert!(e.message.contains(named), "{named}: {}", e.message);
        assert!(
            e.next_step.as_deref().unwrap_or("").contains("GRANT"),
            "{e:?}"
        );
        emu.instance().run_as("sa", grant).unwrap();
    }
}
