//! The engine against an emulated instance over real TCP: connect, inventory, back up,
//! copy, verify, and the errors an administrator meets.

use keysafe_core::backup::{self, BackupOptions, KeyRef, Outcome, Secrets};
use keysafe_core::connection::{connect, ConnectOptions, Encrypt, ServerAddress, Trust};
use keysafe_core::inventory::{self, MasterKeyProtection, Severity};
use keysafe_core::{ErrorCode, Password};
use mssql_emulator::{Emulator, EmulatorConfig, Scenario, TlsMode, DEFAULT_SA_PASSWORD};
use std::collections::HashMap;

const DEMO: &str = mssql_emulator::scenarios::DEMO;

async fn demo(tls: TlsMode) -> (tempfile::TempDir, Emulator) {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(
        EmulatorConfig::new(dir.path())
            .scenario(Scenario::from_toml(DEMO).unwrap())
            .tls(tls),
    )
    .await
    .unwrap();
    (dir, emu)
}

fn options(emu: &Emulator, login: &str, pw: &str) -> ConnectOptions {
    keysafe_test_support::sql_options(emu, login, pw)
}

#[tokio::test]
async fn inventory_shows_the_hierarchy_and_its_risks() {
    let (_d, emu) = demo(TlsMode::On).await;
    let mut c = connect(&options(&emu, "keysafe_operator", "Operat0r!Pass#1"))
        .await
        .unwrap();
    let inv = inventory::inventory(&mut c).await.unwrap();
    assert_eq!(inv.server.server_name, "SQLDEMO01");
    assert_eq!(inv.server.major_version, 16);
    assert_eq!(
        inv.server.service_account.as_deref(),
        Some(r"NT Service\MSSQLSERVER")
    );
    assert!(inv.server.permissions.iter().all(|p| p.granted));
    assert_eq!(
        inv.service_master_key.as_ref().unwrap().algorithm,
        "AES_256"
    );
    let sales = inv.databases.iter().find(|d| d.name == "Sales").unwrap();
    assert_eq!(
        sales.master_key.as_ref().unwrap().protection,
        MasterKeyProtection::PasswordOnly
    );
    let payroll = inv.databases.iter().find(|d| d.name == "Payroll").unwrap();
    assert_eq!(payroll.tde, Some(3));
    let master = inv.databases.iter().find(|d| d.name == "master").unwrap();
    let tde = master
        .certificates
        .iter()
        .find(|c| c.name == "TDE_Payroll")
        .unwrap();
    assert_eq!(tde.used_by_tde, vec!["Payroll"]);
    assert_eq!(inv.risks[0].severity, Severity::Critical);
    assert!(
        inv.risks[0].text.contains("never been backed up"),
        "{:?}",
        inv.risks[0]
    );
    assert!(inv.risks.iter().any(|r| r.object == "Sales master key"));
}

