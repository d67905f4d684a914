//! The server under test, from the environment (README beside this crate):
//!
//! | Variable | Meaning |
//! |---|---|
//! | `KEYSAFE_TEST_SERVER` | `host[,port]` or `host\instance`; without it the suite starts the emulator |
//! | `KEYSAFE_TEST_LOGIN`, `KEYSAFE_TEST_PASSWORD` | a SQL login (sysadmin on a test instance) |
//! | `KEYSAFE_TEST_INTEGRATED` | `1`: Windows Authentication as the account running the tests (Windows only) |
//! | `KEYSAFE_TEST_ENCRYPT` | `mandatory` (default), `strict` or `optional` |
//! | `KEYSAFE_TEST_CA_FILE` | the CA (PEM) that signed the server's certificate |
//! | `KEYSAFE_TEST_TRUST_SERVER_CERTIFICATE` | `1`: no certificate check (containers with a self-signed one) |
//! | `KEYSAFE_TEST_SERVER_DIR` | the server folder for backups (default: its backup folder + `\Keysafe`) |
//! | `KEYSAFE_TEST_SERVER_DIR_LOCAL` | where this machine sees that folder, if it does |
//! | `KEYSAFE_TEST_THROWAWAY` | `1`: the instance may be changed (master's database master key created if missing; a TDE database made, which encrypts tempdb until the instance restarts) |
//! | `KEYSAFE_TEST_SECOND_SERVER` | a second instance (same login and TLS settings): copy-certificate copies to it |
//!
//! Without `KEYSAFE_TEST_SERVER` the `mssql-emulator` binary is started as a separate process
//! and these same variables are filled in for it, so the suite takes the path a real server
//! takes: TDS over TCP, T-SQL only.

use keysafe_core::connection::{ConnectOptions, Encrypt, Trust};
use keysafe_core::selftest::SelfTest;
use keysafe_core::Password;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The variables the suite reads, in the order the table above lists them.
pub const VARIABLES: &[&str] = &[
    "KEYSAFE_TEST_SERVER",
    "KEYSAFE_TEST_LOGIN",
    "KEYSAFE_TEST_PASSWORD",
    "KEYSAFE_TEST_INTEGRATED",
    "KEYSAFE_TEST_ENCRYPT",
    "KEYSAFE_TEST_CA_FILE",
    "KEYSAFE_TEST_TRUST_SERVER_CERTIFICATE",
    "KEYSAFE_TEST_SERVER_DIR",
    "KEYSAFE_TEST_SERVER_DIR_LOCAL",
    "KEYSAFE_TEST_THROWAWAY",
    "KEYSAFE_TEST_SECOND_SERVER",
];

/// The emulator's sa password when the suite starts it.
const EMULATOR_SA_PASSWORD: &str = "Conformance!Sa#2026";
/// The default scenario's backup folder (SQL Server 2022 on Windows) and Keysafe's below it.
const EMULATOR_SERVER_DIR: &str =
    r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Keysafe";

/// The server under test and, when the suite started it, the emulator process (stopped when
/// this is dropped).
pub struct Target {
    vars: HashMap<String, String>,
    pub work: tempfile::TempDir,
    emulator: Option<(Child, tempfile::TempDir)>,
    second_emulator: Option<(Child, tempfile::TempDir)>,
}

