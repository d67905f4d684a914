//! Key parity over TCP, across three emulated members of a group: the primary holds the TDE
//! certificate and the backup-encryption certificate, the DR server has neither, a third
//! server holds another certificate under the TDE certificate's name. Parity names each
//! member's state; the copy puts the missing ones on the DR server (proven by thumbprint)
//! and never replaces the other certificate; an unreachable member is never "complete".

use keysafe_core::parity::{self, Presence, Purpose};
use mssql_emulator::{Emulator, DEFAULT_SA_PASSWORD};

const DIR: &str = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup";

const PRIMARY: &str = "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TDE_2025 WITH SUBJECT = 'TDE 2025';
CREATE CERTIFICATE BackupCert WITH SUBJECT = 'Backup encryption';
CREATE DATABASE Payroll;
USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_2025;
ALTER DATABASE Payroll SET ENCRYPTION ON;";

fn options(emu: &Emulator) -> keysafe_core::connection::ConnectOptions {
    keysafe_test_support::sql_options(emu, "sa", DEFAULT_SA_PASSWORD)
}

fn presence<'a>(p: &'a parity::Parity, cert: &str, member: &str) -> &'a Presence {
    let c = p
        .certificates
        .iter()
        .find(|c| c.name == cert)
        .unwrap_or_else(|| panic!("{cert} in {p:#?}"));
    &c.members
        .iter()
        .find(|m| m.server == member)
        .unwrap_or_else(|| panic!("{member} in {c:#?}"))
        .presence
}