#[tokio::test]
async fn a_whole_backup_is_written_copied_and_verified() {
    let (_d, emu) = demo(TlsMode::On).await;
    let medium = tempfile::tempdir().unwrap();
    let mut c = connect(&options(&emu, "keysafe_operator", "Operat0r!Pass#1"))
        .await
        .unwrap();
    let inv = inventory::inventory(&mut c).await.unwrap();
    let keys = vec![
        KeyRef::ServiceMasterKey,
        KeyRef::DatabaseMasterKey {
            database: "HR".into(),
        },
        KeyRef::DatabaseMasterKey {
            database: "Sales".into(),
        },
        KeyRef::Certificate {
            database: "master".into(),
            name: "TDE_Payroll".into(),
        },
        KeyRef::Certificate {
            database: "Sales".into(),
            name: "SalesSigning".into(),
        },
    ];
    let req = BackupOptions {
        server_dir: None,
        copy_to: medium.path().to_path_buf(),
        format: None,
    };
    let secrets = Secrets {
        password: keysafe_core::password::generate(24),
        master_key_passwords: HashMap::from([(
            "Sales".to_string(),
            Password::new("Sales!Dmk#Pass1"),
        )]),
        certificate_passwords: HashMap::from([(
            ("Sales".to_string(), "SalesSigning".to_string()),
            Password::new("Signing!Cert#Pw1"),
        )]),
        instance_passwords: HashMap::new(),
    };
    let now = chrono::Utc::now();
    let plan = backup::plan(&inv, &keys, &req, now).unwrap();
    for p in &plan {
        // What the preview shows is what the run sends, every password masked.
        let sent = p.statement(&secrets).unwrap();
        assert!(sent.sent().contains(secrets.password.expose()));
        assert!(!sent.shown.contains(secrets.password.expose()));
        assert_eq!(p.script, sent.shown, "the preview is the statement run");
    }
    let dir = backup::default_server_dir(&inv).unwrap();
    assert!(dir.ends_with(r"\MSSQL\Backup\Keysafe"), "{dir}");
    backup::ensure_server_dir(&mut c, &dir).await.unwrap();
    for p in &plan {
        let r = backup::run_one(&mut c, p, &secrets, medium.path()).await;
        assert_eq!(r.outcome, Outcome::Verified, "{:?}: {:?}", r.key, r.error);
        for f in &r.files {
            let on_server =
                std::fs::read(emu.instance().host_path(&f.server_path).unwrap()).unwrap();
            let copy = f.copy.as_ref().unwrap();
            assert_eq!(
                std::fs::read(&copy.path).unwrap(),
                on_server,
                "the copy is the server's file"
            );
            assert_eq!(keysafe_core::copy::sha256_hex(&on_server), f.server_sha256);
        }
    }
    assert_eq!(
        std::fs::read_dir(medium.path()).unwrap().count(),
        5,
        "one file per key (PFX on 2022)"
    );
    // The same plan again: the server refuses to overwrite, and the error says why.
    let again = backup::run_one(&mut c, &plan[0], &secrets, medium.path()).await;
    let e = again.error.unwrap();
    assert_eq!(e.code, ErrorCode::FileExists);
    assert_eq!(e.server.as_ref().unwrap().number, 15240);
    assert!(e.next_step.unwrap().contains("never overwrites"));
}

#[tokio::test]
async fn a_password_only_master_key_without_its_password_is_refused_before_sending() {
    let (_d, emu) = demo(TlsMode::On).await;
    let mut c = connect(&options(&emu, "sa", DEFAULT_SA_PASSWORD))
        .await
        .unwrap();
    let inv = inventory::inventory(&mut c).await.unwrap();
    let keys = vec![KeyRef::DatabaseMasterKey {
        database: "Sales".into(),
    }];
    let req = BackupOptions {
        server_dir: None,
        copy_to: std::env::temp_dir(),
        format: None,
    };
    let secrets = Secrets::new(Password::new("Str0ng!Backup#Pass"));
    let plan = backup::plan(&inv, &keys, &req, chrono::Utc::now()).unwrap();
    let e = plan[0].statement(&secrets).unwrap_err();
    assert_eq!(e.code, ErrorCode::MasterKeyNotOpen);
    // The run binds the same statement first: nothing is sent, nothing is written.
    let r = backup::run_one(&mut c, &plan[0], &secrets, &std::env::temp_dir()).await;
    assert_eq!(r.error.unwrap().code, ErrorCode::MasterKeyNotOpen);
    assert!(r.files.is_empty());
}

