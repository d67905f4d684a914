//! Strict encryption (TDS 8.0) over real TCP: TLS before PRELOGIN with ALPN tds/8.0, against
//! an emulated SQL Server 2022 with "Force Strict Encryption" set, and what a client that is
//! not Strict is told there.

use keysafe_core::backup::{self, BackupOptions, KeyRef, Outcome, Secrets};
use keysafe_core::connection::{connect, ConnectOptions, Encrypt, Trust};
use keysafe_core::{inventory, ErrorCode};
use mssql_emulator::{Emulator, EmulatorConfig, Scenario};

async fn force_strict(dir: &std::path::Path) -> Emulator {
    let scenario = format!(
        "{}\n",
        mssql_emulator::scenarios::DEMO.replacen(
            "[server]\n",
            "[server]\nforce_strict_encryption = true\n",
            1
        )
    );
    Emulator::start(
        EmulatorConfig::new(dir.join("server")).scenario(Scenario::from_toml(&scenario).unwrap()),
    )
    .await
    .unwrap()
}

fn strict(emu: &Emulator) -> ConnectOptions {
    let mut o = keysafe_test_support::sql_options(emu, "keysafe_operator", "Operat0r!Pass#1");
    o.encrypt = Encrypt::Strict;
    o
}

#[tokio::test]
async fn a_strict_backup_of_the_service_master_key_is_verified_on_a_force_strict_instance() {
    let dir = tempfile::tempdir().unwrap();
    let emu = force_strict(dir.path()).await;
    let medium = dir.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    let mut c = match connect(&strict(&emu)).await {
        Ok(c) => c,
        Err(e) if keysafe_core::windows::under_wine() => {
            // Wine's SChannel: see the README's Windows section. The refusal must be a clear
            // TLS error, not a hang or a bare I/O error.
            assert_eq!(e.code, ErrorCode::Tls, "{e:?}");
            return;
        }
        Err(e) => panic!("{e:?}"),
    };
    if keysafe_core::windows::under_wine() {
        // Wine's SChannel stalls full-session TLS on responses over about 1 KiB (README,
        // "Windows"), and Strict is always full-session: a small exchange only.
        assert_eq!(c.current_database().await.unwrap(), "master");
        return;
    }
    let inv = inventory::inventory(&mut c).await.unwrap();
    let plan = backup::plan(
        &inv,
        &[KeyRef::ServiceMasterKey],
        &BackupOptions {
            server_dir: None,
            copy_to: medium.clone(),
            format: None,
        },
        &Secrets::new(keysafe_core::password::generate(24)),
        chrono::Utc::now(),
    )
    .unwrap();
    let server_dir = backup::default_server_dir(&inv).unwrap();
    backup::ensure_server_dir(&mut c, &server_dir)
        .await
        .unwrap();
    let r = backup::run_one(&mut c, &plan[0], &medium).await;
    assert_eq!(r.outcome, Outcome::Verified, "{:?}", r.error);
    let f = &r.files[0];
    let on_server = std::fs::read(emu.instance().host_path(&f.server_path).unwrap()).unwrap();
    assert_eq!(
        std::fs::read(&f.copy.as_ref().unwrap().path).unwrap(),
        on_server
    );
}

#[tokio::test]
async fn mandatory_against_force_strict_is_told_to_choose_strict() {
    let dir = tempfile::tempdir().unwrap();
    let emu = force_strict(dir.path()).await;
    for encrypt in [Encrypt::Mandatory, Encrypt::Optional] {
        let mut o = strict(&emu);
        o.encrypt = encrypt;
        let e = match connect(&o).await {
            Ok(_) => panic!("{encrypt:?} connected to a force-strict instance"),
            Err(e) => e,
        };
        assert_eq!(e.code, ErrorCode::StrictRequired, "{encrypt:?}: {e:?}");
        assert!(
            e.message.contains("Force Strict Encryption"),
            "{}",
            e.message
        );
        assert!(e.next_step.unwrap().contains("Encrypt = Strict"));
    }
    // Nothing reached a login: every connection ended before one.
    assert!(emu.closed_connections().iter().all(|c| c.requests == 0));
}

#[tokio::test]
async fn strict_refuses_to_trust_any_certificate_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let emu = force_strict(dir.path()).await;
    let mut o = strict(&emu);
    o.trust = Trust::ServerCertificate;
    let e = connect(&o).await.err().expect("refused");
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(e
        .message
        .contains("always verifies the server's certificate"));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        emu.closed_connections().is_empty(),
        "no connection was made"
    );
}

#[tokio::test]
async fn strict_checks_the_name_in_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let emu = force_strict(dir.path()).await;
    let mut o = strict(&emu);
    o.host_name_in_certificate = Some("not-this-server".into());
    let e = connect(&o).await.err().expect("a wrong name is refused");
    assert_eq!(e.code, ErrorCode::Tls, "{e:?}");
    o.host_name_in_certificate = Some("SQLDEMO01".into());
    if !keysafe_core::windows::under_wine() {
        connect(&o).await.expect("the name the certificate holds");
    }
}
