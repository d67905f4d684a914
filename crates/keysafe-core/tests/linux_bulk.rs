//! SQL Server on Linux's bulk rules, known before anything is written: a login that is not
//! sysadmin on 2019 is refused in preflight with the reason; on 2022 CU24 it backs up into a
//! folder of bulkadmin.allowedpathslist, and is stopped by the folder probe (no file written)
//! elsewhere.

use keysafe_core::connection::ConnectOptions;
use keysafe_core::inventory::ReadBackVerdict;
use keysafe_core::run::{self, RunSettings, Selection};
use keysafe_core::{ErrorCode, Password};
use mssql_emulator::{Emulator, EmulatorConfig, Scenario, TlsMode};

const OPERATOR: &str = r#"
[[logins]]
name = "operator"
password = "Operat0r!Pass#1"
grant = ["CONTROL SERVER", "VIEW SERVER STATE", "ADMINISTER BULK OPERATIONS"]
"#;

struct Linux {
    dir: tempfile::TempDir,
    emu: Emulator,
}

async fn linux(server: &str) -> Linux {
    let dir = tempfile::tempdir().unwrap();
    let s = Scenario::from_toml(&format!(
        "folders = [\"/var/opt/mssql/keysafe\", \"/var/opt/mssql/other\"]\n[server]\nplatform = \"linux\"\n{server}\n{OPERATOR}"
    ))
    .unwrap();
    let emu = Emulator::start(
        EmulatorConfig::new(dir.path().join("server"))
            .scenario(s)
            .tls(TlsMode::On),
    )
    .await
    .unwrap();
    Linux { dir, emu }
}

fn operator(l: &Linux) -> ConnectOptions {
    keysafe_test_support::sql_options(&l.emu, "operator", "Operat0r!Pass#1")
}

fn secrets() -> keysafe_core::backup::Secrets {
    keysafe_core::backup::Secrets::new(Password::new("Linux!Backup#2026"))
}

fn settings(l: &Linux, server_dir: &str) -> RunSettings {
    RunSettings::new(Selection::ServiceMasterKey, l.dir.path().join("medium"))
        .in_server_folder(server_dir)
}

fn server_files(l: &Linux, folder: &str) -> usize {
    let host = l
        .dir
        .path()
        .join("server/fs")
        .join(folder.trim_start_matches('/'));
    std::fs::read_dir(host).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn linux_2019_refuses_a_login_that_is_not_sysadmin_before_writing_anything() {
    let l = linux("version = 2019").await;
    let o = operator(&l);
    let mut c = keysafe_core::connection::connect(&o).await.unwrap();
    let facts = keysafe_core::inventory::preflight(&mut c).await.unwrap();
    assert_eq!(facts.read_back.verdict, ReadBackVerdict::Impossible);
    assert!(
        facts.read_back.reason.contains("only sysadmin"),
        "{}",
        facts.read_back.reason
    );
    let r = run::back_up_instance(
        &o,
        &settings(&l, "/var/opt/mssql/keysafe"),
        &secrets(),
        &|_| {},
    )
    .await;
    let e = r.error.expect("refused");
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(
        e.message.starts_with("Nothing was backed up"),
        "{}",
        e.message
    );
    assert!(e.next_step.unwrap().contains("allowedpathslist"));
    assert!(r.keys.is_empty());
    assert_eq!(
        server_files(&l, "/var/opt/mssql/keysafe"),
        0,
        "nothing written"
    );
}

#[tokio::test]
async fn linux_2022_cu24_reads_back_only_in_an_allowed_folder_and_probes_first() {
    let l = linux(
        "version = 2022\ncumulative_update = 24\nbulk_allowed_paths = [\"/var/opt/mssql/keysafe\"]",
    )
    .await;
    let o = operator(&l);
    let mut c = keysafe_core::connection::connect(&o).await.unwrap();
    let facts = keysafe_core::inventory::preflight(&mut c).await.unwrap();
    assert_eq!(facts.update_level.as_deref(), Some("CU24"));
    assert_eq!(facts.read_back.verdict, ReadBackVerdict::Conditional);
    // Listed: backed up and verified.
    let r = run::back_up_instance(
        &o,
        &settings(&l, "/var/opt/mssql/keysafe"),
        &secrets(),
        &|_| {},
    )
    .await;
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(r.all_verified(), "{:?}", r.keys);
    assert_eq!(
        server_files(&l, "/var/opt/mssql/keysafe"),
        1,
        "the backup, where counted"
    );
    // Not listed: the probe stops it before the BACKUP.
    let r = run::back_up_instance(
        &o,
        &settings(&l, "/var/opt/mssql/other"),
        &secrets(),
        &|_| {},
    )
    .await;
    let e = r.error.expect("refused");
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e:?}");
    assert!(
        e.message.starts_with("Nothing was backed up"),
        "{}",
        e.message
    );
    assert!(e
        .next_step
        .unwrap()
        .contains("mssql-conf set bulkadmin.allowedpathslist"));
    assert_eq!(
        server_files(&l, "/var/opt/mssql/other"),
        0,
        "nothing written"
    );
}
