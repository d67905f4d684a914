//! # mssql-emulator
//!
//! An emulated SQL Server that speaks TDS 7.4 (TLS included) and reproduces the parts of
//! SQL Server that Keysafe depends on: the encryption hierarchy (service master key,
//! database master keys, certificates, TDE), its catalog views, permissions, password
//! policy and the server-side file system where backups are written.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use mssql_emulator::{Emulator, EmulatorConfig};
//! let dir = tempfile::tempdir()?;
//! let emu = Emulator::start(EmulatorConfig::new(dir.path())).await?;
//! println!("connect to {} as sa / {}", emu.addr(), mssql_emulator::DEFAULT_SA_PASSWORD);
//! # Ok(()) }
//! ```
//!
//! Behaviour that the reference facts leave open is decided in one place,
//! [`engine::assumptions`].

pub mod engine;
pub mod server;
pub mod sql;
pub mod tds;
pub mod value;

pub use engine::scenario::Scenario;
pub use server::{Emulator, EmulatorConfig, DEFAULT_SA_PASSWORD};
pub use tds::prelogin::TlsMode;
