//! Response tokens (MS-TDS 2.2.7), one type per file as the spec lists them, each encoding
//! itself; `TokenWriter` puts them into one buffer that the session splits into packets.

mod col_metadata;
mod done;
mod env_change;
mod login_ack;
mod message;
mod return_status;
mod return_value;
mod row;
mod sspi;

pub use col_metadata::{ColMetadata, Column};
pub use done::{Done, DoneKind, DoneStatus};
pub use env_change::EnvChange;
pub use login_ack::LoginAck;
pub use message::ServerMessage;
pub use return_status::ReturnStatus;
pub use return_value::ReturnValue;
pub use row::Row;
pub use sspi::Sspi;

/// The token types the emulator sends (MS-TDS 2.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TokenType {
    ReturnStatus = 0x79,
    ReturnValue = 0xAC,
    ColMetadata = 0x81,
    Error = 0xAA,
    Info = 0xAB,
    LoginAck = 0xAD,
    Row = 0xD1,
    EnvChange = 0xE3,
    Sspi = 0xED,
    Done = 0xFD,
    DoneProc = 0xFE,
    DoneInProc = 0xFF,
}

/// A token that writes itself, type byte included.
pub trait Encode {
    fn encode(&self, buf: &mut Vec<u8>);
}

/// Writes `token`, a two-byte length, then the body `body` writes.
fn with_len16(buf: &mut Vec<u8>, token: TokenType, body: impl FnOnce(&mut Vec<u8>)) {
    buf.push(token as u8);
    let at = buf.len();
    buf.extend_from_slice(&[0, 0]);
    body(buf);
    let len = (buf.len() - at - 2) as u16;
    buf[at..at + 2].copy_from_slice(&len.to_le_bytes());
}

#[derive(Default)]
pub struct TokenWriter {
    pub buf: Vec<u8>,
}

impl TokenWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, token: &impl Encode) {
        token.encode(&mut self.buf);
    }

    pub fn done(&mut self, status: DoneStatus, curcmd: u16, rows: u64) {
        self.put(&Done::new(DoneKind::Done, status, curcmd, rows));
    }
    pub fn done_in_proc(&mut self, status: DoneStatus, curcmd: u16, rows: u64) {
        self.put(&Done::new(DoneKind::DoneInProc, status, curcmd, rows));
    }
    pub fn done_proc(&mut self, status: DoneStatus, curcmd: u16, rows: u64) {
        self.put(&Done::new(DoneKind::DoneProc, status, curcmd, rows));
    }
}
