//! Restore from a Keysafe medium onto a second instance, over real TCP: a certificate (no
//! file on the server: FROM BINARY), its database's master key (the file placed in the
//! server's folder and hashed by the server first), and the service master key (the file
//! copied by "the administrator" while Keysafe waits for the server to see it). Each is
//! proven on the target; a medium copy with one byte changed is refused before anything is
//! sent.

use keysafe_core::backup::KeyRef;
use keysafe_core::connection::{connect, SqlConnection};
use keysafe_core::restore::{self, Placement, RestoreRequest, RestoreSecrets};
use keysafe_core::run::{RunSettings, Selection};
use keysafe_core::tsql::CertificateFormat;
use keysafe_core::{ErrorCode, Password};
use mssql_emulator::{Emulator, DEFAULT_SA_PASSWORD};
use std::path::{Path, PathBuf};
use std::time::Duration;

const BACKUP_PW: &str = "Str0ng!Backup#Pass";
const FOLDER: &str =
    r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Restore";

use keysafe_test_support::seeded as instance;

async fn sa(e: &Emulator) -> SqlConnection {
    connect(&keysafe_test_support::sql_options(
        e,
        "sa",
        DEFAULT_SA_PASSWORD,
    ))
    .await
    .unwrap()
}

/// Backs up every key of `e` to `medium` (certificates as .cer + .pvk) and writes the report.
async fn back_up(e: &Emulator, medium: &Path) -> PathBuf {
    let mut s = RunSettings::new(Selection::All, medium);
    s.backup.format = Some(CertificateFormat::Pvk);
    let target = keysafe_test_support::sql_options(e, "sa", DEFAULT_SA_PASSWORD);
    keysafe_test_support::back_up_to_medium(&target, &s, BACKUP_PW)
        .await
        .1
        .json
}

fn request(report: &Path, key: KeyRef, placement: Placement) -> RestoreRequest {
    RestoreRequest {
        report: report.to_path_buf(),
        from_server: None,
        key,
        target_database: None,
        server_dir: Some(FOLDER.into()),
        placement,
        force: false,
        add_service_master_key: false,
        verify_backup: None,
        confirmed_instance: None,
    }
}

async fn one(c: &mut SqlConnection, sql: &str) -> Option<String> {
    c.rows(sql)
        .await
        .unwrap()
        .first()
        .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
}

/// SQLA with Sales' master key backed up to a medium, SQLB with an empty Sales: the
/// medium's report and the master key's copy on it.
async fn sales_master_key_on_a_medium() -> (
    tempfile::TempDir,
    Emulator,
    Emulator,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let dir = tempfile::tempdir().unwrap();
    let a = instance(
        &dir.path().join("a"),
        "SQLA",
        "CREATE DATABASE Sales;\nUSE Sales;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dmk!Passw0rd#2026';",
    )
    .await;
    let b = instance(&dir.path().join("b"), "SQLB", "CREATE DATABASE Sales;").await;
    let medium = dir.path().join("medium");
    let report = back_up(&a, &medium).await;
    let copy = keysafe_core::recovery::check_medium(&report)
        .unwrap()
        .copies
        .into_iter()
        .find(|c| c.key == "Sales database master key")
        .unwrap()
        .path;
    (dir, a, b, report, copy)
}

