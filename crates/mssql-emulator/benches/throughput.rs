//! `cargo bench -p mssql-emulator`: the emulator must never be the bottleneck of a fleet test.
//!
//! Prints, on this machine:
//! - select1: SELECT 1 batches per second over 16 tiberius connections, plaintext and TLS;
//! - connections: 1,000 concurrent logged-in connections to one instance, all answering;
//! - instances: 200 instances in one process, each queried once;
//! - the process's peak RSS (VmHWM) after each.

use mssql_emulator::{Emulator, EmulatorConfig, TlsMode, DEFAULT_SA_PASSWORD};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

type Conn = Client<Compat<TcpStream>>;

async fn connect(port: u16, enc: EncryptionLevel) -> Conn {
    let mut c = Config::new();
    c.host("127.0.0.1");
    c.port(port);
    c.authentication(AuthMethod::sql_server("sa", DEFAULT_SA_PASSWORD));
    c.encryption(enc);
    c.trust_cert();
    let tcp = TcpStream::connect(c.get_addr()).await.expect("connect");
    tcp.set_nodelay(true).unwrap();
    Client::connect(c, tcp.compat_write()).await.expect("login")
}

async fn select1(c: &mut Conn) -> i32 {
    let row = c
        .simple_query("SELECT 1")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    row.get::<i32, _>(0).unwrap()
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn raise_fd_limit() {
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max.min(65536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

async fn bench_select1(enc: EncryptionLevel, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(EmulatorConfig::new(dir.path()).tls(TlsMode::On))
        .await
        .unwrap();
    let port = emu.addr().port();
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(5);
    let warmup = Instant::now() + Duration::from_millis(500);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = connect(port, enc).await;
            while Instant::now() < warmup {
                select1(&mut c).await;
            }
            while Instant::now() < deadline {
                assert_eq!(select1(&mut c).await, 1);
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now().max(warmup);
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = count.load(Ordering::Relaxed);
    println!("select1 {label:<9} 16 connections: {n} batches in {secs:.2} s = {:.0} batches/s; peak RSS {:.0} MB", n as f64 / secs, peak_rss_mb());
}

async fn bench_connections() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(EmulatorConfig::new(dir.path()).tls(TlsMode::On))
        .await
        .unwrap();
    let port = emu.addr().port();
    let start = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let sem = sem.clone();
        tasks.push(tokio::spawn(async move {
            let permit = sem.acquire_owned().await.unwrap();
            let c = connect(port, EncryptionLevel::NotSupported).await;
            drop(permit);
            c
        }));
    }
    let mut conns = Vec::new();
    for t in tasks {
        conns.push(t.await.unwrap());
    }
    let opened = start.elapsed();
    // Every connection still answers while all are open.
    let q = Instant::now();
    let mut answers = 0;
    let mut set = tokio::task::JoinSet::new();
    for mut c in conns {
        set.spawn(async move {
            let v = select1(&mut c).await;
            (v, c)
        });
    }
    let mut keep = Vec::new();
    while let Some(r) = set.join_next().await {
        let (v, c) = r.unwrap();
        answers += (v == 1) as usize;
        keep.push(c);
    }
    println!(
        "connections: 1000 concurrent logins in {:.2} s; {answers}/1000 answered SELECT 1 in {:.2} s while all open; peak RSS {:.0} MB",
        opened.as_secs_f64(),
        q.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    drop(keep);
}

async fn bench_instances() {
    let start = Instant::now();
    let mut emus = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..200 {
        let dir = tempfile::tempdir().unwrap();
        emus.push(
            Emulator::start(EmulatorConfig::new(dir.path()).tls(TlsMode::On))
                .await
                .unwrap(),
        );
        dirs.push(dir);
    }
    let started = start.elapsed();
    let q = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for e in &emus {
        let port = e.addr().port();
        set.spawn(async move {
            let mut c = connect(port, EncryptionLevel::Required).await;
            select1(&mut c).await
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        ok += (r.unwrap() == 1) as usize;
    }
    println!(
        "instances: 200 started in one process in {:.2} s; {ok}/200 answered over TLS in {:.2} s; peak RSS {:.0} MB",
        started.as_secs_f64(),
        q.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run quickly then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        bench_select1(EncryptionLevel::NotSupported, "plaintext").await;
        bench_select1(EncryptionLevel::Required, "TLS").await;
        bench_connections().await;
        bench_instances().await;
    });
}
