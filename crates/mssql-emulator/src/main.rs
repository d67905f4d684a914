//! `mssql-emulator`: run an emulated SQL Server for tests, scripts and the demo.

use clap::Parser;
use mssql_emulator::{Emulator, EmulatorConfig, Scenario, TlsMode};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

#[derive(Parser, Debug)]
#[command(
    name = "mssql-emulator",
    version,
    about = "An emulated SQL Server (TDS 7.4) for Keysafe's tests and demo"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:1433")]
    listen: std::net::SocketAddr,
    /// Where the instance keeps its state, its file system and its TLS certificate.
    #[arg(long)]
    data_dir: PathBuf,
    /// A scenario file (TOML); see crates/mssql-emulator/scenarios/.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// The sa password (also MSSQL_SA_PASSWORD). Default: Emulator!Passw0rd.
    #[arg(long, env = "MSSQL_SA_PASSWORD", hide_env_values = true)]
    sa_password: Option<String>,
    /// off: no certificate (NOT_SUP); on: the client chooses (TDS 8.0 strict clients too, on
    /// 2022); required: Force Encryption; strict: Force Strict Encryption (TDS 8.0 only).
    #[arg(long, value_enum, default_value = "on")]
    tls: TlsMode,
    /// PEM certificate chain to use instead of a generated one (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Fault: close the connection after the Nth statement runs (instance-wide count).
    #[arg(long, default_value_t = 0)]
    fault_drop_after_statement: u64,
    /// Fault: close the connection halfway through the Nth response.
    #[arg(long, default_value_t = 0)]
    fault_drop_mid_response: u64,
    /// Fault: delay every response by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    fault_delay_ms: u64,
    /// Simulated network round-trip time: every response a client waits for is held back
    /// this many milliseconds (PRELOGIN, TLS flights, LOGIN7, each request).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fault: fail the Nth file write with 15240.
    #[arg(long, default_value_t = 0)]
    fault_fail_write: u64,
    /// Fault: flip a byte in the Nth written file after it is written.
    #[arg(long, default_value_t = 0)]
    fault_flip_byte: u64,
    /// Also answer SQL Browser requests (UDP) here, e.g. 127.0.0.1:1434, for a named instance.
    #[arg(long)]
    browser: Option<std::net::SocketAddr>,
    /// Append every SQL batch clients send to this file, one JSON line each (test
    /// instances only: batches may hold passwords).
    #[arg(long)]
    record_batches: Option<PathBuf>,
    /// Log filter (RUST_LOG syntax); logs go to stderr.
    #[arg(long, default_value = "info")]
    log: String,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let scenario = match &args.scenario {
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| Scenario::from_toml(&t))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mssql-emulator: scenario {}: {e}", p.display());
                std::process::exit(2);
            }
        },
        None => Scenario::default_instance(),
    };
    let config = EmulatorConfig {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        scenario,
        sa_password: args.sa_password.clone(),
        tls: args.tls,
        tls_pem: args.tls_cert.clone().zip(args.tls_key.clone()),
        record_batches: args.record_batches.clone(),
    };
    let emu = match Emulator::start(config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("mssql-emulator: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let f = emu.faults();
    f.drop_after_statement
        .store(args.fault_drop_after_statement, Ordering::SeqCst);
    f.drop_mid_response
        .store(args.fault_drop_mid_response, Ordering::SeqCst);
    f.delay_ms.store(args.fault_delay_ms, Ordering::SeqCst);
    f.latency_ms.store(args.latency_ms, Ordering::SeqCst);
    f.fail_file_write
        .store(args.fault_fail_write, Ordering::SeqCst);
    f.flip_byte_in_write
        .store(args.fault_flip_byte, Ordering::SeqCst);
    let _browser = match (args.browser, emu.browser_entry()) {
        (Some(addr), Some(entry)) => {
            match mssql_emulator::browser::start(addr, vec![entry]).await {
                Ok(b) => Some(b),
                Err(e) => {
                    eprintln!("mssql-emulator: cannot start the SQL Browser on {addr}: {e}");
                    std::process::exit(1);
                }
            }
        }
        (Some(_), None) => {
            eprintln!("mssql-emulator: --browser needs a named instance (server.instance in the scenario)");
            std::process::exit(2);
        }
        _ => None,
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", emu.addr());
        let _ = out.flush();
    }
    wait_for_stop().await;
    emu.shutdown().await;
}

#[cfg(unix)]
async fn wait_for_stop() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_stop() {
    let _ = tokio::signal::ctrl_c().await;
}