#[tokio::test]
async fn every_key_kind_is_restored_on_a_second_instance_and_proven() {
    let dir = tempfile::tempdir().unwrap();
    let a = instance(
        &dir.path().join("a"),
        "SQLA",
        "CREATE DATABASE Sales;\nUSE Sales;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dmk!Passw0rd#2026';\nCREATE CERTIFICATE SalesCert WITH SUBJECT = 'Sales signing';",
    )
    .await;
    let b = instance(&dir.path().join("b"), "SQLB", "CREATE DATABASE Sales;").await;
    let medium = dir.path().join("medium");
    let report = back_up(&a, &medium).await;
    let mut cb = sa(&b).await;
    let pw = Password::new(BACKUP_PW);
    let local = b.instance().host_path(FOLDER).unwrap();
    let mut steps = Vec::new();

    // The certificate: Sales on B has no master key to protect its private key.
    let cert = KeyRef::Certificate {
        database: "Sales".into(),
        name: "SalesCert".into(),
    };
    let req = request(&report, cert.clone(), Placement::Local(local.clone()));
    let no_key = restore::restore(
        &mut cb,
        &req,
        &RestoreSecrets {
            backup: &pw,
            master_key: None,
        },
        &mut |p| steps.push(p),
    )
    .await
    .unwrap_err();
    assert_eq!(no_key.code, ErrorCode::MasterKeyNotOpen, "{no_key:?}");
    let new_dmk = Password::new("New!MasterKey#2026");
    let r = restore::restore(
        &mut cb,
        &req,
        &RestoreSecrets {
            backup: &pw,
            master_key: Some(&new_dmk),
        },
        &mut |p| steps.push(p),
    )
    .await
    .unwrap();
    assert!(r.created_master_key, "{r:?}");
    assert_eq!(r.from_server, "SQLA");
    assert_eq!(r.target_server, "SQLB");
    let source_thumb = one(
        &mut sa(&a).await,
        "USE Sales; SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM sys.certificates WHERE name = N'SalesCert'",
    )
    .await
    .unwrap();
    assert_eq!(
        r.expected_thumbprint.as_deref(),
        Some(source_thumb.as_str())
    );
    assert_eq!(r.actual_thumbprint.as_deref(), Some(source_thumb.as_str()));
    assert!(
        r.files.iter().all(|f| f.placed_by == "not needed"),
        "a .cer + .pvk needs no file on the server: {r:?}"
    );
    assert!(!r.statement.contains(BACKUP_PW), "{}", r.statement);
    let on_b = one(
        &mut cb,
        "USE Sales; SELECT pvt_key_encryption_type FROM sys.certificates WHERE name = N'SalesCert'",
    )
    .await;
    assert_eq!(
        on_b.as_deref(),
        Some("MK"),
        "the private key is there, under B's master key"
    );

    // The database master key: the file goes into B's folder, B hashes it, then RESTORE.
    let dmk = KeyRef::DatabaseMasterKey {
        database: "Sales".into(),
    };
    let restored_pw = Password::new("Restored!Dmk#2026");
    let mut req = request(&report, dmk, Placement::Local(local.clone()));
    req.add_service_master_key = true;
    let r = restore::restore(
        &mut cb,
        &req,
        &RestoreSecrets {
            backup: &pw,
            master_key: Some(&restored_pw),
        },
        &mut |p| steps.push(p),
    )
    .await
    .unwrap();
    assert_eq!(r.files.len(), 1);
    assert_eq!(r.files[0].placed_by, "keysafe");
    assert!(r.files[0].server_path.starts_with(FOLDER), "{r:?}");
    assert!(r.proof.contains("all 1 certificate"), "{}", r.proof);
    assert_eq!(r.opens_by_itself, Some(true), "{r:?}");
    assert!(
        std::fs::read_dir(&local).unwrap().next().is_none(),
        "what Keysafe placed is removed"
    );
    // The restored key is A's: its GUID on B equals A's.
    let guid = "USE Sales; SELECT CONVERT(nvarchar(36), key_guid) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##'";
    assert_eq!(one(&mut cb, guid).await, one(&mut sa(&a).await, guid).await);

    // The service master key: nothing here reaches B's folder, so the administrator copies
    // the file while Keysafe waits for B to read the same bytes.
    let smk = KeyRef::ServiceMasterKey;
    let mut req = request(
        &report,
        smk,
        Placement::Manual {
            wait: Duration::from_secs(30),
        },
    );
    // Not without the instance's name typed: refused before anything is placed or sent.
    let unconfirmed = restore::restore(
        &mut cb,
        &req,
        &RestoreSecrets {
            backup: &pw,
            master_key: None,
        },
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(unconfirmed.code, ErrorCode::NotConfirmed, "{unconfirmed:?}");
    req.confirmed_instance = Some("sqlb".into());
    let medium_copy = keysafe_core::recovery::check_medium(&report)
        .unwrap()
        .copies
        .into_iter()
        .find(|c| c.key == "Service Master Key")
        .unwrap()
        .path;
    let admin_dir = local.clone();
    let admin = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        std::fs::create_dir_all(&admin_dir).unwrap();
        std::fs::copy(
            &medium_copy,
            admin_dir.join(medium_copy.file_name().unwrap()),
        )
        .unwrap();
    });
    let mut asked = None;
    let r = restore::restore(
        &mut cb,
        &req,
        &RestoreSecrets {
            backup: &pw,
            master_key: None,
        },
        &mut |p| {
            if let restore::RestoreProgress::CopyNeeded { server_path, .. } = &p {
                asked = Some(server_path.clone());
            }
        },
    )
    .await
    .unwrap();
    admin.await.unwrap();
    assert_eq!(asked.as_deref(), Some(r.files[0].server_path.as_str()));
    assert_eq!(r.files[0].placed_by, "administrator");
    let smk_guid = "SELECT CONVERT(nvarchar(36), key_guid) FROM master.sys.symmetric_keys WHERE name = N'##MS_ServiceMasterKey##'";
    let a_guid = one(&mut sa(&a).await, smk_guid).await;
    assert!(a_guid.is_some());
    assert_eq!(one(&mut cb, smk_guid).await, a_guid, "B now holds A's SMK");
    assert!(r.proof.contains(a_guid.as_deref().unwrap()), "{}", r.proof);
    // B's master key, encrypted by B's old SMK, was re-encrypted: it still opens by itself.
    let opens = cb
        .rows("USE Sales; SELECT CERTPRIVATEKEY(CERT_ID(N'SalesCert'), N'Export!Passw0rd#1')")
        .await
        .unwrap();
    assert!(opens[0].get::<&[u8], _>(0).is_some());
}

