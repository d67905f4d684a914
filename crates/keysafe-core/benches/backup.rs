//! `cargo bench -p keysafe-core [-- smk|fleet100|fleet1000]`: Keysafe against the protocol
//! floor, and fleets over a simulated WAN. Every section runs unless names are given.
//!
//! Prints:
//! - smk: median time of one verified SMK backup (BACKUP, server hash, copy, fsync, read
//!   back) against a bare tiberius client that only runs the BACKUP and the HASHBYTES query,
//!   on the same instance in the same run, with the medium on this machine's disk and in
//!   memory (/dev/shm: Keysafe's protocol work alone, without the durable copy's disk work); once with the emulated server's default key
//!   derivation and once with it set to 1 iteration (then the client's own work weighs more),
//!   and the round trips of one whole backup from its first packet, as the emulator counted
//!   them.
//! - fleet100: 100 emulated instances (in a child process, so the memory figure is
//!   Keysafe's alone) backed up at concurrency 1 and 100 others at 16, with 0 and 5 ms of network latency
//!   (every response a client waits for is held back: PRELOGIN, TLS flights, LOGIN7, each
//!   request).
//! - fleet1000: 1,000 instances in 4 child processes with 20 ms of latency, at concurrency
//!   64; sequential is measured on a sample of 32 further instances (fresh, like the 1,000)
//!   and extrapolated: 1,000 times the sample's mean per instance.
//!
//! In the fleets the emulated servers derive backup keys with 1 PBKDF2 iteration instead of
//! 20,000 and keep their files in /dev/shm where it exists: a real fleet's servers each have
//! their own CPU and disk, while here every emulated server shares this machine's two cores
//! and its disk with Keysafe (whose medium stays on the disk, in the temporary folder). Each fleet line gives Keysafe's CPU time
//! and the emulators' separately.

use keysafe_core::backup::{self, BackupOptions, KeyRef};
use keysafe_core::connection::{connect, ConnectOptions, Trust};
use keysafe_core::run::{self, RunSettings, Selection};
use keysafe_core::{inventory, Password};
use mssql_emulator::{Emulator, EmulatorConfig, TlsMode, DEFAULT_SA_PASSWORD};
use std::io::{BufRead, Write};
use std::sync::atomic::Ordering;
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

/// This process's user + system CPU time, in seconds (Linux: clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    (tick(11) + tick(12)) / 100.0
}

fn settings(medium: &std::path::Path) -> RunSettings {
    RunSettings::new(Selection::ServiceMasterKey, medium)
}

async fn bench_smk() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(EmulatorConfig::new(dir.path().join("srv")).tls(TlsMode::On))
        .await
        .unwrap();
    let medium = dir.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();

    // One whole backup on its own connection, counted by the emulator from the first packet.
    let secrets = backup::Secrets::new(Password::new("Bench!Backup#2026"));
    for (k, pass) in ["a new server folder", "the folder exists"]
        .into_iter()
        .enumerate()
    {
        let r = run::back_up_instance(
            &options(emu.addr().port()),
            &settings(&medium),
            &secrets,
            &|_| {},
        )
        .await;
        assert!(r.all_verified(), "{:?}", r.error);
        let c = emu.wait_for_closed(k + 1).await;
        let last = c.last().unwrap();
        println!(
            "smk: one verified SMK backup ({pass}): {} round trips from the first packet, {} requests",
            last.round_trips, last.requests
        );
    }

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
    // The copy's medium: this machine's disk (a durable write, two fsyncs and an uncached
    // read-back, which the floor does not do) and, where there is one, memory (/dev/shm),
    // which leaves Keysafe's protocol work alone to compare with the floor's.
    let in_memory = std::path::Path::new("/dev/shm")
        .is_dir()
        .then(|| tempfile::tempdir_in("/dev/shm").unwrap());
    let mut media = vec![("medium on disk", medium.clone())];
    if let Some(m) = &in_memory {
        media.push(("medium in memory", m.path().to_path_buf()));
    }
    let mut i = 0;
    for (label, iterations) in [
        ("the server's key derivation at 20,000", 20_000),
        ("at 1", 1),
    ] {
        emu.instance().set_backup_kdf_iterations(iterations);
        for (where_, medium) in &media {
            let (mut ks, mut floor) = (Vec::new(), Vec::new());
            for _ in 0..40 {
                i += 1;
                let f = format!("{dirpath}\\floor{i}.key");
                let t = Instant::now();
                bare.simple_query(format!("BACKUP SERVICE MASTER KEY TO FILE = N'{f}' ENCRYPTION BY PASSWORD = N'Bench!Backup#2026'")).await.unwrap().into_results().await.unwrap();
                bare.simple_query(format!("SELECT HASHBYTES('SHA2_256', BulkColumn) FROM OPENROWSET(BULK N'{f}', SINGLE_BLOB) AS b")).await.unwrap().into_results().await.unwrap();
                floor.push(t.elapsed());

                let keys = vec![KeyRef::ServiceMasterKey];
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
                    chrono::Utc::now() + chrono::Duration::seconds(i),
                )
                .unwrap();
                let r = backup::run_one(&mut c, &plan[0], &secrets, medium).await;
                ks.push(t.elapsed());
                assert!(r.error.is_none(), "{:?}", r.error);
            }
            let (k, f) = (median(ks), median(floor));
            println!(
                "smk: {label}, {where_}: verified backup median {:.2} ms; protocol floor median {:.2} ms; ratio {:.2}x",
                k.as_secs_f64() * 1e3,
                f.as_secs_f64() * 1e3,
                k.as_secs_f64() / f.as_secs_f64()
            );
        }
    }
}

