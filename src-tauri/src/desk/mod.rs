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

/// The medium a dialog names: a full path, or `choose` (what to choose, and why) as the error.
pub fn medium_path(typed: &str, choose: &str) -> crate::error::IpcResult<std::path::PathBuf> {
    let p = std::path::PathBuf::from(typed.trim());
    if typed.trim().is_empty() || !p.is_absolute() {
        return Err(crate::error::KeysafeError::new(
            keysafe_core::ErrorCode::InvalidInput,
            choose,
        ));
    }
    Ok(p)
}