impl Target {
    /// `KEYSAFE_TEST_*` from the environment, or an emulator started for this test.
    pub fn from_env() -> Target {
        let env: HashMap<String, String> = VARIABLES
            .iter()
            .filter_map(|v| std::env::var(v).ok().map(|x| (v.to_string(), x)))
            .collect();
        let work = tempfile::tempdir().expect("a work folder");
        if env.contains_key("KEYSAFE_TEST_SERVER") {
            return Target {
                vars: env,
                work,
                emulator: None,
                second_emulator: None,
            };
        }
        let (child, dir, port) = start_emulator(None);
        let local: PathBuf = std::iter::once(dir.path().join("fs").join("C"))
            .chain(EMULATOR_SERVER_DIR[3..].split('\\').map(PathBuf::from))
            .collect();
        let vars = [
            ("KEYSAFE_TEST_SERVER", format!("localhost,{port}")),
            ("KEYSAFE_TEST_LOGIN", "sa".into()),
            ("KEYSAFE_TEST_PASSWORD", EMULATOR_SA_PASSWORD.into()),
            ("KEYSAFE_TEST_ENCRYPT", "mandatory".into()),
            (
                "KEYSAFE_TEST_CA_FILE",
                dir.path().join("tls-cert.pem").display().to_string(),
            ),
            ("KEYSAFE_TEST_SERVER_DIR", EMULATOR_SERVER_DIR.into()),
            ("KEYSAFE_TEST_SERVER_DIR_LOCAL", local.display().to_string()),
            ("KEYSAFE_TEST_THROWAWAY", "1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Target {
            vars,
            work,
            emulator: Some((child, dir)),
            second_emulator: None,
        }
    }

    /// The same, with a second instance: `KEYSAFE_TEST_SECOND_SERVER` from the environment,
    /// or a second emulator (with the first one's certificate, so one CA checks both).
    pub fn with_second() -> Target {
        let mut t = Target::from_env();
        if let Some((_, dir)) = &t.emulator {
            let tls = (
                dir.path().join("tls-cert.pem"),
                dir.path().join("tls-key.pem"),
            );
            let (child, dir2, port) = start_emulator(Some(tls));
            t.vars.insert(
                "KEYSAFE_TEST_SECOND_SERVER".into(),
                format!("localhost,{port}"),
            );
            t.second_emulator = Some((child, dir2));
        }
        t
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Whether the suite started the emulator (every check must then pass, none skip).
    pub fn is_emulator(&self) -> bool {
        self.emulator.is_some()
    }

    /// The connection as the variables describe it.
    pub fn options(&self) -> ConnectOptions {
        let server = self.var("KEYSAFE_TEST_SERVER").expect("a server");
        let address = server.parse().unwrap_or_else(|e| {
            panic!("KEYSAFE_TEST_SERVER={server:?} is not a server address: {e:?}")
        });
        let mut o = if self.var("KEYSAFE_TEST_INTEGRATED") == Some("1") {
            let mut o = ConnectOptions::sql(address, "", Password::new(""));
            o.authentication = keysafe_core::connection::Authentication::Windows;
            o
        } else {
            ConnectOptions::sql(
                address,
                self.var("KEYSAFE_TEST_LOGIN").unwrap_or("sa"),
                Password::new(
                    self.var("KEYSAFE_TEST_PASSWORD")
                        .expect("KEYSAFE_TEST_PASSWORD"),
                ),
            )
        };
        o.encrypt = match self.var("KEYSAFE_TEST_ENCRYPT").unwrap_or("mandatory") {
            "strict" => Encrypt::Strict,
            "optional" => Encrypt::Optional,
            _ => Encrypt::Mandatory,
        };
        o.trust = match (
            self.var("KEYSAFE_TEST_CA_FILE"),
            self.var("KEYSAFE_TEST_TRUST_SERVER_CERTIFICATE"),
        ) {
            (Some(ca), _) => Trust::CaFile(ca.into()),
            (None, Some("1")) => Trust::ServerCertificate,
            _ => Trust::PlatformStore,
        };
        o
    }

    /// The self-test's settings for this server, with `work` as its work folder.
    pub fn selftest(&self) -> SelfTest {
        SelfTest {
            target: self.options(),
            server_dir: self.var("KEYSAFE_TEST_SERVER_DIR").map(str::to_string),
            server_dir_local: self.var("KEYSAFE_TEST_SERVER_DIR_LOCAL").map(PathBuf::from),
            work: self.work.path().to_path_buf(),
            may_change_master: self.var("KEYSAFE_TEST_THROWAWAY") == Some("1"),
            second: self.var("KEYSAFE_TEST_SECOND_SERVER").map(|second| {
                let mut o = self.options();
                o.server = second.parse().unwrap_or_else(|e| {
                    panic!("KEYSAFE_TEST_SECOND_SERVER={second:?} is not a server address: {e:?}")
                });
                o
            }),
        }
    }

    /// The `keysafe` command's connection arguments for this server (the password by
    /// variable, never in argv); the variable itself is in `keysafe_env`.
    pub fn keysafe_args(&self) -> Vec<String> {
        let mut a = vec![
            "--server".into(),
            self.var("KEYSAFE_TEST_SERVER").expect("a server").into(),
            "--encrypt".into(),
            self.var("KEYSAFE_TEST_ENCRYPT")
                .unwrap_or("mandatory")
                .into(),
        ];
        if self.var("KEYSAFE_TEST_INTEGRATED") == Some("1") {
            a.push("--integrated".into());
        } else {
            a.extend([
                "--login".into(),
                self.var("KEYSAFE_TEST_LOGIN").unwrap_or("sa").into(),
                "--login-password-env".into(),
                "KEYSAFE_TEST_PASSWORD".into(),
            ]);
        }
        if let Some(ca) = self.var("KEYSAFE_TEST_CA_FILE") {
            a.extend(["--ca-file".into(), ca.into()]);
        } else if self.var("KEYSAFE_TEST_TRUST_SERVER_CERTIFICATE") == Some("1") {
            a.push("--trust-server-certificate".into());
        }
        a
    }

    /// The environment the `keysafe` command needs: the login's password, and a Keysafe home
    /// of its own under the work folder.
    pub fn keysafe_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "KEYSAFE_TEST_PASSWORD".into(),
                self.var("KEYSAFE_TEST_PASSWORD").unwrap_or("").into(),
            ),
            (
                "KEYSAFE_HOME".into(),
                self.work.path().join("home").display().to_string(),
            ),
        ]
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        for (child, _) in self
            .emulator
            .iter_mut()
            .chain(self.second_emulator.iter_mut())
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The workspace's target folder for this build (the test binary is in its `deps/`).
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// A binary of this workspace, built first when this test run did not build it.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    let path = build_dir().join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(root)
            .args(["build", "--locked", "-p", package, "--bin", bin])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {bin} failed");
    }
    path
}