#[tokio::test]
async fn connection_errors_are_explained() {
    let (_d, emu) = demo(TlsMode::On).await;
    let e = connect(&options(&emu, "keysafe_operator", "Wr0ng!Canary#7"))
        .await
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::LoginFailed);
    assert_eq!(e.server.as_ref().unwrap().number, 18456);
    assert!(
        !e.describe().contains("Canary"),
        "the password never appears in an error"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut o = options(&emu, "sa", DEFAULT_SA_PASSWORD);
    o.server = format!("127.0.0.1,{port}").parse().unwrap();
    assert_eq!(
        connect(&o).await.err().unwrap().code,
        ErrorCode::ConnectionRefused
    );

    let (_d2, other) = demo(TlsMode::On).await;
    let mut o = options(&emu, "sa", DEFAULT_SA_PASSWORD);
    o.trust = Trust::CaFile(other.cert_pem_path().unwrap().to_path_buf());
    assert_eq!(connect(&o).await.err().unwrap().code, ErrorCode::Tls);

    let (_d3, plain) = demo(TlsMode::Off).await;
    let mut o = options(&plain, "sa", DEFAULT_SA_PASSWORD);
    o.trust = Trust::ServerCertificate;
    // A server without a certificate cannot do Mandatory encryption.
    let code = connect(&o).await.err().unwrap().code;
    assert!(
        matches!(code, ErrorCode::EncryptionNotSupported | ErrorCode::Tls),
        "{code:?}"
    );
    // Optional still encrypts the login, so a server with no TLS at all is refused too: the
    // password never crosses the network in the clear.
    o.encrypt = Encrypt::Optional;
    assert!(connect(&o).await.is_err());
    let mut opt = options(&emu, "sa", DEFAULT_SA_PASSWORD);
    opt.encrypt = Encrypt::Optional;
    assert!(
        connect(&opt).await.is_ok(),
        "Optional: login-only encryption"
    );
    // Strict always verifies the certificate: "Trust server certificate" is refused with it.
    o.encrypt = Encrypt::Strict;
    assert_eq!(
        connect(&o).await.err().unwrap().code,
        ErrorCode::InvalidInput
    );
}

#[tokio::test]
async fn a_server_folder_visible_from_here_is_read_directly_and_still_checked() {
    let (_d, emu) = demo(TlsMode::On).await;
    let medium = tempfile::tempdir().unwrap();
    let mut c = connect(&options(&emu, "keysafe_operator", "Operat0r!Pass#1"))
        .await
        .unwrap();
    let inv = inventory::inventory(&mut c).await.unwrap();
    let dir = backup::default_server_dir(&inv).unwrap();
    backup::ensure_server_dir(&mut c, &dir).await.unwrap();
    // The server's folder, as a share mounted on this machine would show it.
    let view = backup::LocalView {
        server_dir: dir.clone(),
        local_dir: emu.instance().host_path(&dir).unwrap(),
    };
    let keys = vec![KeyRef::ServiceMasterKey];
    let req = BackupOptions {
        server_dir: None,
        copy_to: medium.path().to_path_buf(),
        format: None,
    };
    let secrets = Secrets::new(Password::new("Str0ng!Backup#Pass"));
    let plan = backup::plan(&inv, &keys, &req, chrono::Utc::now()).unwrap();
    let r = backup::run_one_with(&mut c, &plan[0], &secrets, medium.path(), Some(&view)).await;
    assert_eq!(r.outcome, Outcome::Verified, "{:?}", r.error);
    assert_eq!(r.files[0].read_path, backup::ReadPath::Direct);
    // A mapping to the wrong place is caught by the server's hash.
    let other = tempfile::tempdir().unwrap();
    let plan = backup::plan(
        &inv,
        &keys,
        &req,
        chrono::Utc::now() + chrono::Duration::seconds(1),
    )
    .unwrap();
    let name = plan[0].server_files[0]
        .rsplit('\\')
        .next()
        .unwrap()
        .to_string();
    std::fs::write(other.path().join(&name), b"not the backup").unwrap();
    let wrong = backup::LocalView {
        server_dir: dir,
        local_dir: other.path().to_path_buf(),
    };
    let r = backup::run_one_with(&mut c, &plan[0], &secrets, medium.path(), Some(&wrong)).await;
    assert_eq!(r.error.unwrap().code, ErrorCode::VerificationFailed);
}