#[tokio::test]
async fn a_certificate_on_the_primary_only_is_missing_elsewhere_and_the_copy_makes_parity() {
    let (d1, d2, d3) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let primary = keysafe_test_support::seeded(d1.path(), "SQL01", PRIMARY).await;
    primary
        .instance()
        .run_as(
            "sa",
            &format!(
                r"BACKUP DATABASE Payroll TO DISK = N'{DIR}\Payroll.bak' WITH FORMAT, ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = BackupCert)"
            ),
        )
        .unwrap();
    let dr = keysafe_test_support::seeded(d2.path(), "SQLDR01", "SELECT 1;").await;
    let other = keysafe_test_support::seeded(
        d3.path(),
        "SQL03",
        "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Other!Key#2026x';
CREATE CERTIFICATE TDE_2025 WITH SUBJECT = 'Not the same certificate';",
    )
    .await;
    let group = [options(&primary), options(&dr), options(&other)];
    let [p, r, o] = [&group[0], &group[1], &group[2]].map(|x| x.server.to_string());

    let before = parity::check(&group, 35).await;
    assert!(!before.complete());
    assert_eq!(before.certificates.len(), 2, "{before:#?}");
    let tde = before
        .certificates
        .iter()
        .find(|c| c.name == "TDE_2025")
        .unwrap();
    assert_eq!(tde.purposes, [Purpose::Tde]);
    assert_eq!(tde.source.as_deref(), Some(p.as_str()));
    assert!(
        tde.why
            .iter()
            .any(|w| w == "protects the encryption key of Payroll on SQL01"),
        "{:?}",
        tde.why
    );
    let backup = before
        .certificates
        .iter()
        .find(|c| c.name == "BackupCert")
        .unwrap();
    assert_eq!(backup.purposes, [Purpose::BackupEncryption]);
    assert_eq!(presence(&before, "TDE_2025", &p), &Presence::Present);
    assert_eq!(presence(&before, "TDE_2025", &r), &Presence::Missing);
    assert!(matches!(
        presence(&before, "TDE_2025", &o),
        Presence::Different { .. }
    ));
    assert_eq!(presence(&before, "BackupCert", &r), &Presence::Missing);
    let risks = before.risks().join("\n");
    assert!(
        risks.contains(&format!("{r}: MISSING")) && risks.contains(&format!("{o}: DIFFERENT")),
        "{risks}"
    );
    // Per member, as Object Explorer Details and the report list them: the DR server lacks
    // TDE_2025 (critical, held by SQL01), SQL01 holds one the others lack (a warning).
    let on_dr = before.member_risks(&r);
    let missing = on_dr
        .iter()
        .find(|x| x.object == "master.TDE_2025")
        .expect("TDE_2025's risk on the DR server");
    assert_eq!(
        missing.severity,
        keysafe_core::inventory::Severity::Critical
    );
    assert!(
        missing
            .text
            .starts_with("key parity: MISSING here, held by SQL01; it protects the encryption key of Payroll on SQL01"),
        "{}",
        missing.text
    );
    let on_primary = before.member_risks(&p);
    let held = on_primary
        .iter()
        .find(|x| x.object == "master.TDE_2025")
        .expect("TDE_2025's risk on SQL01");
    assert_eq!(held.severity, keysafe_core::inventory::Severity::Warning);
    assert!(
        held.text.contains("SQLDR01 (MISSING)") && held.text.contains("SQL03 (DIFFERENT"),
        "{}",
        held.text
    );

    // The DR server has no master key in master: without a password for one, its copies
    // fail and say so; SQL03 has one and gets BackupCert; its own TDE_2025 is never replaced.
    let first = parity::copy_missing(&group, &before, None).await;
    assert_eq!(first.len(), 3, "{first:#?}");
    for c in &first {
        if c.to == r {
            assert!(!c.proven());
            assert_eq!(
                c.error.as_ref().unwrap().code,
                keysafe_core::ErrorCode::MasterKeyNotOpen
            );
        } else {
            assert_eq!(
                (c.to.as_str(), c.certificate.as_str()),
                (o.as_str(), "BackupCert")
            );
            assert!(c.proven(), "{c:#?}");
        }
    }
    let mid = parity::check(&group, 35).await;
    assert_eq!(presence(&mid, "TDE_2025", &r), &Presence::Missing);
    assert_eq!(presence(&mid, "BackupCert", &o), &Presence::Present);

    let mk = keysafe_core::Password::new("DR!Master#Key2026");
    let copies = parity::copy_missing(&group, &mid, Some(&mk)).await;
    assert_eq!(copies.len(), 2, "{copies:#?}");
    assert!(
        copies
            .iter()
            .all(|c| c.proven() && c.from == p && c.to == r),
        "{copies:#?}"
    );
    assert!(copies
        .iter()
        .any(|c| c.copy.as_ref().unwrap().created_master_key));
    let after = parity::check(&group, 35).await;
    assert_eq!(presence(&after, "TDE_2025", &r), &Presence::Present);
    assert_eq!(presence(&after, "BackupCert", &r), &Presence::Present);
    assert_eq!(presence(&after, "BackupCert", &o), &Presence::Present);
    assert!(matches!(
        presence(&after, "TDE_2025", &o),
        Presence::Different { .. }
    ));
    assert!(!after.complete(), "SQL03 still holds another TDE_2025");
    // The primary and the DR server alone are now at parity.
    assert!(parity::check(&group[..2], 35).await.complete());
}

#[tokio::test]
async fn an_unreachable_member_is_never_complete() {
    let d1 = tempfile::tempdir().unwrap();
    let primary = keysafe_test_support::seeded(d1.path(), "SQL01", PRIMARY).await;
    let gone = keysafe_test_support::unreachable(options(&primary));
    let group = [options(&primary), gone];
    let p = parity::check(&group, 35).await;
    assert!(!p.complete());
    assert!(p.members[1].error.is_some());
    assert!(matches!(
        presence(&p, "TDE_2025", &group[1].server.to_string()),
        Presence::Unknown { .. }
    ));
    assert!(
        p.risks()[0].contains("could not be read"),
        "{:?}",
        p.risks()
    );
}

