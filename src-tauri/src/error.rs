//! Errors cross IPC as `{code, message, detail}`: the UI acts on `code` and shows the rest.

use crate::types::IpcErrorView;
use keysafe_core::{ErrorCode, KeysafeError};
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
pub struct IpcError {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
}

pub type IpcResult<T> = Result<T, IpcError>;

fn code_name(c: ErrorCode) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

impl From<KeysafeError> for IpcError {
    fn from(e: KeysafeError) -> Self {
        let mut detail = Vec::new();
        if let Some(n) = &e.next_step {
            detail.push(n.clone());
        }
        if let Some(s) = &e.server {
            detail.push(format!(
                "Msg {}, Level {}, State {}, Line {}\n{}",
                s.number, s.level, s.state, s.line, s.text
            ));
        }
        IpcError {
            code: code_name(e.code),
            message: e.message,
            detail: (!detail.is_empty()).then(|| detail.join("\n")),
        }
    }
}

impl From<std::io::Error> for IpcError {
    fn from(e: std::io::Error) -> Self {
        KeysafeError::from(e).into()
    }
}

impl From<IpcError> for IpcErrorView {
    fn from(e: IpcError) -> Self {
        IpcErrorView {
            code: e.code,
            message: e.message,
            detail: e.detail,
        }
    }
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        KeysafeError::new(code, message).into()
    }
}
