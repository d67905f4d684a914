//! The `mssql-emulator` binary's contract: the command line, `listening on ADDR`,
//! tls-cert.pem, exit codes, and that no secret reaches its logs or its data dir.

mod common;
use common::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

struct Child {
    child: std::process::Child,
    addr: String,
}

fn spawn(dir: &std::path::Path, extra: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mssql-emulator"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Child { child, addr }
}

impl Child {
    fn stop(mut self) -> String {
        #[cfg(unix)]
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM)
        };
        #[cfg(not(unix))]
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        #[cfg(unix)]
        assert!(status.success(), "clean exit on SIGTERM, got {status:?}");
        let _ = status;
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        err
    }
}

fn all_files_contain(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                hits.push(p);
            }
        }
    }
    hits
}

#[tokio::test]
async fn the_binary_prints_its_address_and_writes_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let child = spawn(
        dir.path(),
        &["--tls", "required", "--sa-password", "Cli!Sa#Pass99"],
    );
    assert!(dir.path().join("tls-cert.pem").is_file());
    let port: u16 = child.addr.rsplit(':').next().unwrap().parse().unwrap();
    let mut cfg = tiberius::Config::new();
    cfg.host("localhost");
    cfg.port(port);
    cfg.authentication(tiberius::AuthMethod::sql_server("sa", "Cli!Sa#Pass99"));
    cfg.encryption(tiberius::EncryptionLevel::Required);
    cfg.trust_cert_ca(dir.path().join("tls-cert.pem").to_str().unwrap());
    let mut c = connect_with(cfg).await.unwrap();
    assert_eq!(scalar_i32(&mut c, "SELECT 1").await, Some(1));
    child.stop();
}

#[test]
fn a_bad_scenario_is_a_clear_error_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nversion = 2012\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mssql-emulator"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("d"))
        .arg("--scenario")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.version must be 2016, 2017, 2019, 2022 or 2025, not 2012"),
        "{err}"
    );
}

#[tokio::test]
async fn no_secret_reaches_the_log_or_the_data_dir_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let login_pw = format!("Canary!Login#{}", std::process::id());
    let backup_pw = format!("Canary!Backup#{}", std::process::id());
    let child = spawn(
        dir.path(),
        &["--log", "trace", "--sa-password", "Cli!Sa#Pass99"],
    );
    let port: u16 = child.addr.rsplit(':').next().unwrap().parse().unwrap();
    let mut cfg = tiberius::Config::new();
    cfg.host("127.0.0.1");
    cfg.port(port);
    cfg.authentication(tiberius::AuthMethod::sql_server("sa", "Cli!Sa#Pass99"));
    cfg.trust_cert();
    cfg.encryption(tiberius::EncryptionLevel::NotSupported);
    let mut c = connect_with(cfg.clone()).await.unwrap();
    ok(
        &mut c,
        &format!(
            "CREATE LOGIN watcher WITH PASSWORD = '{login_pw}'; GRANT CONTROL SERVER TO watcher"
        ),
    )
    .await;
    let mut lc = cfg.clone();
    lc.authentication(tiberius::AuthMethod::sql_server("watcher", &login_pw));
    let mut c2 = connect_with(lc).await.unwrap();
    ok(&mut c2, &format!("BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\\canary.key' ENCRYPTION BY PASSWORD = '{backup_pw}'")).await;
    fails(&mut c2, &format!("BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\\canary.key' ENCRYPTION BY PASSWORD = '{backup_pw}'"), 15240).await;
    // A failed login with the secret as a wrong password, too.
    let mut bad = cfg.clone();
    bad.authentication(tiberius::AuthMethod::sql_server("sa", &backup_pw));
    assert!(connect_with(bad).await.is_err());
    drop((c, c2));
    let log = child.stop();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logging was on"
    );
    for secret in [&login_pw, &backup_pw] {
        assert!(!log.contains(secret.as_str()), "a secret is in the log");
        assert!(
            all_files_contain(dir.path(), secret.as_bytes()).is_empty(),
            "a secret is in the data dir"
        );
        let utf16: Vec<u8> = secret
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert!(all_files_contain(dir.path(), &utf16).is_empty());
    }
}