/// An availability group on the primary lists SQLDR01 as a replica: checked without it,
/// parity names the replica left out and is not complete; with it, the group's replicas are
/// all compared.
#[tokio::test]
async fn a_replica_of_an_availability_group_left_out_of_the_check_is_named() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = keysafe_test_support::seeded(d1.path(), "SQL01", PRIMARY).await;
    primary
        .instance()
        .run_as(
            "sa",
            "CREATE AVAILABILITY GROUP [PayrollAG] FOR DATABASE Payroll REPLICA ON
  N'SQL01' WITH (ENDPOINT_URL = N'TCP://sql01:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = AUTOMATIC),
  N'SQLDR01' WITH (ENDPOINT_URL = N'TCP://sqldr01:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL)",
        )
        .unwrap();
    let dr = keysafe_test_support::seeded(d2.path(), "SQLDR01", "SELECT 1;").await;
    let third = tempfile::tempdir().unwrap();
    let other = keysafe_test_support::seeded(third.path(), "SQL03", "SELECT 1;").await;

    let without = parity::check(&[options(&primary), options(&other)], 35).await;
    assert_eq!(without.availability_groups.len(), 1);
    let g = &without.availability_groups[0];
    assert_eq!(g.name, "PayrollAG");
    assert_eq!(g.replicas, ["SQL01", "SQLDR01"]);
    assert_eq!(g.not_in_group, ["SQLDR01"]);
    assert!(!without.complete());
    assert!(
        without
            .risks()
            .iter()
            .any(|r| r.starts_with("SQLDR01 is a replica of availability group PayrollAG")),
        "{:?}",
        without.risks()
    );

    let with = parity::check(&[options(&primary), options(&dr)], 35).await;
    assert!(with.availability_groups[0].not_in_group.is_empty());
    // Still not complete: the DR replica lacks the TDE certificate.
    assert_eq!(
        presence(&with, "TDE_2025", &options(&dr).server.to_string()),
        &Presence::Missing
    );
}

/// Group-wide coverage: a backup taken on the primary and one taken on the DR server (its own
/// msdb) are each judged on every member; a third server without the TDE certificate is
/// where neither restores, until the copy puts the certificate there.
#[tokio::test]
async fn each_kept_backup_of_the_group_is_judged_on_every_member() {
    let (d1, d2, d3) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let primary = keysafe_test_support::seeded(d1.path(), "SQL01", PRIMARY).await;
    primary
        .instance()
        .run_as(
            "sa",
            &format!(r"BACKUP DATABASE Payroll TO DISK = N'{DIR}\Payroll-primary.bak' WITH INIT"),
        )
        .unwrap();
    let dr = keysafe_test_support::seeded(
        d2.path(),
        "SQLDR01",
        "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'DR!Master#Key2026';",
    )
    .await;
    let third = keysafe_test_support::seeded(d3.path(), "SQL03", "SELECT 1;").await;
    let group = [options(&primary), options(&dr), options(&third)];
    // The DR server gets the certificate and backs up its own copy of Payroll.
    parity::copy_missing(&group[..2], &parity::check(&group[..2], 35).await, None).await;
    dr.instance()
        .run_as(
            "sa",
            &format!(
                r"CREATE DATABASE Payroll; USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_2025;
ALTER DATABASE Payroll SET ENCRYPTION ON;
BACKUP DATABASE Payroll TO DISK = N'{DIR}\Payroll-dr.bak' WITH INIT"
            ),
        )
        .unwrap();

    let cov = parity::group_coverage(&group, 35, &[]).await;
    assert!(!cov.complete());
    assert_eq!(cov.backups.len(), 2, "{cov:#?}");
    let taken: Vec<&str> = cov.backups.iter().map(|b| b.taken_on.as_str()).collect();
    assert!(
        taken.contains(&"SQL01") && taken.contains(&"SQLDR01"),
        "{taken:?}"
    );
    for b in &cov.backups {
        assert_eq!(b.restores_on, ["SQL01", "SQLDR01"], "{b:#?}");
        assert_eq!(b.not_on, ["SQL03 (certificate TDE_2025 missing there)"]);
        assert!(
            b.sentence().contains(
                "restores on SQL01, SQLDR01, NOT on SQL03 (certificate TDE_2025 missing there)"
            ),
            "{}",
            b.sentence()
        );
    }
    let mk = keysafe_core::Password::new("Third!Master#Key2026");
    let copies = parity::copy_missing(&group, &parity::check(&group, 35).await, Some(&mk)).await;
    assert!(copies.iter().all(|c| c.proven()), "{copies:#?}");
    let after = parity::group_coverage(&group, 35, &[]).await;
    assert!(after.complete(), "{after:#?}");
    assert!(after
        .backups
        .iter()
        .all(|b| b.sentence().ends_with("restores on every member")));
}

/// A contained availability group (SQL Server 2022) keeps its TDE certificate in its own
/// master, which TDE checks beside the instance's: the inventory names the group and says
/// what that certificate protects; parity finds it present on the primary and missing on
/// the DR replica; the copy lands in the DR server's master, which TDE checks too, and
/// parity is met.
#[tokio::test]
async fn a_contained_groups_certificate_in_its_own_master_counts_for_parity() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = keysafe_test_support::seeded(
        d1.path(),
        "SQL01",
        "CREATE DATABASE Payroll;
CREATE AVAILABILITY GROUP [CAG] WITH (CONTAINED) FOR DATABASE Payroll
  REPLICA ON N'SQL01' WITH (ENDPOINT_URL = N'TCP://sql01:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = AUTOMATIC),
    N'SQLDR01' WITH (ENDPOINT_URL = N'TCP://sqldr01:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL);
USE CAG_master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Contained!Key#2026';
CREATE CERTIFICATE CagTde WITH SUBJECT = 'TDE in the contained master';
USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE CagTde;
ALTER DATABASE Payroll SET ENCRYPTION ON;",
    )
    .await;
    let dr = keysafe_test_support::seeded(d2.path(), "SQLDR01", "SELECT 1;").await;

    let mut c = keysafe_core::connection::connect(&options(&primary))
        .await
        .unwrap();
    let inv = keysafe_core::inventory::inventory(&mut c).await.unwrap();
    assert_eq!(inv.contained_groups, ["CAG"]);
    let tde = inv.tde_certificates();
    assert_eq!(tde.len(), 1, "{tde:#?}");
    assert_eq!(tde[0].0, "CAG_master");
    assert_eq!(tde[0].1.used_by_tde, ["Payroll"]);
    assert!(
        inv.risks
            .iter()
            .any(|r| r.object == "CAG_master.CagTde"
                && r.text.starts_with("protects TDE for Payroll")),
        "{:#?}",
        inv.risks
    );

    let group = [options(&primary), options(&dr)];
    let [p, r] = [&group[0], &group[1]].map(|x| x.server.to_string());
    let before = parity::check(&group, 35).await;
    assert_eq!(presence(&before, "CagTde", &p), &Presence::Present);
    assert_eq!(presence(&before, "CagTde", &r), &Presence::Missing);
    assert!(
        before
            .availability_groups
            .iter()
            .all(|g| g.not_in_group.is_empty()),
        "{:#?}",
        before.availability_groups
    );
    let copies = parity::copy_missing(
        &group,
        &before,
        Some(&keysafe_core::Password::new("DR!Master#Key2026")),
    )
    .await;
    assert!(copies.iter().all(|x| x.proven()), "{copies:#?}");
    let after = parity::check(&group, 35).await;
    assert!(after.complete(), "{after:#?}");

    // A backup taken in the group's environment (a session in one of its databases) is
    // recorded in CAG_msdb, not the instance's msdb: group coverage reads both, and judges it
    // on every member.
    let mut inside_o = options(&primary);
    inside_o.database = Some("Payroll".into());
    let mut inside = keysafe_core::connection::connect(&inside_o).await.unwrap();
    inside
        .execute(&format!(
            r"BACKUP DATABASE Payroll TO DISK = N'{DIR}\Payroll-inside.bak' WITH INIT"
        ))
        .await
        .unwrap();
    assert!(
        primary
            .instance()
            .query_as("sa", "SELECT database_name FROM msdb.dbo.backupset")
            .unwrap()
            .is_empty(),
        "not in the instance's msdb"
    );
    let cov = parity::group_coverage(&group, 35, &[]).await;
    let b = cov
        .backups
        .iter()
        .find(|b| b.device.ends_with("Payroll-inside.bak"))
        .unwrap_or_else(|| panic!("the backup from CAG_msdb: {cov:#?}"));
    assert_eq!(b.taken_on, "SQL01");
    assert_eq!(b.restores_on, ["SQL01", "SQLDR01"], "{}", b.sentence());
}