/// A child process hosting emulated instances: ports on stdout, then one line of traffic
/// figures each time a line arrives on stdin, until stdin closes.
async fn fleet_host(n: usize, latency_ms: u64) {
    // The servers' disks in memory where there is one (/dev/shm): their file system work,
    // like their key derivation, would happen on their own machines.
    let shm = std::path::Path::new("/dev/shm");
    let root = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let mut emus = Vec::new();
    for i in 0..n {
        let e =
            Emulator::start(EmulatorConfig::new(root.path().join(i.to_string())).tls(TlsMode::On))
                .await
                .unwrap();
        e.faults().latency_ms.store(latency_ms, Ordering::SeqCst);
        e.instance().set_backup_kdf_iterations(1);
        emus.push(e);
    }
    let ports: Vec<String> = emus.iter().map(|e| e.addr().port().to_string()).collect();
    println!("{}", ports.join(","));
    std::io::stdout().flush().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() || tx.send(()).is_err() {
                break;
            }
        }
    });
    while rx.recv().await.is_some() {
        let (mut conns, mut requests, mut round_trips) = (0usize, 0u64, 0u64);
        for e in &emus {
            for c in e.closed_connections() {
                conns += 1;
                requests += c.requests as u64;
                round_trips += c.round_trips as u64;
            }
        }
        println!("{conns} {requests} {round_trips} {:.2}", cpu_seconds());
        std::io::stdout().flush().unwrap();
    }
}

/// Instances hosted by child processes of this executable.
struct Hosts {
    children: Vec<(
        std::process::Child,
        std::io::BufReader<std::process::ChildStdout>,
    )>,
    ports: Vec<u16>,
}

#[derive(Clone, Copy, Default)]
struct Traffic {
    connections: usize,
    requests: u64,
    round_trips: u64,
    cpu: f64,
}

impl Hosts {
    fn start(processes: usize, per_process: usize, latency_ms: u64) -> Hosts {
        let exe = std::env::current_exe().unwrap();
        let mut children: Vec<_> = (0..processes)
            .map(|_| {
                let mut child = std::process::Command::new(&exe)
                    .env(
                        "KEYSAFE_BENCH_FLEET_HOST",
                        format!("{per_process}:{latency_ms}"),
                    )
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                let out = std::io::BufReader::new(child.stdout.take().unwrap());
                (child, out)
            })
            .collect();
        let mut ports = Vec::new();
        for (_, out) in &mut children {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            ports.extend(line.trim().split(',').map(|p| p.parse::<u16>().unwrap()));
        }
        Hosts { children, ports }
    }