#[tokio::test]
async fn every_server_error_the_engine_meets_is_explained() {
    use keysafe_core::tsql;
    let (_d, emu) = demo(TlsMode::On).await;
    let pw = Password::new("Str0ng!Backup#Pass");
    let dir = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup";
    let mut reader = connect(&options(&emu, "app_reader", "Reader!Pass#22"))
        .await
        .unwrap();
    let mut sa = connect(&options(&emu, "sa", DEFAULT_SA_PASSWORD))
        .await
        .unwrap();
    let cases: Vec<(String, u32, ErrorCode, &str)> = vec![
        (
            tsql::backup_service_master_key(&format!(r"{dir}\r.key"), &pw)
                .unwrap()
                .sent()
                .to_string(),
            15247,
            ErrorCode::PermissionDenied,
            "CONTROL SERVER",
        ),
        (
            "CREATE DATABASE keysafe_verify_x".to_string(),
            262,
            ErrorCode::PermissionDenied,
            "GRANT",
        ),
    ];
    for (sql, number, code, hint) in cases {
        let e = reader.execute(&sql).await.unwrap_err();
        assert_eq!(e.server.as_ref().unwrap().number, number, "{sql}");
        assert_eq!(e.code, code);
        assert!(e.describe().contains(hint), "{}", e.describe());
        assert!(!e.describe().contains("Str0ng!Backup#Pass"));
    }
    let checks: Vec<(String, u32, ErrorCode)> = vec![
        (
            tsql::backup_master_key("Sales", &format!(r"{dir}\s.key"), &pw, None)
                .unwrap()
                .sent()
                .to_string(),
            15581,
            ErrorCode::MasterKeyNotOpen,
        ),
        (
            tsql::backup_service_master_key(
                &format!(r"{dir}\w.key"),
                &Password::new("weakweakweak"),
            )
            .unwrap()
            .sent()
            .to_string(),
            15118,
            ErrorCode::PasswordPolicy,
        ),
        (
            tsql::backup_certificate(
                "master",
                "NoSuchCert",
                &format!(r"{dir}\n.cer"),
                Some(&format!(r"{dir}\n.pvk")),
                keysafe_core::tsql::CertificateFormat::Pvk,
                &pw,
                None,
            )
            .unwrap()
            .sent()
            .to_string(),
            15151,
            ErrorCode::NotFound,
        ),
        (
            tsql::backup_service_master_key(r"C:\No\Such\Folder\x.key", &pw)
                .unwrap()
                .sent()
                .to_string(),
            15240,
            ErrorCode::FileExists,
        ),
        (
            "OPEN MASTER KEY DECRYPTION BY PASSWORD = N'Wrong!Pass#1'".to_string(),
            15313,
            ErrorCode::InvalidInput,
        ),
    ];
    for (sql, number, code) in checks {
        let e = sa.execute(&sql).await.unwrap_err();
        assert_eq!(e.server.as_ref().unwrap().number, number, "{sql}");
        assert_eq!(e.code, code, "{sql}");
        assert!(e.next_step.is_some());
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            if let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        }
    });
    let mut o = ConnectOptions::sql(
        format!("127.0.0.1,{port}").parse().unwrap(),
        "sa",
        Password::new("x"),
    );
    o.connect_timeout = std::time::Duration::from_millis(500);
    let t = std::time::Instant::now();
    let e = connect(&o).await.err().unwrap();
    assert_eq!(e.code, ErrorCode::ConnectionTimeout);
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    hold.abort();
}

#[tokio::test]
async fn missing_permissions_are_listed_with_the_grant_that_fixes_them() {
    let (_d, emu) = demo(TlsMode::On).await;
    let mut c = connect(&options(&emu, "app_reader", "Reader!Pass#22"))
        .await
        .unwrap();
    let inv = inventory::inventory(&mut c).await.unwrap();
    assert!(!inv.server.has("CONTROL SERVER"));
    let grants: Vec<&str> = inv
        .server
        .permissions
        .iter()
        .filter(|p| !p.granted)
        .map(|p| p.grant.as_str())
        .collect();
    assert_eq!(
        grants,
        [
            "GRANT CONTROL SERVER TO [app_reader];",
            "GRANT ADMINISTER BULK OPERATIONS TO [app_reader];",
            "GRANT VIEW SERVER STATE TO [app_reader];"
        ]
    );
    assert!(inv
        .risks
        .iter()
        .any(|r| r.text.contains("GRANT CONTROL SERVER TO [app_reader];")));
    assert_eq!(inv.server.service_account, None, "needs VIEW SERVER STATE");
    assert!(inv
        .databases
        .iter()
        .any(|d| d.name == "Sales" && d.not_visible));
}

