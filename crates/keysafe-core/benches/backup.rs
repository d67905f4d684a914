//! `cargo bench -p keysafe-core`: Keysafe against the protocol floor, and a fleet.
//!
//! Prints:
//! - smk: median time of one verified SMK backup (BACKUP, server hash, copy, fsync, read
//!   back) against a bare tiberius client that only runs the BACKUP and the HASHBYTES
//!   query, on the same instance in the same run;
//! - fleet: 100 emulated instances (in a child process, so the memory figure is Keysafe's
//!   alone) backed up at concurrency 1 and 16, with 0 and 5 ms of injected response latency
//!   (a LAN round trip), and Keysafe's peak RSS.

use keysafe_core::backup::{self, BackupOptions, KeyRef};
use keysafe_core::connection::{connect, ConnectOptions, Trust};
use keysafe_core::run::{self, RunSettings, Selection};
use keysafe_core::{inventory, Password};
use mssql_emulator::{Emulator, EmulatorConfig, TlsMode, DEFAULT_SA_PASSWORD};
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

fn options(port: u16) -> ConnectOptions {
    let mut o = ConnectOptions::sql(
        format!("127.0.0.1,{port}").parse().unwrap(),
        "sa",
        Password::new(DEFAULT_SA_PASSWORD),
    );
    o.trust = Trust::ServerCertificate;
    o
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn bench_smk() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(EmulatorConfig::new(dir.path().join("srv")).tls(TlsMode::On))
        .await
        .unwrap();
    let medium = dir.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    let mut c = connect(&options(emu.addr().port())).await.unwrap();
    let inv = inventory::inventory(&mut c).await.unwrap();
    let dirpath = backup::default_server_dir(&inv).unwrap();
    backup::ensure_server_dir(&mut c, &dirpath).await.unwrap();
    // The floor: tiberius alone, BACKUP then HASHBYTES.
    let mut cfg = tiberius::Config::new();
    cfg.host("127.0.0.1");
    cfg.port(emu.addr().port());
    cfg.authentication(tiberius::AuthMethod::sql_server("sa", DEFAULT_SA_PASSWORD));
    cfg.encryption(tiberius::EncryptionLevel::Required);
    cfg.trust_cert();
    let tcp = tokio::net::TcpStream::connect(cfg.get_addr())
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    use tokio_util::compat::TokioAsyncWriteCompatExt;
    let mut bare = tiberius::Client::connect(cfg, tcp.compat_write())
        .await
        .unwrap();
    let (mut ks, mut floor) = (Vec::new(), Vec::new());
    for i in 0..40 {
        let f = format!("{dirpath}\\floor{i}.key");
        let t = Instant::now();
        bare.simple_query(format!("BACKUP SERVICE MASTER KEY TO FILE = N'{f}' ENCRYPTION BY PASSWORD = N'Bench!Backup#2026'")).await.unwrap().into_results().await.unwrap();
        bare.simple_query(format!("SELECT HASHBYTES('SHA2_256', BulkColumn) FROM OPENROWSET(BULK N'{f}', SINGLE_BLOB) AS b")).await.unwrap().into_results().await.unwrap();
        floor.push(t.elapsed());

        let keys = vec![KeyRef::ServiceMasterKey];
        let secrets = backup::Secrets::new(Password::new("Bench!Backup#2026"));
        let req = BackupOptions {
            server_dir: Some(dirpath.clone()),
            copy_to: medium.clone(),
            format: None,
        };
        let t = Instant::now();
        let plan = backup::plan(
            &inv,
            &keys,
            &req,
            &secrets,
            chrono::Utc::now() + chrono::Duration::seconds(i),
        )
        .unwrap();
        let r = backup::run_one(&mut c, &plan[0], &medium).await;
        ks.push(t.elapsed());
        assert!(r.error.is_none(), "{:?}", r.error);
    }
    let (k, f) = (median(ks), median(floor));
    println!(
        "smk: verified backup median {:.2} ms; protocol floor median {:.2} ms; ratio {:.2}x",
        k.as_secs_f64() * 1e3,
        f.as_secs_f64() * 1e3,
        k.as_secs_f64() / f.as_secs_f64()
    );
}

/// The child process: 100 instances, ports on stdout, until stdin closes.
async fn fleet_host(n: usize, delay_ms: u64) {
    let root = tempfile::tempdir().unwrap();
    let mut emus = Vec::new();
    for i in 0..n {
        let e =
            Emulator::start(EmulatorConfig::new(root.path().join(i.to_string())).tls(TlsMode::On))
                .await
                .unwrap();
        e.faults()
            .delay_ms
            .store(delay_ms, std::sync::atomic::Ordering::SeqCst);
        emus.push(e);
    }
    let ports: Vec<String> = emus.iter().map(|e| e.addr().port().to_string()).collect();
    println!("{}", ports.join(","));
    std::io::stdout().flush().unwrap();
    let _ = tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
    })
    .await;
}

async fn bench_fleet(delay_ms: u64) {
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .env("KEYSAFE_BENCH_FLEET_HOST", format!("100:{delay_ms}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let targets: Vec<ConnectOptions> = line
        .trim()
        .split(',')
        .map(|p| options(p.parse().unwrap()))
        .collect();
    let mut times = Vec::new();
    for conc in [1usize, 16] {
        let medium = tempfile::tempdir().unwrap();
        let secrets = backup::Secrets::new(Password::new("Fleet!Backup#2026"));
        let s = RunSettings {
            selection: Selection::ServiceMasterKey,
            backup: keysafe_core::backup::BackupOptions {
                server_dir: None,
                copy_to: medium.path().to_path_buf(),
                format: None,
            },
            verify_restore: false,
            server_dir_local: None,
            acl_principals: vec![],
        };
        let t = Instant::now();
        let reports = run::back_up_fleet(&targets, &s, &secrets, conc, &|_| {}).await;
        let el = t.elapsed();
        let ok = reports.iter().filter(|r| r.all_verified()).count();
        println!("fleet: 100 instances, {delay_ms} ms latency, concurrency {conc:>2}: {:.2} s, {ok}/100 verified", el.as_secs_f64());
        times.push(el);
    }
    println!("fleet: {delay_ms} ms latency: concurrency 16 is {:.1}x faster than 1; Keysafe peak RSS {:.0} MB", times[0].as_secs_f64() / times[1].as_secs_f64(), peak_rss_mb());
    drop(child.stdin.take());
    let _ = child.wait();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(spec) = std::env::var("KEYSAFE_BENCH_FLEET_HOST") {
        let (n, d) = spec.split_once(':').unwrap();
        rt.block_on(fleet_host(n.parse().unwrap(), d.parse().unwrap()));
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    rt.block_on(async {
        bench_smk().await;
        bench_fleet(0).await;
        bench_fleet(5).await;
    });
}
