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

// The rooms inside. A user of the emulator needs only what is exported below; the
// emulator's own tests and the fuzz targets reach inside through the `internals` feature.
#[cfg(feature = "internals")]
pub mod engine;
#[cfg(not(feature = "internals"))]
mod engine;
#[cfg(feature = "internals")]
pub mod server;
#[cfg(not(feature = "internals"))]
mod server;
#[cfg(feature = "internals")]
pub mod sql;
#[cfg(not(feature = "internals"))]
mod sql;
#[cfg(feature = "internals")]
pub mod tds;
#[cfg(not(feature = "internals"))]
mod tds;
#[cfg(feature = "internals")]
pub mod value;
#[cfg(not(feature = "internals"))]
mod value;

pub use engine::scenario::Scenario;

/// The scenarios that ship with the emulator (the files in `scenarios/`), for tests and the
/// demo: no other crate reaches into this one's folders.
pub mod scenarios {
    /// Keysafe's demo instance: every kind of key and the risks Keysafe flags.
    pub const DEMO: &str = include_str!("../scenarios/demo.toml");
    /// SQL Server 2019 on Linux.
    pub const LINUX_2019: &str = include_str!("../scenarios/linux-2019.toml");
    /// A named instance of SQL Server 2016.
    pub const NAMED_2016: &str = include_str!("../scenarios/named-2016.toml");
}
pub use engine::{Faults, Instance};
/// The SQL Server Browser's answers (UDP 1434), for named instances.
pub use server::browser;
pub use server::{ConnectionStats, Emulator, EmulatorConfig, DEFAULT_SA_PASSWORD};
pub use tds::prelogin::TlsMode;
