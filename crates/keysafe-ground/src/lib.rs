//! # keysafe-ground
//!
//! Keysafe's ground floor, a crate of its own so that nothing here can import the floors
//! above it (the compiler refuses the cycle):
//!
//! - what everything uses: errors, secrets, the password policy, the host (`host`);
//! - the medium: copies and their hashes, volumes, the folder protection, private files,
//!   Windows security (`windows/`);
//! - the server: the connection (and the Strict probe), T-SQL building, queries, the
//!   inventory and the master-key helpers.
//!
//! `keysafe-core` re-exports every module, so `keysafe_core::connection` and the rest keep
//! their paths. See `docs/architecture.md` for the floors above.

pub mod connection;
pub mod copy;
pub mod error;
pub mod host;
pub mod inventory;
pub mod key_encryption;
pub mod logging;
pub mod master_key;
pub mod password;
pub mod private_fs;
pub mod protection;
pub mod query;
pub mod secret;
mod strict_probe;
pub mod tsql;
pub mod volumes;
pub mod windows;
pub mod words;

pub use error::{ErrorCode, KeysafeError, Result};
pub use secret::Password;