    fn traffic(&mut self) -> Traffic {
        let mut t = Traffic::default();
        for (child, out) in &mut self.children {
            writeln!(child.stdin.as_mut().unwrap()).unwrap();
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            let f: Vec<&str> = line.split_whitespace().collect();
            t.connections += f[0].parse::<usize>().unwrap();
            t.requests += f[1].parse::<u64>().unwrap();
            t.round_trips += f[2].parse::<u64>().unwrap();
            t.cpu += f[3].parse::<f64>().unwrap();
        }
        t
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for (child, _) in &mut self.children {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

struct FleetRun {
    elapsed: Duration,
    verified: usize,
    keysafe_cpu: f64,
    emulator_cpu: f64,
    round_trips_per_instance: f64,
}

async fn fleet_run(hosts: &mut Hosts, ports: &[u16], concurrency: usize) -> FleetRun {
    let targets: Vec<ConnectOptions> = ports.iter().map(|p| options(*p)).collect();
    let medium = tempfile::tempdir().unwrap();
    let secrets = backup::Secrets::new(Password::new("Fleet!Backup#2026"));
    let before = hosts.traffic();
    let cpu = cpu_seconds();
    let t = Instant::now();
    let reports = run::back_up_fleet(
        &targets,
        &settings(medium.path()),
        &secrets,
        concurrency,
        &|_| {},
    )
    .await;
    let elapsed = t.elapsed();
    let keysafe_cpu = cpu_seconds() - cpu;
    let mut after = hosts.traffic();
    // The emulators count a connection once it has closed on their side too.
    for _ in 0..100 {
        if after.connections - before.connections >= targets.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = hosts.traffic();
    }
    FleetRun {
        elapsed,
        verified: reports.iter().filter(|r| r.all_verified()).count(),
        keysafe_cpu,
        emulator_cpu: after.cpu - before.cpu,
        round_trips_per_instance: (after.round_trips - before.round_trips) as f64
            / targets.len() as f64,
    }
}

fn print_run(what: &str, n: usize, r: &FleetRun) {
    println!(
        "{what}: {:.2} s, {}/{n} verified, {:.1} round trips per instance; CPU: Keysafe {:.2} s, emulators {:.2} s",
        r.elapsed.as_secs_f64(),
        r.verified,
        r.round_trips_per_instance,
        r.keysafe_cpu,
        r.emulator_cpu
    );
}

async fn bench_fleet100(latency_ms: u64) {
    // 200 instances: each run backs up 100 that were never backed up before.
    let mut hosts = Hosts::start(1, 200, latency_ms);
    let ports = hosts.ports.clone();
    let mut times = Vec::new();
    for (conc, ports) in [1usize, 16].into_iter().zip(ports.chunks(100)) {
        let r = fleet_run(&mut hosts, ports, conc).await;
        print_run(
            &format!("fleet100: {latency_ms} ms latency, concurrency {conc:>2}"),
            100,
            &r,
        );
        times.push(r.elapsed);
    }
    let speedup = times[0].as_secs_f64() / times[1].as_secs_f64();
    // Without latency the run is bound by this machine's two cores, not by waiting.
    let of_ceiling = if latency_ms > 0 {
        format!(
            " ({:.0}% of the {:.1}x ceiling)",
            100.0 * speedup / ceiling(100, 16),
            ceiling(100, 16)
        )
    } else {
        String::new()
    };
    println!(
        "fleet100: {latency_ms} ms latency: concurrency 16 is {speedup:.1}x faster than 1{of_ceiling}; Keysafe peak RSS {:.0} MB",
        peak_rss_mb()
    );
}

/// The most `concurrency` at once can gain over one at a time on `n` equal instances: each
/// slot backs up its instances one after another, so the run lasts as long as
/// ceil(n / concurrency) instances (100 in 16 slots: 7, so 14.3x).
fn ceiling(n: usize, concurrency: usize) -> f64 {
    n as f64 / n.div_ceil(concurrency) as f64
}

async fn bench_fleet1000() {
    const N: usize = 1000;
    const SAMPLE: usize = 32;
    const PROCESSES: usize = 4;
    let t = Instant::now();
    let mut hosts = Hosts::start(PROCESSES, (N + SAMPLE) / PROCESSES, 20);
    println!(
        "fleet1000: {} instances in {PROCESSES} processes started in {:.1} s",
        hosts.ports.len(),
        t.elapsed().as_secs_f64()
    );
    // The sample: instances the big run does not touch, taken across the processes.
    let ports = hosts.ports.clone();
    let stride = ports.len() / SAMPLE;
    let sample: Vec<u16> = (0..SAMPLE).map(|i| ports[i * stride]).collect();
    let fleet: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|p| !sample.contains(p))
        .collect();
    assert_eq!(fleet.len(), N);
    let seq = fleet_run(&mut hosts, &sample, 1).await;
    print_run(
        &format!("fleet1000: 20 ms latency, sample of {SAMPLE}, concurrency  1"),
        SAMPLE,
        &seq,
    );
    let extrapolated = seq.elapsed.as_secs_f64() / SAMPLE as f64 * N as f64;
    let r = fleet_run(&mut hosts, &fleet, 64).await;
    print_run(
        &format!("fleet1000: 20 ms latency, {N} instances, concurrency 64"),
        N,
        &r,
    );
    let speedup = extrapolated / r.elapsed.as_secs_f64();
    println!(
        "fleet1000: sequential extrapolated {extrapolated:.1} s ({SAMPLE} instances x {N}/{SAMPLE}); concurrency 64 is {speedup:.1}x faster ({:.0}% of the {:.1}x ceiling); Keysafe peak RSS {:.0} MB",
        100.0 * speedup / ceiling(N, 64),
        ceiling(N, 64),
        peak_rss_mb()
    );
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let wanted: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.contains(&name);
    rt.block_on(async {
        if run("smk") {
            bench_smk().await;
        }
        if run("fleet100") {
            bench_fleet100(0).await;
            bench_fleet100(5).await;
        }
        if run("fleet1000") {
            bench_fleet1000().await;
        }
    });
}
