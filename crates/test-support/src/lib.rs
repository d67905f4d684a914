//! What Keysafe's tests share, in one place instead of copied into each test file: how to
//! reach an emulated instance over TLS with its CA checked, and the one allowance Wine needs.

use keysafe_core::connection::{ConnectOptions, Encrypt, Trust};
use keysafe_core::Password;
use mssql_emulator::{Emulator, EmulatorConfig, Scenario};

/// Whole-session TLS, except under Wine: its SChannel stalls full-session TLS on responses
/// that arrive split mid-record (README, "Windows"), so there only the login is encrypted
/// (still with the CA checked). On Windows and Linux: Mandatory.
pub fn encrypt() -> Encrypt {
    if keysafe_core::windows::under_wine() {
        Encrypt::Optional
    } else {
        Encrypt::Mandatory
    }
}

/// The CLI's arguments for the same: `--encrypt optional` under Wine only.
pub fn encrypt_args() -> Vec<String> {
    if keysafe_core::windows::under_wine() {
        vec!["--encrypt".into(), "optional".into()]
    } else {
        vec![]
    }
}

/// A SQL login to the emulator at localhost, its certificate checked against the emulator's
/// CA.
pub fn sql_options(emu: &Emulator, login: &str, password: &str) -> ConnectOptions {
    let mut o = ConnectOptions::sql(
        format!("localhost,{}", emu.addr().port())
            .parse()
            .expect("an address"),
        login,
        Password::new(password),
    );
    if let Some(ca) = emu.cert_pem_path() {
        o.trust = Trust::CaFile(ca.to_path_buf());
    }
    o.encrypt = encrypt();
    o
}

/// `o` pointed at a local port nobody listens on (2 s to give up): a member that cannot be
/// reached.
pub fn unreachable(mut o: ConnectOptions) -> ConnectOptions {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = free.local_addr().expect("an address").port();
    drop(free);
    o.server = format!("localhost,{port}").parse().expect("an address");
    o.connect_timeout = std::time::Duration::from_secs(2);
    o
}

/// An emulated instance of `scenario` (TOML) with its state in `dir/server`, TLS on.
pub async fn emulator(dir: &std::path::Path, scenario: &str) -> Emulator {
    Emulator::start(
        EmulatorConfig::new(dir.join("server"))
            .scenario(Scenario::from_toml(scenario).expect("a valid scenario")),
    )
    .await
    .expect("the emulator starts")
}

/// An emulated instance named `machine`, state in `dir/server`, with `seed` (T-SQL) run as sa
/// first: the second instance of recovery tests, or one with backups already taken.
pub async fn seeded(dir: &std::path::Path, machine: &str, seed: &str) -> Emulator {
    let emu = emulator(dir, &format!("[server]\nmachine_name = \"{machine}\"\n")).await;
    emu.instance()
        .run_as("sa", seed)
        .unwrap_or_else(|e| panic!("the seed fails: {e:?}"));
    emu
}

/// Backs up what `settings` selects from `target` to the medium `settings` names, as a run
/// of the CLI or the app does (`run::execute`: the medium prepared, the report written on it,
/// the run recorded in a history beside it), and asserts every key was verified: the medium
/// the recovery tests restore from.
pub async fn back_up_to_medium(
    target: &ConnectOptions,
    settings: &keysafe_core::run::RunSettings,
    backup_password: &str,
) -> (
    keysafe_core::report::Report,
    keysafe_core::report::ReportFiles,
) {
    let medium = settings.backup.copy_to.clone();
    let request = keysafe_core::run::RunRequest {
        targets: vec![target.clone()],
        settings: settings.clone(),
        concurrency: 1,
        custody: Default::default(),
        report_dir: medium.clone(),
        history: medium.with_extension("history.jsonl"),
        instance_splits: Default::default(),
        parity_risks: Default::default(),
    };
    let record = keysafe_core::run::execute(
        &request,
        &keysafe_core::backup::Secrets::new(Password::new(backup_password)),
        &|_| {},
    )
    .await
    .expect("the backup run");
    assert!(
        record.report.instances[0].all_verified(),
        "{:?}",
        record.report.instances[0]
    );
    (record.report, record.files)
}

/// Every file under `dir`, at any depth (none when `dir` is missing), in name order.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<std::path::PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// A relay on the network path to `upstream`, on a port of its own (returned). Each chunk a
/// client sends is shown to `pass` with the connection's number (0 for the first) before it
/// is forwarded; false cuts that connection there. What the server sends goes back as is.
pub async fn relay(
    upstream: std::net::SocketAddr,
    pass: impl Fn(u32, &[u8]) -> bool + Send + Sync + 'static,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let pass = std::sync::Arc::new(pass);
    tokio::spawn(async move {
        let mut n = 0u32;
        while let Ok((client, _)) = listener.accept().await {
            let (pass, conn) = (pass.clone(), n);
            n += 1;
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let back = tokio::spawn(async move { tokio::io::copy(&mut sr, &mut cw).await });
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let got = cr.read(&mut buf).await.unwrap_or(0);
                    if got == 0
                        || !pass(conn, &buf[..got])
                        || sw.write_all(&buf[..got]).await.is_err()
                    {
                        break;
                    }
                }
                back.abort();
            });
        }
    });
    port
}

/// Runs `cmd` to its end and returns what it printed, as `Command::output` does, but with a
/// deadline: a child still running after `limit` is killed and the test fails with its
/// arguments, what it had printed and the last lines of the logs under `logs` (a folder),
/// instead of hanging until CI's clock runs out.
pub fn output_within(
    mut cmd: std::process::Command,
    limit: std::time::Duration,
    logs: &std::path::Path,
) -> std::process::Output {
    let shown = format!("{cmd:?}");
    let done = keysafe_core::host::output_within(cmd.stdin(std::process::Stdio::null()), limit)
        .unwrap_or_else(|e| panic!("{shown} did not start: {e}"));
    let (stdout, stderr) = (done.stdout, done.stderr);
    let Some(status) = done.status else {
        let tail: Vec<String> = files_under(logs)
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .flat_map(|s| s.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        let tail = &tail[tail.len().saturating_sub(40)..];
        panic!(
            "{shown} was still running after {limit:?} and was killed\nstdout:\n{}\nstderr:\n{}\nlast log lines:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr),
            tail.join("\n")
        );
    };
    std::process::Output {
        status,
        stdout,
        stderr,
    }
}
