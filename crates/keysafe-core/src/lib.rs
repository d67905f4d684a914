//! # keysafe-core
//!
//! Everything a backup of SQL Server's encryption hierarchy is, with no idea that a window
//! exists: connect, preflight, inventory, plan, execute, copy, verify, report.

pub mod backup;
pub mod connection;
pub mod copy;
pub mod coverage;
pub mod custody;
pub mod drill;
pub mod error;
pub mod evidence;
pub mod history;
pub mod inventory;
pub mod key_encryption;
pub mod logging;
pub mod master_key;
pub mod password;
pub mod private_fs;
pub mod profiles;
pub mod protection;
pub mod query;
pub mod recovery;
pub mod report;
pub mod restore;
pub mod restore_check;
pub mod run;
pub mod schedule;
pub mod secret;
pub mod selftest;
pub mod status;
mod strict_probe;
pub mod tsql;
pub mod volumes;
pub mod windows;

pub use error::{ErrorCode, KeysafeError, Result};
pub use secret::Password;