#[tokio::test]
async fn a_copy_with_one_byte_changed_is_refused_before_anything_is_sent() {
    let (_dir, _a, b, report, copy) = sales_master_key_on_a_medium().await;
    let mut bytes = std::fs::read(&copy).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&copy, bytes).unwrap();

    let mut cb = sa(&b).await;
    let local = b.instance().host_path(FOLDER).unwrap();
    let req = request(
        &report,
        KeyRef::DatabaseMasterKey {
            database: "Sales".into(),
        },
        Placement::Local(local.clone()),
    );
    let e = restore::restore(
        &mut cb,
        &req,
        &RestoreSecrets {
            backup: &Password::new(BACKUP_PW),
            master_key: Some(&Password::new("Restored!Dmk#2026")),
        },
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::VerificationFailed, "{e:?}");
    assert!(e.message.contains("nothing was sent"), "{}", e.message);
    drop(cb);
    let conns = b.wait_for_closed(1).await;
    assert_eq!(conns[0].requests, 0, "not one request reached B: {conns:?}");
    assert!(!local.exists(), "nothing was placed in B's folder");
    let has_key = sa(&b)
        .await
        .rows("USE Sales; SELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##'")
        .await
        .unwrap();
    assert_eq!(has_key[0].get::<i32, _>(0), Some(0));
}

