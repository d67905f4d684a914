//! The network side: listen, accept, and serve each connection on its own task.

pub mod browser;
pub mod connection;
pub mod tls;
pub mod transport;

use crate::engine::scenario::Scenario;
use crate::engine::Instance;
use crate::tds::prelogin::TlsMode;
use connection::Shared;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

/// How to start an emulated instance.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub scenario: Scenario,
    /// Overrides the scenario's sa password (default `Emulator!Passw0rd`).
    pub sa_password: Option<String>,
    pub tls: TlsMode,
    /// PEM certificate chain and key to use instead of a generated certificate.
    pub tls_pem: Option<(PathBuf, PathBuf)>,
    /// Appends every SQL batch a client sends here, one JSON line each (the database it ran
    /// in, its text, how many result sets it returned), for replaying a client's traffic
    /// through another driver. Test instances only: batches may hold passwords.
    pub record_batches: Option<PathBuf>,
}

impl EmulatorConfig {
    /// The default instance (SQL Server 2022 on Windows) on 127.0.0.1, any port, TLS on.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EmulatorConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.into(),
            scenario: Scenario::default_instance(),
            sa_password: None,
            tls: TlsMode::On,
            tls_pem: None,
            record_batches: None,
        }
    }
    pub fn scenario(mut self, s: Scenario) -> Self {
        self.scenario = s;
        self
    }
    pub fn tls(mut self, t: TlsMode) -> Self {
        self.tls = t;
        self
    }
    pub fn sa_password(mut self, p: impl Into<String>) -> Self {
        self.sa_password = Some(p.into());
        self
    }
}

/// What one connection asked and how many times its client waited for an answer, counted
/// when it closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionStats {
    pub spid: u16,
    /// Messages after login: SQL batches, RPCs, transaction requests, attentions.
    pub requests: u32,
    /// Responses the client waited for, from the first packet: PRELOGIN, each TLS flight it
    /// waits on, LOGIN7, then one per request.
    pub round_trips: u32,
}

/// A running instance. Dropping it stops the listener; open connections end with it.
pub struct Emulator {
    addr: SocketAddr,
    instance: Arc<Instance>,
    shared: Arc<Shared>,
    cert_pem: Option<PathBuf>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub const DEFAULT_SA_PASSWORD: &str = "Emulator!Passw0rd";

impl Emulator {
    /// Opens (or creates) the instance and starts listening. Must run inside a tokio runtime.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let cfg = config.clone();
        let (instance, tls) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            let inst = Instance::open(&cfg.data_dir, &cfg.scenario, cfg.sa_password.as_deref())?;
            if cfg.tls == TlsMode::Strict && inst.info.major < 16 {
                return Err(std::io::Error::other(
                    "--tls strict needs SQL Server 2022 or later (TDS 8.0)",
                ));
            }
            let tls = match cfg.tls {
                TlsMode::Off => None,
                _ => {
                    let names = vec![inst.info.machine_name.clone(), inst.info.server_name()];
                    let pem = cfg
                        .tls_pem
                        .as_ref()
                        .map(|(c, k)| (c.as_path(), k.as_path()));
                    Some(tls::load_or_create(&cfg.data_dir, &names, pem)?)
                }
            };
            Ok((inst, tls))
        })
        .await
        .map_err(std::io::Error::other)??;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let instance = Arc::new(instance);
        let cert_pem = tls.as_ref().map(|t| t.cert_pem_path.clone());
        let shared = Arc::new(Shared {
            instance: instance.clone(),
            tls_mode: if config.scenario.server.force_strict_encryption {
                TlsMode::Strict
            } else {
                config.tls
            },
            tls_strict: tls
                .as_ref()
                .filter(|_| instance.info.major >= 16)
                .map(|t| t.strict.clone()),
            tls: tls.map(|t| t.config),
            traffic: Default::default(),
            record: match &config.record_batches {
                Some(p) => Some(std::sync::Mutex::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(p)?,
                )),
                None => None,
            },
        });
        let handle = shared.clone();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel();
        let spids = Arc::new(AtomicU16::new(51));
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => match accepted {
                        Ok((tcp, _)) => {
                            let mut spid = spids.fetch_add(1, Ordering::Relaxed);
                            if spid < 51 {
                                spids.store(52, Ordering::Relaxed);
                                spid = 51;
                            }
                            conns.spawn(connection::serve(shared.clone(), tcp, spid));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                    },
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            conns.shutdown().await;
        });
        tracing::info!(%addr, server = %instance.info.server_name(), "listening");
        Ok(Emulator {
            addr,
            instance,
            shared: handle,
            cert_pem,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    pub fn instance(&self) -> &Arc<Instance> {
        &self.instance
    }
    pub fn faults(&self) -> &crate::engine::Faults {
        &self.instance.faults
    }
    /// The connections that have closed so far, in the order they closed.
    pub fn closed_connections(&self) -> Vec<ConnectionStats> {
        self.shared.traffic.lock().expect("traffic").clone()
    }
    /// Waits (up to 5 s) until `n` connections have closed; returns them all.
    pub async fn wait_for_closed(&self, n: usize) -> Vec<ConnectionStats> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let c = self.closed_connections();
            if c.len() >= n || std::time::Instant::now() > deadline {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    /// This instance's SQL Browser record, when it is a named instance.
    pub fn browser_entry(&self) -> Option<browser::BrowserEntry> {
        let info = &self.instance.info;
        Some(browser::BrowserEntry {
            machine: info.machine_name.clone(),
            instance: info.instance_name.clone()?,
            version: info.product_version.clone(),
            port: self.addr.port(),
        })
    }

    /// The PEM of the server certificate (`<data dir>/tls-cert.pem`), when TLS is on.
    pub fn cert_pem_path(&self) -> Option<&Path> {
        self.cert_pem.as_deref()
    }
    /// Stops accepting and closes every connection.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
