//! The commands' bodies, written against `AppState` only: no window, no Tauri types, so
//! they are tested directly (tests/app_commands.rs) against the emulator.

pub mod backup;
pub mod connect;
pub mod explorer;
pub mod history;
pub mod parity;
pub mod profiles;
pub mod query;
pub mod recovery;
pub mod rotation;