#[tokio::test]
async fn the_rehearsal_restores_a_tde_certificate_on_a_dr_instance_and_verifies_a_backup_there() {
    let dir = tempfile::tempdir().unwrap();
    let a = instance(
        &dir.path().join("a"),
        "SQLA",
        "USE master;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';\nCREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE';\nCREATE DATABASE Payroll;\nUSE Payroll;\nCREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert;\nALTER DATABASE Payroll SET ENCRYPTION ON;",
    )
    .await;
    let bak = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Payroll.bak";
    a.instance()
        .run_as("sa", &format!("BACKUP DATABASE Payroll TO DISK = N'{bak}'"))
        .unwrap();
    let dr = instance(&dir.path().join("dr"), "SQLDR", "SELECT 1;").await;
    std::fs::copy(
        a.instance().host_path(bak).unwrap(),
        dr.instance().host_path(bak).unwrap(),
    )
    .unwrap();
    let medium = dir.path().join("medium");
    let report = back_up(&a, &medium).await;
    let mut c = sa(&dr).await;

    // Before: the DR instance cannot read the TDE backup.
    let e = restore::rehearse(&mut c, bak).await.unwrap_err();
    assert_eq!(e.server.as_ref().map(|s| s.number), Some(33111), "{e:?}");

    let mut req = request(
        &report,
        KeyRef::Certificate {
            database: "master".into(),
            name: "TdeCert".into(),
        },
        Placement::Manual {
            wait: Duration::from_secs(1),
        },
    );
    req.verify_backup = Some(bak.into());
    let pw = Password::new(BACKUP_PW);
    let dmk = Password::new("Dr!MasterKey#2026");
    let r = restore::restore(
        &mut c,
        &req,
        &RestoreSecrets {
            backup: &pw,
            master_key: Some(&dmk),
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(r.created_master_key, "DR's master had no master key: {r:?}");
    let verified = r.backup_verified.expect("the rehearsal ran");
    assert!(verified.contains("succeeded"), "{verified}");
    assert_eq!(r.expected_thumbprint, r.actual_thumbprint);
}

#[tokio::test]
async fn a_pfx_certificate_is_placed_where_the_server_reads_it_and_restored_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = instance(
        &dir.path().join("a"),
        "SQLA",
        "CREATE DATABASE Sales;\nUSE Sales;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dmk!Passw0rd#2026';\nCREATE CERTIFICATE SalesCert WITH SUBJECT = 'Sales signing';",
    )
    .await;
    let b = instance(
        &dir.path().join("b"),
        "SQLB",
        "CREATE DATABASE Sales;\nUSE Sales;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Other!Dmk#2026x';",
    )
    .await;
    // SQL Server 2022's default format: one .pfx.
    let medium = dir.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    let s = RunSettings::new(
        Selection::Keys(vec![KeyRef::Certificate {
            database: "Sales".into(),
            name: "SalesCert".into(),
        }]),
        &medium,
    );
    let (run, files) = keysafe_test_support::back_up_to_medium(
        &keysafe_test_support::sql_options(&a, "sa", DEFAULT_SA_PASSWORD),
        &s,
        BACKUP_PW,
    )
    .await;
    assert!(run.instances[0].keys[0].files[0]
        .server_path
        .ends_with(".pfx"));
    let report = files.json;
    let mut cb = sa(&b).await;
    let local = b.instance().host_path(FOLDER).unwrap();
    let req = request(
        &report,
        KeyRef::Certificate {
            database: "Sales".into(),
            name: "SalesCert".into(),
        },
        Placement::Local(local.clone()),
    );
    let r = restore::restore(
        &mut cb,
        &req,
        &RestoreSecrets {
            backup: &Password::new(BACKUP_PW),
            master_key: None,
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(r.files.len(), 1);
    assert_eq!(r.files[0].placed_by, "keysafe");
    assert!(r.statement.contains("FORMAT = 'PFX'"), "{}", r.statement);
    assert!(r.expected_thumbprint.is_some());
    assert_eq!(r.expected_thumbprint, r.actual_thumbprint);
    assert!(std::fs::read_dir(&local).unwrap().next().is_none());
}

/// A Windows login restores a master key from a folder it may read and the service account
/// may not: Keysafe's hash check (OPENROWSET, as the login) passes, SQL Server's RESTORE (as
/// its service) cannot open the file, and the error says which account could not read it.
/// Windows builds only: the emulator's NTLM acceptor is reached through SSPI there.
#[cfg(windows)]
#[tokio::test]
async fn a_file_the_login_reads_and_the_service_cannot_fails_the_restore_with_its_reason() {
    use keysafe_core::connection::Authentication;
    let dir = tempfile::tempdir().unwrap();
    let a = instance(
        &dir.path().join("a"),
        "SQLA",
        "CREATE DATABASE Sales;\nUSE Sales;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dmk!Passw0rd#2026';",
    )
    .await;
    let scenario = String::from(
        "folders = ['C:\\OpsOnly']\n[server]\nmachine_name = \"SQLB\"\ndomain = \"CONTOSO\"\n\n[[logins]]\nname = 'CONTOSO\\ops'\nwindows = true\npassword = \"Ops!Windows#Pass1\"\ngrant = [\"CONTROL SERVER\", \"ADMINISTER BULK OPERATIONS\"]\n\n[[acls]]\npath = 'C:\\OpsOnly'\nfull = ['CONTOSO\\ops']\n\n[[databases]]\nname = \"Sales\"\n"
    );
    let b = keysafe_test_support::emulator(&dir.path().join("b"), &scenario).await;
    let medium = dir.path().join("medium");
    let report = back_up(&a, &medium).await;
    let mut o = keysafe_test_support::sql_options(&b, "x", "x");
    o.authentication =
        Authentication::with_password(r"CONTOSO\ops", Password::new("Ops!Windows#Pass1"));
    let mut cb = connect(&o).await.unwrap();
    let folder = r"C:\OpsOnly";
    let mut req = request(
        &report,
        KeyRef::DatabaseMasterKey {
            database: "Sales".into(),
        },
        Placement::Local(b.instance().host_path(folder).unwrap()),
    );
    req.server_dir = Some(folder.into());
    let new_dmk = Password::new("New!MasterKey#2026");
    let e = restore::restore(
        &mut cb,
        &req,
        &RestoreSecrets {
            backup: &Password::new(BACKUP_PW),
            master_key: Some(&new_dmk),
        },
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(e.server.as_ref().map(|s| s.number), Some(15317), "{e:?}");
    let next = e.next_step.unwrap_or_default();
    assert!(
        next.contains(r"CONTOSO\ops") && next.contains("NT Service"),
        "{next}"
    );
}

/// The report is the medium's word, not a map of this machine: a copy path it records that
/// leads anywhere but a regular file inside the medium is refused, even with a hash that
/// matches, before any connection is used.
#[tokio::test]
async fn a_report_that_points_outside_the_medium_is_refused_before_anything_is_sent() {
    use keysafe_core::recovery::{check_medium, CopyState};
    let dir = tempfile::tempdir().unwrap();
    let a = instance(
        &dir.path().join("a"),
        "SQLA",
        "CREATE DATABASE Sales;\nUSE Sales;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dmk!Passw0rd#2026';",
    )
    .await;
    let medium = dir.path().join("medium");
    let report = back_up(&a, &medium).await;
    let original = std::fs::read_to_string(&report).unwrap();
    let copy = check_medium(&report)
        .unwrap()
        .copies
        .into_iter()
        .find(|c| c.key == "Sales database master key")
        .unwrap()
        .path;
    // The same bytes outside the medium: a hash that matches proves nothing about where.
    let outside = dir.path().join("outside.dmk");
    std::fs::copy(&copy, &outside).unwrap();
    let copy_text = copy.display().to_string();
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut hostile = vec![
        ("an absolute path outside", outside.display().to_string()),
        (
            "a path climbing out",
            format!("{}/../outside.dmk", medium.display()),
        ),
    ];
    #[cfg(unix)]
    {
        let link = copy.with_file_name("link.dmk");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        hostile.push(("a link to a file outside", link.display().to_string()));
        let fifo = copy.with_file_name("pipe.dmk");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        hostile.push(("a pipe that never ends", fifo.display().to_string()));
        hostile.push(("a device", "/dev/zero".to_string()));
    }
    for (what, path) in hostile {
        let json = serde_json::to_string(&path).unwrap();
        let edited = original.replace(&serde_json::to_string(&copy_text).unwrap(), &json);
        assert_ne!(edited, original, "{what}: the report names the copy");
        std::fs::write(&report, edited).unwrap();
        let started = std::time::Instant::now();
        let checked = check_medium(&report).unwrap();
        let c = checked
            .copies
            .iter()
            .find(|c| c.key == "Sales database master key")
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: no hang"
        );
        assert_eq!(c.state, CopyState::Refused, "{what}: {c:?}");
        let req = request(
            &report,
            KeyRef::DatabaseMasterKey {
                database: "Sales".into(),
            },
            Placement::Manual {
                wait: Duration::from_secs(1),
            },
        );
        let e = restore::prepare(&req).err().expect("refused");
        assert_eq!(e.code, ErrorCode::VerificationFailed, "{what}: {e:?}");
        assert!(e.message.contains("will not read"), "{what}: {}", e.message);
    }
    std::fs::write(&report, &original).unwrap();
    assert_eq!(
        check_medium(&report)
            .unwrap()
            .copies
            .iter()
            .find(|c| c.key == "Sales database master key")
            .unwrap()
            .state,
        CopyState::Matches
    );
}

/// The certificate sent is the one hashed: files swapped on the medium between the check
/// and the restore change nothing on the target.
#[tokio::test]
async fn the_bytes_restored_are_the_bytes_that_were_checked() {
    let dir = tempfile::tempdir().unwrap();
    let a = instance(
        &dir.path().join("a"),
        "SQLA",
        "CREATE DATABASE Sales;\nUSE Sales;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dmk!Passw0rd#2026';\nCREATE CERTIFICATE SalesCert WITH SUBJECT = 'Sales signing';\nCREATE CERTIFICATE Impostor WITH SUBJECT = 'Someone else';",
    )
    .await;
    let b = instance(
        &dir.path().join("b"),
        "SQLB",
        "CREATE DATABASE Sales;\nUSE Sales;\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dmk!Passw0rd#2026';",
    )
    .await;
    let medium = dir.path().join("medium");
    let report = back_up(&a, &medium).await;
    let req = request(
        &report,
        KeyRef::Certificate {
            database: "Sales".into(),
            name: "SalesCert".into(),
        },
        Placement::Local(b.instance().host_path(FOLDER).unwrap()),
    );
    let prepared = restore::prepare(&req).unwrap();
    // After the check, the impostor's files take the certificate's place on the medium.
    let copies = keysafe_core::recovery::check_medium(&report)
        .unwrap()
        .copies;
    let path_of = |key: &str, ext: &str| {
        copies
            .iter()
            .find(|c| c.key.contains(key) && c.path.extension().is_some_and(|e| e == ext))
            .unwrap()
            .path
            .clone()
    };
    for ext in ["cer", "pvk"] {
        std::fs::copy(path_of("Impostor", ext), path_of("SalesCert", ext)).unwrap();
    }
    let mut cb = sa(&b).await;
    let r = restore::restore_prepared(
        &mut cb,
        &req,
        prepared,
        &RestoreSecrets {
            backup: &Password::new(BACKUP_PW),
            master_key: None,
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(r.actual_thumbprint, r.expected_thumbprint, "{r:?}");
    let source = one(
        &mut sa(&a).await,
        "USE Sales; SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM sys.certificates WHERE name = N'SalesCert'",
    )
    .await;
    let target = one(
        &mut cb,
        "USE Sales; SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM sys.certificates WHERE name = N'SalesCert'",
    )
    .await;
    assert_eq!(
        target, source,
        "the certificate that was checked, not the impostor"
    );
}

/// Issue 27: the tidy step removes only what Keysafe wrote. A file of the same name already in
/// the server's folder is someone's: a different one stops the restore before anything is
/// sent (and stays as it was), an identical one is used where it is and is still there
/// afterwards, byte for byte.
#[tokio::test]
async fn a_file_already_in_the_server_folder_is_left_there_by_the_restore() {
    let (_dir, a, b, report, copy) = sales_master_key_on_a_medium().await;
    let local = b.instance().host_path(FOLDER).unwrap();
    std::fs::create_dir_all(&local).unwrap();
    let theirs = local.join(copy.file_name().unwrap());
    let guid = "USE Sales; SELECT CONVERT(nvarchar(36), key_guid) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##'";
    let req = request(
        &report,
        KeyRef::DatabaseMasterKey {
            database: "Sales".into(),
        },
        Placement::Local(local.clone()),
    );
    let pw = Password::new(BACKUP_PW);
    let new_dmk = Password::new("Restored!Dmk#2026");
    let secrets = RestoreSecrets {
        backup: &pw,
        master_key: Some(&new_dmk),
    };

    // A different file under that name: not overwritten, not removed, nothing restored.
    let other = b"someone else's file".to_vec();
    std::fs::write(&theirs, &other).unwrap();
    let mut cb = sa(&b).await;
    let e = restore::restore(&mut cb, &req, &secrets, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        e.next_step
            .as_deref()
            .is_some_and(|n| n.contains("A different file of that name")),
        "{e:?}"
    );
    assert_eq!(std::fs::read(&theirs).unwrap(), other, "left as it was");
    assert_eq!(one(&mut cb, guid).await, None, "nothing restored");

    // The very file the medium holds, put there beforehand: used, and left there.
    let original = std::fs::read(&copy).unwrap();
    std::fs::write(&theirs, &original).unwrap();
    let r = restore::restore(&mut cb, &req, &secrets, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(r.files.len(), 1, "{r:?}");
    assert_eq!(r.files[0].placed_by, "already there", "{r:?}");
    assert_eq!(
        std::fs::read(&theirs).ok().as_deref(),
        Some(original.as_slice()),
        "the pre-existing file is still there after the restore, unchanged"
    );
    assert_eq!(
        std::fs::read_dir(&local).unwrap().count(),
        1,
        "and nothing else was left beside it"
    );
    assert_eq!(one(&mut cb, guid).await, one(&mut sa(&a).await, guid).await);
}
