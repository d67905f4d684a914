//! Errors cross IPC as `{code, message, next_step, server}`: the UI switches on `code` (a
//! closed set, the engine's `ErrorCode`), shows `message` and `next_step`, and SQL Server's
//! own message (`Msg N, Level L, State S, Line X` and its text) from `server`.

use keysafe_core::error::ServerMessage;
use keysafe_core::{ErrorCode, KeysafeError};
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    /// What the administrator does next.
    pub next_step: Option<String>,
    /// SQL Server's message, when SQL Server refused.
    pub server: Option<ServerMessage>,
}

pub type IpcResult<T> = Result<T, IpcError>;

impl From<KeysafeError> for IpcError {
    fn from(e: KeysafeError) -> Self {
        IpcError {
            code: e.code,
            message: e.message,
            next_step: e.next_step,
            server: e.server,
        }
    }
}

impl From<std::io::Error> for IpcError {
    fn from(e: std::io::Error) -> Self {
        KeysafeError::from(e).into()
    }
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        KeysafeError::new(code, message).into()
    }
}
