//! The app's commands without a window: the same bodies the Tauri commands call, against
//! the emulator over real TCP, with the real OS keyring (run under scripts/with-keyring.sh).

use keysafe_app::desk;
use keysafe_app::state::AppState;
use keysafe_app::types::*;
use keysafe_core::ErrorCode;
use keysafe_test_support::files_under;
use mssql_emulator::{Emulator, EmulatorConfig, Scenario, TlsMode};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

const OPERATOR_PASSWORD: &str = "Operat0r!Pass#1";

async fn demo_instance(dir: &Path) -> Emulator {
    let text = mssql_emulator::scenarios::DEMO;
    Emulator::start(
        EmulatorConfig::new(dir)
            .scenario(Scenario::from_toml(text).unwrap())
            .tls(TlsMode::On),
    )
    .await
    .unwrap()
}

fn state(home: &Path) -> AppState {
    AppState::new(
        home.to_path_buf(),
        Box::new(keysafe_core::profiles::OsKeyring),
        None,
    )
}

fn args(port: u16, login: &str, password: &str) -> ConnectArgs {
    ConnectArgs {
        server: format!("127.0.0.1,{port}"),
        authentication: AuthKind::SqlServer,
        login: login.into(),
        password: Some(Secret::from(password.to_string())),
        remember_password: false,
        encrypt: Encrypt::Mandatory,
        trust_server_certificate: true,
        host_name_in_certificate: String::new(),
        certificate_file: String::new(),
        connect_timeout_secs: 10,
        profile: None,
    }
}

