//! The wire protocol, driven by tiberius over real TCP: every client encryption level,
//! certificate verification, login failures, packet sizes, RPC parameters.

mod common;
use common::*;
use mssql_emulator::{TlsMode, DEFAULT_SA_PASSWORD};
use tiberius::EncryptionLevel;

#[tokio::test]
async fn select_one_works_at_every_client_encryption_level() {
    let r = start().await;
    for level in [
        EncryptionLevel::NotSupported,
        EncryptionLevel::Off,
        EncryptionLevel::On,
        EncryptionLevel::Required,
    ] {
        let mut c = connect_with(config(&r, "sa", DEFAULT_SA_PASSWORD, level))
            .await
            .unwrap_or_else(|e| panic!("{level:?}: {e}"));
        assert_eq!(scalar_i32(&mut c, "SELECT 1").await, Some(1), "{level:?}");
        // A second batch proves the stream is still in sync after login-only encryption.
        assert_eq!(
            scalar_str(&mut c, "SELECT N'après ' + 'x'")
                .await
                .as_deref(),
            Some("après x"),
            "{level:?}"
        );
    }
}

#[tokio::test]
async fn the_certificate_verifies_against_tls_cert_pem() {
    let r = start().await;
    let pem = r.emu.cert_pem_path().expect("TLS on").to_path_buf();
    assert_eq!(pem, r.dir.path().join("tls-cert.pem"));
    for host in ["localhost", "127.0.0.1"] {
        let mut cfg = base_config(&r, "sa", DEFAULT_SA_PASSWORD, EncryptionLevel::Required);
        cfg.host(host);
        cfg.trust_cert_ca(pem.to_str().unwrap());
        let mut c = connect_with(cfg)
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(scalar_i32(&mut c, "SELECT 2").await, Some(2));
    }
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_rejected() {
    let r = start().await;
    let other = start().await;
    let mut cfg = base_config(&r, "sa", DEFAULT_SA_PASSWORD, EncryptionLevel::Required);
    cfg.trust_cert_ca(other.emu.cert_pem_path().unwrap().to_str().unwrap());
    let err = connect_with(cfg).await.expect_err("must not connect");
    assert!(
        err.to_string().to_lowercase().contains("certificate")
            || matches!(err, tiberius::error::Error::Tls(_)),
        "{err}"
    );
}

#[tokio::test]
async fn tls_required_refuses_a_client_that_cannot_encrypt_and_off_serves_it() {
    let req = start_with(None, TlsMode::Required).await;
    assert!(connect_with(config(
        &req,
        "sa",
        DEFAULT_SA_PASSWORD,
        EncryptionLevel::NotSupported
    ))
    .await
    .is_err());
    let mut c = connect_with(config(
        &req,
        "sa",
        DEFAULT_SA_PASSWORD,
        EncryptionLevel::Off,
    ))
    .await
    .unwrap();
    assert_eq!(scalar_i32(&mut c, "SELECT 3").await, Some(3));

    let off = start_with(None, TlsMode::Off).await;
    assert!(off.emu.cert_pem_path().is_none());
    let mut c = connect_with(config(
        &off,
        "sa",
        DEFAULT_SA_PASSWORD,
        EncryptionLevel::NotSupported,
    ))
    .await
    .unwrap();
    assert_eq!(scalar_i32(&mut c, "SELECT 4").await, Some(4));
}

#[tokio::test]
async fn a_wrong_password_or_unknown_login_gets_18456_class_14() {
    let r = start().await;
    for (u, p) in [("sa", "wrong"), ("nobody", DEFAULT_SA_PASSWORD)] {
        match connect_with(config(&r, u, p, EncryptionLevel::Required)).await {
            Err(tiberius::error::Error::Server(e)) => {
                assert_eq!(e.code(), 18456);
                assert_eq!(e.class(), 14);
                assert_eq!(e.message(), format!("Login failed for user '{u}'."));
            }
            other => panic!("expected 18456, got {other:?}", other = other.map(|_| ())),
        }
    }
    // The server is still fine.
    let mut c = sa(&r).await;
    assert_eq!(scalar_i32(&mut c, "SELECT 5").await, Some(5));
}

#[tokio::test]
async fn rpc_parameters_of_every_catalog_type_round_trip() {
    let r = start().await;
    let mut c = sa(&r).await;
    let long = "ä".repeat(5000);
    let bin = vec![7u8; 9000];
    let g = uuid::Uuid::new_v4();
    let rows = c
        .query(
            "SELECT @P1, @P2, @P3, @P4, @P5, @P6, @P7, DATALENGTH(@P5), @P1 + 1",
            &[
                &41i32,
                &(1i64 << 40),
                &true,
                &"short",
                &long.as_str(),
                &bin.as_slice(),
                &g,
            ],
        )
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let row = &rows[0];
    assert_eq!(row.get::<i32, _>(0), Some(41));
    assert_eq!(row.get::<i64, _>(1), Some(1 << 40));
    assert_eq!(row.get::<bool, _>(2), Some(true));
    assert_eq!(row.get::<&str, _>(3), Some("short"));
    assert_eq!(row.get::<&str, _>(4), Some(long.as_str()));
    assert_eq!(row.get::<&[u8], _>(5), Some(bin.as_slice()));
    assert_eq!(row.get::<uuid::Uuid, _>(6), Some(g));
    assert_eq!(row.get::<i64, _>(7), Some(10000));
    assert_eq!(row.get::<i32, _>(8), Some(42));
}

#[tokio::test]
async fn large_results_span_many_packets() {
    let r = start().await;
    let mut c = sa(&r).await;
    let rows = ok(&mut c, "SELECT REPLICATE_ME = CAST(@@VERSION AS nvarchar(max)) FROM sys.databases CROSS JOIN sys.server_principals").await;
    assert!(rows[0].len() > 40);
    let text = s(&rows[0][0], 0).unwrap();
    assert!(text.starts_with("Microsoft SQL Server 2022"), "{text}");
}

#[tokio::test]
async fn two_hundred_instances_run_in_one_process() {
    let mut running = Vec::new();
    for _ in 0..200 {
        running.push(start_with(None, TlsMode::Off).await);
    }
    let ports: std::collections::HashSet<u16> =
        running.iter().map(|r| r.emu.addr().port()).collect();
    assert_eq!(ports.len(), 200, "each has its own port");
    let mut set = tokio::task::JoinSet::new();
    for r in &running {
        let cfg = config(r, "sa", DEFAULT_SA_PASSWORD, EncryptionLevel::NotSupported);
        set.spawn(async move {
            let mut c = connect_with(cfg).await.unwrap();
            scalar_i32(&mut c, "SELECT 1").await
        });
    }
    let mut answered = 0;
    while let Some(r) = set.join_next().await {
        answered += (r.unwrap() == Some(1)) as usize;
    }
    assert_eq!(answered, 200);
    // Each keeps its own state: a database created in one is absent from the next.
    let mut a = connect_with(config(
        &running[0],
        "sa",
        DEFAULT_SA_PASSWORD,
        EncryptionLevel::NotSupported,
    ))
    .await
    .unwrap();
    ok(&mut a, "CREATE DATABASE OnlyHere").await;
    let mut b = connect_with(config(
        &running[1],
        "sa",
        DEFAULT_SA_PASSWORD,
        EncryptionLevel::NotSupported,
    ))
    .await
    .unwrap();
    assert_eq!(
        scalar_i32(
            &mut b,
            "SELECT COUNT(*) FROM sys.databases WHERE name = 'OnlyHere'"
        )
        .await,
        Some(0)
    );
}

#[tokio::test]
async fn network_latency_holds_back_every_response_the_client_waits_for() {
    let r = start().await;
    r.emu
        .faults()
        .latency_ms
        .store(40, std::sync::atomic::Ordering::SeqCst);
    let t = std::time::Instant::now();
    let mut c = sa(&r).await;
    assert_eq!(scalar_i32(&mut c, "SELECT 1").await, Some(1));
    let elapsed = t.elapsed();
    drop(c);
    let stats = r.emu.wait_for_closed(1).await;
    let n = stats[0].round_trips;
    // PRELOGIN, the TLS flights, LOGIN7 and the batch: each waited 40 ms at least.
    assert!(n >= 4, "{stats:?}");
    assert!(
        elapsed >= std::time::Duration::from_millis(40 * n as u64),
        "{n} round trips took only {elapsed:?}"
    );
}