#[tokio::test]
async fn a_named_instance_is_found_through_sql_browser() {
    let dir = tempfile::tempdir().unwrap();
    let named = Scenario::from_toml(include_str!(
        "../../mssql-emulator/scenarios/named-2016.toml"
    ))
    .unwrap();
    let emu = Emulator::start(EmulatorConfig::new(dir.path()).scenario(named))
        .await
        .unwrap();
    // SQL Browser's well-known port; the instance itself listens on a random one.
    let (_addr, browser) = mssql_emulator::browser::start(
        "127.0.0.1:1434".parse().unwrap(),
        vec![emu.browser_entry().unwrap()],
    )
    .await
    .expect("UDP 1434 is free on a test machine");
    let server: ServerAddress = r"127.0.0.1\payroll".parse().unwrap();
    assert_eq!(server.port, None);
    let mut o = ConnectOptions::sql(server, "sa", Password::new(DEFAULT_SA_PASSWORD));
    o.trust = Trust::ServerCertificate;
    let mut c = connect(&o).await.unwrap();
    let facts = inventory::preflight(&mut c).await.unwrap();
    assert_eq!(facts.server_name, r"SQLOLD01\PAYROLL");
    assert_eq!(facts.instance_name.as_deref(), Some("PAYROLL"));
    // An instance the browser does not know is a clear error, not a hang.
    let mut o = ConnectOptions::sql(
        r"127.0.0.1\NOSUCH".parse().unwrap(),
        "sa",
        Password::new(DEFAULT_SA_PASSWORD),
    );
    o.trust = Trust::ServerCertificate;
    o.connect_timeout = std::time::Duration::from_secs(5);
    assert_eq!(
        connect(&o).await.err().unwrap().code,
        ErrorCode::HostNotFound
    );
    browser.abort();
}

/// A login that may back up a database's master key but not run xp_create_subdir (and
/// whose xp_fileexist answers nothing): the folder step explains itself and the backup goes
/// into the existing folder; into a missing one it is SQL Server's 15240, explained.
#[tokio::test]
async fn a_login_without_xp_create_subdir_backs_up_into_an_existing_folder() {
    let scenario = format!(
        "{DEMO}\n[[logins]]\nname = \"hr_keys\"\npassword = \"HrKeys!Pass#1\"\ngrant = [\"ADMINISTER BULK OPERATIONS\"]\n"
    )
    .replace(
        "[[databases.users]]\nname = \"app_reader\"",
        "[[databases.users]]\nname = \"hr_keys\"\nlogin = \"hr_keys\"\ngrant = [\"CONTROL\"]\n\n[[databases.users]]\nname = \"app_reader\"",
    );
    assert!(
        scenario.contains("name = \"hr_keys\"\nlogin"),
        "the HR user is added"
    );
    let dir = tempfile::tempdir().unwrap();
    let emu = keysafe_test_support::emulator(dir.path(), &scenario).await;
    let o = options(&emu, "hr_keys", "HrKeys!Pass#1");
    let secrets = Secrets::new(Password::new("Hr!Backup#2026x"));
    let settings = |server_dir: &str| {
        keysafe_core::run::RunSettings::new(
            keysafe_core::run::Selection::DatabaseMasterKeys(vec!["HR".into()]),
            dir.path().join("medium"),
        )
        .in_server_folder(server_dir)
    };
    let r = keysafe_core::run::back_up_instance(
        &o,
        &settings(r"c:\temp_backups\keys"),
        &secrets,
        &|_| {},
    )
    .await;
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(r.all_verified(), "{:?}", r.keys);
    assert!(
        r.folder_protection.contains("may not run xp_create_subdir"),
        "{}",
        r.folder_protection
    );
    let r =
        keysafe_core::run::back_up_instance(&o, &settings(r"c:\no\such\folder"), &secrets, &|_| {})
            .await;
    let e = r.keys[0].error.as_ref().expect("no folder");
    assert_eq!(e.server.as_ref().map(|m| m.number), Some(15240), "{e:?}");
}

