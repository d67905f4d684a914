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
        chrono::Utc::now(),
    )
    .unwrap();
    let secrets = Secrets::new(keysafe_core::password::generate(24));
    let server_dir = backup::default_server_dir(&inv).unwrap();
    backup::ensure_server_dir(&mut c, &server_dir)
        .await
        .unwrap();
    let r = backup::run_one(&mut c, &plan[0], &secrets, &medium).await;
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

#[tokio::test]
async fn a_server_that_just_hangs_up_is_not_said_to_want_strict() {
    // Accepts, then closes every connection without a word: TDS 8.0's handshake fails too,
    // so the error stays what it is.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            drop(tcp);
        }
    });
    let mut o = ConnectOptions::sql(
        format!("127.0.0.1,{port}").parse().unwrap(),
        "sa",
        keysafe_core::Password::new("x"),
    );
    o.connect_timeout = std::time::Duration::from_secs(5);
    let e = connect(&o).await.err().expect("nothing to connect to");
    assert_ne!(e.code, ErrorCode::StrictRequired, "{e:?}");
    assert_eq!(e.code, ErrorCode::ConnectionLost, "{e:?}");
}

#[tokio::test]
async fn a_connection_lost_after_prelogin_at_a_server_that_also_speaks_tds8_keeps_its_error() {
    // SQL Server 2022 with a certificate takes TDS 8.0 and 7.x alike. Between it and Keysafe,
    // a relay cuts the first connection when its LOGIN7 arrives and passes the others:
    // the failure is the network's, and the probe's plain PRELOGIN is answered, so Strict is
    // not named (a TDS 8.0 handshake alone would have succeeded here).
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(
        EmulatorConfig::new(dir.path().join("server"))
            .scenario(Scenario::from_toml(mssql_emulator::scenarios::DEMO).unwrap()),
    )
    .await
    .unwrap();
    let upstream = emu.addr();
    // 0x17: TLS application data, the LOGIN7 once the handshake is done.
    let port =
        keysafe_test_support::relay(upstream, |conn, chunk| conn > 0 || chunk[0] != 0x17).await;
    let mut o = strict(&emu);
    // Login-only encryption: after LOGIN7 the session is plaintext, so the cut reads as the
    // bare network error a Strict-forcing server also gives.
    o.encrypt = Encrypt::Optional;
    o.server = format!("localhost,{port}").parse().unwrap();
    let e = connect(&o).await.err().expect("the relay cut the login");
    // The failure Keysafe would otherwise have probed (a bare network error before login).
    assert_eq!(e.code, ErrorCode::ConnectionLost, "{e:?}");
}

#[tokio::test]
async fn a_server_that_answers_tds7_and_then_fails_is_not_said_to_want_strict() {
    // Answers every PRELOGIN with an empty TABULAR RESULT packet, then hangs up: the client
    // fails before its login, but the server took TDS 7.x, so Strict is not the fix.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                if tcp.read(&mut buf).await.unwrap_or(0) > 0 {
                    let _ = tcp.write_all(&[0x04, 0x01, 0x00, 0x08, 0, 0, 1, 0]).await;
                }
            });
        }
    });
    let mut o = ConnectOptions::sql(
        format!("127.0.0.1,{port}").parse().unwrap(),
        "sa",
        keysafe_core::Password::new("x"),
    );
    o.connect_timeout = std::time::Duration::from_secs(5);
    let e = connect(&o).await.err().expect("no SQL Server there");
    assert_ne!(e.code, ErrorCode::StrictRequired, "{e:?}");
}