/// Connects `st` to `emu` as the demo's operator, as the Connect dialog would.
async fn connect_operator(st: &AppState, emu: &Emulator) -> ConnectionInfo {
    desk::connect::connect(
        st,
        args(emu.addr().port(), "keysafe_operator", OPERATOR_PASSWORD),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_backup_from_the_dialog_leaves_a_verified_copy_a_report_and_no_secret() {
    let server = tempfile::tempdir().unwrap();
    let emu = demo_instance(server.path()).await;
    let home = tempfile::tempdir().unwrap();
    let medium = tempfile::tempdir().unwrap();
    let st = state(home.path());
    let login_pw = OPERATOR_PASSWORD;
    let backup_pw = "Unique!Backup#Canary-4417";
    let dmk_pw = "Sales!Dmk#Pass1";
    let cert_pw = "Signing!Cert#Pw1";

    let c = connect_operator(&st, &emu).await;
    assert_eq!(c.server_name, "SQLDEMO01");
    let tree = desk::explorer::explorer(&st, c.id).await.unwrap();
    let smk = tree.service_master_key.as_ref().unwrap();
    assert_eq!(smk.state, BackupState::Never);
    let payroll_tde = tree.databases.iter().find(|d| d.name == "Payroll").unwrap();
    assert_eq!(payroll_tde.tde.as_deref(), Some("Encrypted"));
    let tde_cert = tree
        .databases
        .iter()
        .find(|d| d.name == "master")
        .unwrap()
        .certificates
        .iter()
        .find(|k| k.label.contains("TDE_Payroll"))
        .unwrap();
    assert_eq!(
        tde_cert.state,
        BackupState::Risk,
        "a TDE certificate never backed up is a risk"
    );

    let request = BackupRequest {
        connections: vec![c.id],
        keys: vec![],
        copy_to: medium.path().display().to_string(),
        server_dir: String::new(),
        acl_principals: vec![],
        verify_restore: true,
        carrier: "Carrier Name".into(),
        storage_location: "Safe 12".into(),
        notes: String::new(),
        split: None,
    };
    let plan = desk::backup::plan(&st, &request).await.unwrap();
    let inst = &plan.instances[0];
    assert!(
        inst.keys
            .iter()
            .all(|k| k.problem.is_none() && k.script.contains("N'********'")),
        "{:?}",
        inst.keys
    );
    // The folder is not reachable from here: the engine's commands and who they give access.
    match inst.folder.as_ref().unwrap() {
        FolderPlan::Commands {
            access, commands, ..
        } => {
            assert!(
                access.iter().any(|p| p
                    .to_uppercase()
                    .contains("NT SERVICE\\MSSQLSERVER (S-1-5-80-")),
                "{access:?}"
            );
            assert!(
                commands.iter().any(|c| c.starts_with("icacls")),
                "{commands:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The dialog asks for exactly the passwords the plan names.
    let needs: Vec<NeededPassword> = inst.keys.iter().flat_map(|k| k.needs.clone()).collect();
    assert_eq!(
        needs,
        vec![
            NeededPassword::MasterKey {
                database: "Sales".into()
            },
            NeededPassword::CertificateKey {
                database: "Sales".into(),
                name: "SalesSigning".into()
            }
        ]
    );

    let events: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = events.clone();
    let emit = move |e: Progress| sink.lock().unwrap().push(e);
    let secrets = BackupSecrets {
        password: Secret::from(backup_pw.to_string()),
        confirm: Secret::from(backup_pw.to_string()),
        key_passwords: vec![
            KeyPassword {
                key: needs[0].clone(),
                password: Secret::from(dmk_pw.to_string()),
            },
            KeyPassword {
                key: needs[1].clone(),
                password: Secret::from(cert_pw.to_string()),
            },
        ],
    };
    let summary = desk::backup::run(&st, request, secrets, &emit)
        .await
        .unwrap();
    assert!(
        summary.result.succeeded,
        "{:?}",
        summary
            .result
            .keys
            .iter()
            .filter(|k| k.outcome != keysafe_core::backup::Outcome::Verified)
            .collect::<Vec<_>>()
    );
    assert_eq!(summary.result.keys_verified, summary.result.keys_requested);
    assert!(summary.result.keys_requested >= 6);
    let events = events.lock().unwrap().clone();
    let started = events
        .iter()
        .filter(|e| matches!(e, Progress::KeyStarted { .. }))
        .count();
    let done = events
        .iter()
        .filter(|e| matches!(e, Progress::KeyDone { verified: true, .. }))
        .count();
    assert_eq!(
        (started, done),
        (
            summary.result.keys_requested as usize,
            summary.result.keys_requested as usize
        )
    );
    assert!(matches!(
        events.last(),
        Some(Progress::ReportWritten { .. })
    ));

    // Every copy on the medium matches the hash the server computed.
    for k in &summary.result.keys {
        for f in &k.files {
            let bytes = std::fs::read(f.copy_path.as_ref().unwrap()).unwrap();
            assert_eq!(f.bytes as usize, bytes.len());
            assert!(f.verified);
        }
    }
    // The tree now shows the SMK as backed up, and the history has the run.
    let tree = desk::explorer::explorer(&st, c.id).await.unwrap();
    assert_eq!(
        tree.service_master_key.unwrap().state,
        BackupState::BackedUp
    );
    let h = desk::history::history(&st).await.unwrap();
    assert!(h.chain_intact);
    assert_eq!(h.runs.len(), 1);
    assert!(h.runs[0].succeeded);
    assert_eq!(h.runs[0].verdict, "Succeeded");
    assert_eq!(
        h.runs[0].what,
        format!(
            "{} of {} keys verified",
            summary.result.keys_verified, summary.result.keys_requested
        )
    );
    assert_eq!(
        h.runs[0].run_id.as_deref(),
        Some(summary.result.run_id.as_str())
    );
    let html = desk::history::report_html(&st, &summary.result.run_id).unwrap();
    assert!(html.contains("Carrier Name") && html.contains("Safe 12"));
    let exported = home.path().join("exported.csv");
    desk::backup::export_report(&st, &summary.result.run_id, ReportFormat::Csv, &exported).unwrap();
    assert!(std::fs::read_to_string(&exported)
        .unwrap()
        .contains("Service Master Key"));
    // Never over an existing file: the first export stays as it was.
    let again =
        desk::backup::export_report(&st, &summary.result.run_id, ReportFormat::Html, &exported)
            .unwrap_err();
    assert_eq!(again.code, keysafe_core::ErrorCode::FileExists);
    assert!(std::fs::read_to_string(&exported)
        .unwrap()
        .starts_with("instance,key,outcome"));

    // The canary: no secret anywhere Keysafe wrote or sent to the UI.
    let mut haystacks: Vec<(String, Vec<u8>)> = files_under(home.path())
        .into_iter()
        .chain(files_under(medium.path()))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    haystacks.push(("events".into(), serde_json::to_vec(&events).unwrap()));
    haystacks.push(("summary".into(), serde_json::to_vec(&summary).unwrap()));
    for (where_, bytes) in &haystacks {
        let text = String::from_utf8_lossy(bytes);
        for secret in [login_pw, backup_pw, dmk_pw, cert_pw] {
            assert!(!text.contains(secret), "{secret} found in {where_}");
        }
    }
    drop(emu);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_query_pane_runs_batches_reports_errors_as_ssms_and_cancels() {
    let server = tempfile::tempdir().unwrap();
    let emu = demo_instance(server.path()).await;
    let home = tempfile::tempdir().unwrap();
    let st = state(home.path());
    let c = connect_operator(&st, &emu).await;

    let script = "USE master;\nGO\nBACKUP SERVICE MASTER KEY TO FILE = 'c:\\temp_backups\\keys\\service_master_key' ENCRYPTION BY PASSWORD = '3dH85Hhk003GHk2597gheij4';\nGO\n";
    let out = desk::query::run_query(&st, c.id, script.into())
        .await
        .unwrap();
    assert_eq!(out.errors, 0, "{:?}", out.messages);
    assert_eq!(out.messages[0], "Commands completed successfully.");
    assert_eq!(out.database, "master");
    assert!(server
        .path()
        .join("fs/C/temp_backups/keys/service_master_key")
        .is_file());
    let again = desk::query::run_query(&st, c.id, script.into())
        .await
        .unwrap();
    assert_eq!(again.errors, 1);
    assert!(
        again
            .messages
            .iter()
            .any(|m| m.starts_with("Msg 15240, Level 16, State 1, Line 3\n")),
        "{:?}",
        again.messages
    );

    let rows = desk::query::run_query(
        &st,
        c.id,
        "SELECT name FROM sys.databases ORDER BY name\nGO 2".into(),
    )
    .await
    .unwrap();
    assert_eq!(rows.result_sets.len(), 2, "GO 2 runs the batch twice");
    assert!(rows.result_sets[0]
        .rows
        .iter()
        .any(|r| r[0].as_deref() == Some("Payroll")));
    assert!(rows.messages.iter().any(|m| m.ends_with("rows affected)")));

    // Alt+Break: a slow server, a cancel, and the connection works again afterwards.
    emu.faults().delay_ms.store(5_000, Ordering::SeqCst);
    let st = Arc::new(st);
    let (st2, id) = (st.clone(), c.id);
    let running =
        tokio::spawn(async move { desk::query::run_query(&st2, id, "SELECT 1".into()).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(desk::query::cancel_query(&st, c.id).unwrap());
    let cancelled = running.await.unwrap().unwrap();
    assert!(cancelled.cancelled);
    assert!(cancelled.elapsed_ms < 3_000.0, "{}", cancelled.elapsed_ms);
    emu.faults().delay_ms.store(0, Ordering::SeqCst);
    let after = desk::query::run_query(&st, c.id, "SELECT 1 AS one".into())
        .await
        .unwrap();
    assert_eq!(after.result_sets[0].rows, vec![vec![Some("1".to_string())]]);
    drop(emu);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_password_lives_in_the_keyring_and_never_in_the_profile_file() {
    let server = tempfile::tempdir().unwrap();
    let emu = demo_instance(server.path()).await;
    let home = tempfile::tempdir().unwrap();
    let st = state(home.path());
    let mut a = args(emu.addr().port(), "keysafe_operator", OPERATOR_PASSWORD);
    a.remember_password = true;
    desk::connect::connect(&st, a.clone()).await.unwrap();
    let file = std::fs::read_to_string(home.path().join("profiles.json")).unwrap();
    assert!(file.contains("keysafe_operator") && !file.contains(OPERATOR_PASSWORD));
    let profiles = desk::profiles::list(&st).unwrap();
    assert_eq!(profiles[0].folder, "Recent");
    // Connecting through the profile with no password typed uses the keyring's copy.
    let via_profile = ConnectArgs {
        password: None,
        profile: Some(profiles[0].name.clone()),
        ..a.clone()
    };
    let c = desk::connect::connect(&st, via_profile).await.unwrap();
    assert_eq!(c.profile.as_deref(), Some(profiles[0].name.as_str()));
    // Edit: a colour; a bad colour is refused with a clear error and changes nothing.
    let mut p = profiles[0].clone();
    p.color = Some("red; background:url(x)".into());
    let e = desk::profiles::save(&st, p.clone(), None).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    p.color = Some("#c62828".into());
    p.folder = "Production".into();
    // Strict with the server's certificate file: both kept, and the profile connects with them.
    p.encrypt = Encrypt::Strict;
    p.trust_server_certificate = false;
    p.certificate_file = emu.cert_pem_path().unwrap().display().to_string();
    p.host_name_in_certificate = "localhost".into();
    let list = desk::profiles::save(&st, p, None).unwrap();
    assert_eq!(list[0].folder, "Production");
    assert_eq!(list[0].encrypt, Encrypt::Strict);
    assert_eq!(
        list[0].certificate_file,
        emu.cert_pem_path().unwrap().display().to_string()
    );
    let strict = ConnectArgs {
        password: None,
        encrypt: Encrypt::Strict,
        trust_server_certificate: false,
        profile: Some(list[0].name.clone()),
        ..a
    };
    let c = desk::connect::connect(&st, strict).await.unwrap();
    assert_eq!(c.profile.as_deref(), Some(list[0].name.as_str()));
    let export = home.path().join("export.json");
    desk::profiles::export(&st, &export).unwrap();
    assert!(!std::fs::read_to_string(&export)
        .unwrap()
        .contains(OPERATOR_PASSWORD));
    // Deleting the profile removes its password from the keyring too.
    let account = keysafe_core::profiles::Profiles::load(home.path())
        .unwrap()
        .get(&list[0].name)
        .unwrap()
        .account();
    let stored = |a: &str| {
        keysafe_core::profiles::SecretStore::get(&keysafe_core::profiles::OsKeyring, a)
            .unwrap()
            .is_some()
    };
    assert!(
        stored(&account),
        "the remembered password is in the keyring"
    );
    desk::profiles::delete(&st, &list[0].name).unwrap();
    assert!(!stored(&account));
    drop(emu);
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_errors_cross_ipc_as_code_message_next_step_and_server() {
    let server = tempfile::tempdir().unwrap();
    let emu = demo_instance(server.path()).await;
    let home = tempfile::tempdir().unwrap();
    let st = state(home.path());
    let e = desk::connect::connect(
        &st,
        args(emu.addr().port(), "keysafe_operator", "wrong-password"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::LoginFailed);
    // SQL Server's message and the next step travel as fields of their own.
    let m = e.server.as_ref().expect("SQL Server's message");
    assert_eq!((m.number, m.level), (18456, 14), "{e:?}");
    assert!(
        e.next_step
            .as_deref()
            .unwrap_or_default()
            .contains("password"),
        "{e:?}"
    );
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["code"], "login_failed");
    assert_eq!(json["server"]["number"], 18456);
    let mut bad = args(emu.addr().port(), "keysafe_operator", OPERATOR_PASSWORD);
    bad.server = "sql01\\a\\b".into();
    assert_eq!(
        desk::connect::connect(&st, bad).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    // Strict always verifies the certificate: with "Trust server certificate" it is refused
    // before anything is sent, and says why.
    let mut strict = args(emu.addr().port(), "keysafe_operator", OPERATOR_PASSWORD);
    strict.encrypt = Encrypt::Strict;
    let e = desk::connect::connect(&st, strict).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(e.message.contains("always verifies"), "{}", e.message);
    let mut untrusted = args(emu.addr().port(), "keysafe_operator", OPERATOR_PASSWORD);
    untrusted.trust_server_certificate = false;
    assert_eq!(
        desk::connect::connect(&st, untrusted)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Tls
    );
    drop(emu);
}

#[test]
fn the_typescript_bindings_are_generated_from_the_rust_types() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ui/src/lib/bindings.ts"
    ))
    .unwrap();
    assert_eq!(
        committed,
        keysafe_app::commands::typescript(),
        "ui/src/lib/bindings.ts has drifted: run `cargo run --bin keysafe-app -- --write-bindings ui/src/lib/bindings.ts`"
    );
}

/// The engine says which keys can be backed up: a certificate whose private key is not in
/// the database (created from its public part only) cannot, and Object Explorer greys it.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_without_its_private_key_cannot_be_backed_up() {
    let server = tempfile::tempdir().unwrap();
    let emu = demo_instance(server.path()).await;
    let home = tempfile::tempdir().unwrap();
    let st = state(home.path());
    let c = desk::connect::connect(
        &st,
        args(emu.addr().port(), "sa", mssql_emulator::DEFAULT_SA_PASSWORD),
    )
    .await
    .unwrap();
    let out = desk::query::run_query(
        &st,
        c.id,
        "SELECT CERTENCODED(CERT_ID('TDE_Payroll'))".into(),
    )
    .await
    .unwrap();
    let public = out.result_sets[0].rows[0][0].clone().unwrap();
    assert!(public.starts_with("0x"), "{public}");
    let out = desk::query::run_query(
        &st,
        c.id,
        format!("USE HR; CREATE CERTIFICATE PublicOnly FROM BINARY = {public}"),
    )
    .await
    .unwrap();
    assert_eq!(out.errors, 0, "{:?}", out.messages);
    let tree = desk::explorer::explorer(&st, c.id).await.unwrap();
    let cert = |db: &str, name: &str| {
        tree.databases
            .iter()
            .find(|d| d.name == db)
            .and_then(|d| {
                d.certificates
                    .iter()
                    .find(|k| matches!(&k.key, KeyRef::Certificate { name: n, .. } if n == name))
            })
            .unwrap_or_else(|| panic!("{db}.{name}"))
            .clone()
    };
    assert!(!cert("HR", "PublicOnly").can_back_up);
    assert!(cert("master", "TDE_Payroll").can_back_up);
    assert!(tree.service_master_key.as_ref().unwrap().can_back_up);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_restore_says_where_the_attempt_is_recorded() {
    let server = tempfile::tempdir().unwrap();
    let emu = demo_instance(server.path()).await;
    let home = tempfile::tempdir().unwrap();
    let medium = tempfile::tempdir().unwrap();
    let backup_pw = "Restore!Backup#Pw-2026";
    // The demo's service master key on a medium, as a run leaves it.
    let operator = keysafe_test_support::sql_options(&emu, "keysafe_operator", OPERATOR_PASSWORD);
    let settings = keysafe_core::run::RunSettings::new(
        keysafe_core::run::Selection::ServiceMasterKey,
        medium.path(),
    );
    let (_, files) = keysafe_test_support::back_up_to_medium(&operator, &settings, backup_pw).await;

    let st = state(home.path());
    let c = connect_operator(&st, &emu).await;
    let restore = |confirmed: &str| RestoreArgs {
        report: files.json.display().to_string(),
        from_server: None,
        key: keysafe_core::backup::KeyRef::ServiceMasterKey,
        target_database: String::new(),
        server_dir: String::new(),
        server_dir_local: String::new(),
        wait_seconds: 1,
        force: false,
        add_service_master_key: false,
        verify_backup: String::new(),
        confirmed_instance: confirmed.into(),
    };
    let secrets = || RestoreSecretsView {
        backup: Secret::from(backup_pw.to_string()),
        master_key: None,
        shares: vec![],
    };
    // The wrong name typed: nothing changes, and the dialog's error names the record.
    let e = desk::recovery::run(&st, c.id, restore("SQLDEMO02"), secrets(), &|_| {})
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotConfirmed, "{}", e.message);
    let next = e.next_step.clone().unwrap_or_default();
    let kept = next
        .rsplit_once("The attempt is recorded in ")
        .map(|(_, p)| p.trim_end_matches('.').to_string())
        .unwrap_or_else(|| panic!("the error names the record: {next}"));
    assert!(
        kept.starts_with(&home.path().join("reports").display().to_string()),
        "{kept}"
    );
    let page = std::fs::read_to_string(&kept).unwrap();
    assert!(
        page.contains("Service Master Key"),
        "the report names the key"
    );
    assert!(!page.contains(backup_pw), "the report holds no secret");
}

/// "Print..." opens only a custodian's page this session wrote: any other file (a report, a
/// system file, a page of another session) is refused before a window is made.
#[test]
fn print_opens_only_pages_this_session_wrote() {
    let home = tempfile::tempdir().unwrap();
    let st = state(home.path());
    let page = home.path().join("share-ABCD1234-1-Ann.html");
    std::fs::write(&page, "<p>a page</p>").unwrap();
    for path in [page.display().to_string(), "/etc/hostname".into()] {
        let e = desk::backup::print_share_page(&st, &path).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{path}");
        assert!(
            e.message
                .contains("Only a custodian's page this session wrote"),
            "{}",
            e.message
        );
    }
}

/// The Key Parity dialog's commands: two open connections, the primary with a TDE database,
/// the DR server without its certificate; the check names it missing there, Copy Missing
/// copies it (a master key created with the typed password) and the check then holds. One
/// member alone is refused.
#[tokio::test(flavor = "multi_thread")]
async fn key_parity_finds_the_missing_certificate_and_copy_missing_makes_parity() {
    let (d1, d2, home) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let primary = keysafe_test_support::seeded(
        d1.path(),
        "SQL01",
        "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TDE_2025 WITH SUBJECT = 'TDE 2025';
CREATE DATABASE Payroll; USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_2025;
ALTER DATABASE Payroll SET ENCRYPTION ON;",
    )
    .await;
    let dr = keysafe_test_support::seeded(d2.path(), "SQLDR01", "SELECT 1;").await;
    let st = state(home.path());
    let sa = mssql_emulator::DEFAULT_SA_PASSWORD;
    let a = desk::connect::connect(&st, args(primary.addr().port(), "sa", sa))
        .await
        .unwrap();
    let b = desk::connect::connect(&st, args(dr.addr().port(), "sa", sa))
        .await
        .unwrap();
    let alone = ParityRequest {
        connections: vec![a.id],
        group: None,
        retention_days: 35,
    };
    assert_eq!(
        desk::parity::check(&st, &alone).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    let req = ParityRequest {
        connections: vec![a.id, b.id],
        group: None,
        retention_days: 35,
    };
    let before = desk::parity::check(&st, &req).await.unwrap();
    let cert = &before.parity.certificates[0];
    assert_eq!(cert.name, "TDE_2025");
    assert_eq!(cert.members[1].words, "MISSING");
    assert!(!before.parity.complete());
    let done = desk::parity::copy_missing(
        &st,
        &req,
        Some(Secret::from("DR!Master#Key2026".to_string())),
    )
    .await
    .unwrap();
    assert_eq!(done.copies.len(), 1);
    assert!(done.copies[0].proven(), "{:?}", done.copies);
    assert!(done.copies[0].copy.as_ref().unwrap().created_master_key);
    assert!(done.parity.complete(), "{:?}", done.parity);
    assert_eq!(
        done.parity.certificates[0].members[1].words,
        "present, with its private key"
    );
    // Nothing the dialog receives carries the typed password.
    assert!(!serde_json::to_string(&done)
        .unwrap()
        .contains("DR!Master#Key2026"));
}