fn start_emulator(tls: Option<(PathBuf, PathBuf)>) -> (Child, tempfile::TempDir, u16) {
    let dir = tempfile::tempdir().expect("the emulator's folder");
    let mut cmd = Command::new(workspace_binary("mssql-emulator", "mssql-emulator"));
    if let Some((cert, key)) = tls {
        cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
    }
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0", "--tls", "on", "--log", "warn"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("MSSQL_SA_PASSWORD", EMULATOR_SA_PASSWORD)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the emulator starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("its stdout"))
        .read_line(&mut line)
        .expect("its first line");
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the emulator did not say where it listens: {line:?}"));
    (child, dir, port)
}

/// What the suite compares before and after: every database, server principal, master
/// certificate and master key, msdb's backup history, and the databases with a database
/// encryption key (TDE), by name. tempdb is left out of the last: SQL Server encrypts it
/// while any database is encrypted and keeps it so until the instance restarts.
#[derive(Debug, PartialEq, Eq)]
pub struct Catalog {
    pub databases: Vec<String>,
    pub principals: Vec<String>,
    pub master_certificates: Vec<String>,
    pub master_keys: Vec<String>,
    pub backup_history: Vec<String>,
    pub encrypted_databases: Vec<String>,
}

pub async fn catalog(o: &ConnectOptions) -> Catalog {
    let mut c = keysafe_core::connection::connect(o)
        .await
        .expect("a connection");
    let sets = c
        .batch(
            "SELECT name FROM sys.databases ORDER BY name;
SELECT name FROM sys.server_principals ORDER BY name;
SELECT name FROM master.sys.certificates ORDER BY name;
SELECT name FROM master.sys.symmetric_keys ORDER BY name;
SELECT CONVERT(nvarchar(20), backup_set_id) + N' ' + database_name FROM msdb.dbo.backupset ORDER BY backup_set_id;
SELECT DB_NAME(database_id) FROM sys.dm_database_encryption_keys WHERE database_id <> 2 ORDER BY 1;",
        )
        .await
        .expect("the catalog");
    let names = |i: usize| -> Vec<String> {
        sets.get(i)
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r.get::<&str, _>(0).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Catalog {
        databases: names(0),
        principals: names(1),
        master_certificates: names(2),
        master_keys: names(3),
        backup_history: names(4),
        encrypted_databases: names(5),
    }
}
