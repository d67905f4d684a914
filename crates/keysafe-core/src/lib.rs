//! # keysafe-core
//!
//! Everything a backup of SQL Server's encryption hierarchy is, with no idea that a window
//! exists: connect, preflight, inventory, plan, execute, copy, verify, report.

pub mod backup;
pub mod coverage;
pub mod custody;
pub mod drill;
pub mod evidence;
pub mod history;
pub mod parity;
pub mod profiles;
pub mod recovery;
pub mod report;
pub mod restore;
pub mod restore_check;
pub mod rotation;
pub mod run;
pub mod schedule;
pub mod selftest;
pub mod status;

// The ground floor, re-exported: `crate::connection` and the rest keep their paths.
pub use error::{ErrorCode, KeysafeError, Result};
pub use keysafe_ground::{
    connection, copy, error, host, inventory, key_encryption, logging, master_key, password,
    private_fs, protection, query, secret, tsql, volumes, windows, words,
};
pub use secret::Password;