/// A server folder under one the service account may not write to: xp_create_subdir fails
/// as the service account (22048, error 5), and Keysafe says whose access is missing and
/// what to do, before any key is written.
#[tokio::test]
async fn a_server_folder_the_service_account_may_not_create_is_explained() {
    let scenario = DEMO.replacen(
        "folders = ['c:\\temp_backups\\keys']",
        "folders = ['c:\\temp_backups\\keys', 'C:\\Locked']",
        1,
    );
    assert_ne!(scenario, DEMO, "the locked folder is added");
    let dir = tempfile::tempdir().unwrap();
    let emu = keysafe_test_support::emulator(dir.path(), &scenario).await;
    // Administrators and SYSTEM only: the host's choice, not something T-SQL can set.
    emu.instance()
        .set_sddl(r"C:\Locked", "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)")
        .unwrap();
    let o = options(&emu, "sa", DEFAULT_SA_PASSWORD);
    let secrets = Secrets::new(Password::new("Locked!Backup#2026"));
    let settings = keysafe_core::run::RunSettings::new(
        keysafe_core::run::Selection::Keys(vec![KeyRef::ServiceMasterKey]),
        dir.path().join("medium"),
    )
    .in_server_folder(r"C:\Locked\Keysafe");
    let r = keysafe_core::run::back_up_instance(&o, &settings, &secrets, &|_| {}).await;
    let e = r
        .error
        .as_ref()
        .or_else(|| r.keys.first().and_then(|k| k.error.as_ref()))
        .expect("the folder cannot be created");
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e:?}");
    assert!(
        e.message.contains("service account") && e.message.contains(r"C:\Locked\Keysafe"),
        "{e:?}"
    );
    assert!(
        e.next_step
            .as_deref()
            .unwrap_or("")
            .contains("write access"),
        "{e:?}"
    );
    assert_eq!(e.server.as_ref().map(|m| m.number), Some(22048), "{e:?}");
    assert!(!r.all_verified());
    assert!(!emu
        .instance()
        .fs
        .resolve(r"C:\Locked\Keysafe")
        .unwrap()
        .exists());
}

/// Issue 27 (8), end to end: certificates whose names clean to the same file name (`a b`,
/// `a_b`, `a:b`; `x-y.z` and `x.y-z`) are backed up in one run, each to its own files on the
/// server and the medium (before, the second was refused with Msg 15240 on every run).
#[tokio::test]
async fn keys_whose_names_clean_alike_each_get_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["a b", "a_b", "a:b", "x-y.z", "x.y-z"];
    let seed = std::iter::once(
        "CREATE DATABASE Odd; USE Odd; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Odd!Master#Pass1';"
            .to_string(),
    )
    .chain(
        names
            .iter()
            .map(|n| format!("CREATE CERTIFICATE [{n}] WITH SUBJECT = 'odd';")),
    )
    .collect::<Vec<_>>()
    .join("\n");
    let emu = keysafe_test_support::seeded(&dir.path().join("server"), "SQLODD", &seed).await;
    let medium = dir.path().join("medium");
    let settings = keysafe_core::run::RunSettings::new(
        keysafe_core::run::Selection::Certificates(
            names
                .iter()
                .map(|n| ("Odd".to_string(), n.to_string()))
                .collect(),
        ),
        &medium,
    );
    // back_up_to_medium asserts every key verified.
    let (report, _) = keysafe_test_support::back_up_to_medium(
        &keysafe_test_support::sql_options(&emu, "sa", DEFAULT_SA_PASSWORD),
        &settings,
        "Str0ng!Backup#Pass",
    )
    .await;
    let keys = &report.instances[0].keys;
    assert_eq!(keys.len(), names.len());
    let mut server_files: Vec<&str> = keys
        .iter()
        .flat_map(|k| k.files.iter().map(|f| f.server_path.as_str()))
        .collect();
    let all = server_files.len();
    server_files.sort();
    server_files.dedup();
    assert_eq!(server_files.len(), all, "{server_files:?}");
    assert!(server_files
        .iter()
        .all(|f| f.rsplit('\\').next().unwrap().len() <= 255));
}
