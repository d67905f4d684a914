//! A fleet: 60 emulated instances, bounded concurrency, one dead instance isolated.

use keysafe_core::connection::{ConnectOptions, Trust};
use keysafe_core::report::Report;
use keysafe_core::run::{self, RunSettings, Selection};
use keysafe_core::{ErrorCode, Password};
use mssql_emulator::{Emulator, EmulatorConfig, Scenario, TlsMode, DEFAULT_SA_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_instances_back_up_with_one_failure_isolated() {
    let root = tempfile::tempdir().unwrap();
    let mut emus = Vec::new();
    for i in 0..60 {
        let s =
            Scenario::from_toml(&format!("[server]\nmachine_name = \"SQLFLEET{i:02}\"\n")).unwrap();
        emus.push(
            Emulator::start(
                EmulatorConfig::new(root.path().join(format!("srv{i}")))
                    .scenario(s)
                    .tls(TlsMode::On),
            )
            .await
            .unwrap(),
        );
    }
    let mut targets: Vec<ConnectOptions> = emus
        .iter()
        .map(|e| {
            let mut o = keysafe_test_support::sql_options(e, "sa", DEFAULT_SA_PASSWORD);
            if keysafe_core::windows::under_wine() {
                // Wine's crypt32 sometimes fails one of sixteen concurrent chain checks with
                // TRUST_E_CERT_SIGNATURE (0x80096004); the CA check runs in the other tests.
                o.trust = Trust::ServerCertificate;
            }
            o
        })
        .collect();
    // One instance is down.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    targets[17].server = format!("127.0.0.1,{dead_port}").parse().unwrap();
    let medium = root.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    let settings = RunSettings::new(Selection::ServiceMasterKey, &medium);
    let reports = run::back_up_fleet(
        &targets,
        &settings,
        &keysafe_core::backup::Secrets::new(Password::new("Fleet!Backup#2026")),
        16,
        &|_| {},
    )
    .await;
    assert_eq!(reports.len(), 60);
    let report = Report::new(
        "tester".into(),
        chrono::Utc::now(),
        medium.clone(),
        Default::default(),
        reports,
    );
    let failed: Vec<String> = report
        .instances
        .iter()
        .filter(|i| !i.all_verified())
        .map(|i| {
            let key_errors = i.keys.iter().filter_map(|k| k.error.as_ref());
            let errors: Vec<String> = i
                .error
                .iter()
                .chain(key_errors)
                .map(|e| e.describe())
                .collect();
            format!("{}: {}", i.server, errors.join("; "))
        })
        .collect();
    assert_eq!(report.summary.keys_verified, 59, "{failed:#?}");
    assert_eq!(
        report.instances[17].error.as_ref().unwrap().code,
        ErrorCode::ConnectionRefused
    );
    assert_eq!(
        report.instances[18].server, "SQLFLEET18",
        "reports keep the input order"
    );
    assert!(!report.succeeded());
    // One folder per instance on the medium, each with its SMK copy.
    let folders = std::fs::read_dir(&medium).unwrap().count();
    assert_eq!(folders, 59);
    let csv = report.to_csv();
    assert_eq!(csv.lines().count(), 1 + 60, "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_instance_holds_its_own_slot_not_the_queue() {
    let root = tempfile::tempdir().unwrap();
    let mut emus = Vec::new();
    for name in ["SQLSLOW", "SQLA", "SQLB", "SQLC", "SQLD", "SQLE"] {
        let s = Scenario::from_toml(&format!("[server]\nmachine_name = \"{name}\"\n")).unwrap();
        emus.push(
            Emulator::start(EmulatorConfig::new(root.path().join(name)).scenario(s))
                .await
                .unwrap(),
        );
    }
    // The first instance answers each request a second late: four seconds for its backup
    // (three seconds under Wine, where the five others' TLS and logins run several times
    // slower and a loaded CI machine slows them further).
    let delay = if keysafe_core::windows::under_wine() {
        3000
    } else {
        1000
    };
    emus[0]
        .faults()
        .delay_ms
        .store(delay, std::sync::atomic::Ordering::SeqCst);
    let targets: Vec<ConnectOptions> = emus
        .iter()
        .map(|e| keysafe_test_support::sql_options(e, "sa", DEFAULT_SA_PASSWORD))
        .collect();
    let medium = root.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    let settings = RunSettings::new(Selection::ServiceMasterKey, &medium);
    let finished = std::sync::Mutex::new(Vec::new());
    let reports = run::back_up_fleet(
        &targets,
        &settings,
        &keysafe_core::backup::Secrets::new(Password::new("Fleet!Backup#2026")),
        2,
        &|p| {
            if let run::Progress::InstanceDone { server, verified } = p {
                finished.lock().unwrap().push((server, verified));
            }
        },
    )
    .await;
    let finished = finished.into_inner().unwrap();
    let errors: Vec<String> = reports
        .iter()
        .filter_map(|r| {
            r.error
                .as_ref()
                .map(|e| format!("{}: {}", r.server, e.message))
        })
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // With two slots, the five others went through the second one while the first waited.
    let names: Vec<&str> = finished.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert_eq!(names[5], "SQLSLOW", "{names:?}");
    assert!(finished.iter().all(|(_, v)| *v), "{finished:?}");
    // Reports still come back in the order the targets were given.
    let servers: Vec<&str> = reports.iter().map(|r| r.server.as_str()).collect();
    assert_eq!(servers, ["SQLSLOW", "SQLA", "SQLB", "SQLC", "SQLD", "SQLE"]);
}
