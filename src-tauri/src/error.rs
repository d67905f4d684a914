//! Errors cross IPC as the engine's `KeysafeError`, as it is: `{code, message, next_step,
//! server}`. The UI switches on `code` (a closed set, the engine's `ErrorCode`), shows
//! `message` and `next_step`, and SQL Server's own message (`Msg N, Level L, State S, Line X`
//! and its text) from `server`.

pub use keysafe_core::KeysafeError;

pub type IpcResult<T> = Result<T, KeysafeError>;
