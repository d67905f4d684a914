//! Response tokens (MS-TDS 2.2.7), written into one buffer that the session then splits
//! into packets.

use super::types::{put_type_info, put_value, COLLATION};
use super::{put_b_varchar, put_us_varchar, utf16_len};
use crate::value::{SqlType, Value};

pub const DONE_FINAL: u16 = 0x00;
pub const DONE_MORE: u16 = 0x01;
pub const DONE_ERROR: u16 = 0x02;
pub const DONE_COUNT: u16 = 0x10;
pub const DONE_ATTN: u16 = 0x20;

const TOKEN_LOGINACK: u8 = 0xAD;
const TOKEN_SSPI: u8 = 0xED;
const TOKEN_ENVCHANGE: u8 = 0xE3;
const TOKEN_INFO: u8 = 0xAB;
const TOKEN_ERROR: u8 = 0xAA;
const TOKEN_DONE: u8 = 0xFD;
const TOKEN_DONEPROC: u8 = 0xFE;
const TOKEN_DONEINPROC: u8 = 0xFF;
const TOKEN_COLMETADATA: u8 = 0x81;
const TOKEN_ROW: u8 = 0xD1;
const TOKEN_RETURNSTATUS: u8 = 0x79;

/// A server message (ERROR or INFO token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMessage {
    pub number: i32,
    pub state: u8,
    pub class: u8,
    pub text: String,
    pub server: String,
    pub procedure: String,
    pub line: i32,
}

impl ServerMessage {
    pub fn is_error(&self) -> bool {
        self.class > 10
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

#[derive(Default)]
pub struct TokenWriter {
    pub buf: Vec<u8>,
}

impl TokenWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_len16(&mut self, token: u8, body: impl FnOnce(&mut Vec<u8>)) {
        self.buf.push(token);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        body(&mut self.buf);
        let len = (self.buf.len() - at - 2) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_le_bytes());
    }

    /// SSPI (0xED): the next message of the authentication exchange (an NTLM CHALLENGE).
    pub fn sspi(&mut self, data: &[u8]) {
        self.with_len16(TOKEN_SSPI, |b| b.extend_from_slice(data));
    }

    pub fn login_ack(&mut self, prog_name: &str, version: (u8, u8, u16)) {
        self.with_len16(TOKEN_LOGINACK, |b| {
            b.push(1); // SQL_TSQL
            b.extend_from_slice(&0x7400_0004u32.to_be_bytes());
            put_b_varchar(b, prog_name);
            b.push(version.0);
            b.push(version.1);
            b.extend_from_slice(&version.2.to_be_bytes());
        });
    }

    pub fn env_database(&mut self, new: &str, old: &str) {
        self.with_len16(TOKEN_ENVCHANGE, |b| {
            b.push(1);
            put_b_varchar(b, new);
            put_b_varchar(b, old);
        });
    }

    pub fn env_language(&mut self, new: &str) {
        self.with_len16(TOKEN_ENVCHANGE, |b| {
            b.push(2);
            put_b_varchar(b, new);
            put_b_varchar(b, "");
        });
    }

    pub fn env_packet_size(&mut self, new: usize, old: usize) {
        self.with_len16(TOKEN_ENVCHANGE, |b| {
            b.push(4);
            put_b_varchar(b, &new.to_string());
            put_b_varchar(b, &old.to_string());
        });
    }

    pub fn env_collation(&mut self) {
        self.with_len16(TOKEN_ENVCHANGE, |b| {
            b.push(7);
            b.push(COLLATION.len() as u8);
            b.extend_from_slice(&COLLATION);
            b.push(0);
        });
    }

    /// Transaction ENVCHANGE: 8 begin, 9 commit, 10 rollback.
    pub fn env_transaction(&mut self, ty: u8, descriptor: u64) {
        self.with_len16(TOKEN_ENVCHANGE, |b| {
            b.push(ty);
            if ty == 8 {
                b.push(8);
                b.extend_from_slice(&descriptor.to_le_bytes());
                b.push(0);
            } else {
                b.push(0);
                b.push(8);
                b.extend_from_slice(&descriptor.to_le_bytes());
            }
        });
    }

    pub fn message(&mut self, m: &ServerMessage) {
        let token = if m.is_error() {
            TOKEN_ERROR
        } else {
            TOKEN_INFO
        };
        self.with_len16(token, |b| {
            b.extend_from_slice(&m.number.to_le_bytes());
            b.push(m.state);
            b.push(m.class);
            put_us_varchar(b, &m.text);
            put_b_varchar(b, &m.server);
            put_b_varchar(b, &m.procedure);
            b.extend_from_slice(&m.line.to_le_bytes());
        });
    }

    fn done_token(&mut self, token: u8, status: u16, curcmd: u16, rows: u64) {
        self.buf.push(token);
        self.buf.extend_from_slice(&status.to_le_bytes());
        self.buf.extend_from_slice(&curcmd.to_le_bytes());
        self.buf.extend_from_slice(&rows.to_le_bytes());
    }

    pub fn done(&mut self, status: u16, curcmd: u16, rows: u64) {
        self.done_token(TOKEN_DONE, status, curcmd, rows)
    }
    pub fn done_in_proc(&mut self, status: u16, curcmd: u16, rows: u64) {
        self.done_token(TOKEN_DONEINPROC, status, curcmd, rows)
    }
    pub fn done_proc(&mut self, status: u16, curcmd: u16, rows: u64) {
        self.done_token(TOKEN_DONEPROC, status, curcmd, rows)
    }

    pub fn return_status(&mut self, status: i32) {
        self.buf.push(TOKEN_RETURNSTATUS);
        self.buf.extend_from_slice(&status.to_le_bytes());
    }

    pub fn col_metadata(&mut self, cols: &[Column]) {
        self.buf.push(TOKEN_COLMETADATA);
        self.buf
            .extend_from_slice(&(cols.len() as u16).to_le_bytes());
        for c in cols {
            self.buf.extend_from_slice(&0u32.to_le_bytes()); // user type
            let flags: u16 = if c.nullable { 0x0001 } else { 0 };
            self.buf.extend_from_slice(&flags.to_le_bytes());
            put_type_info(&mut self.buf, &c.ty);
            let name: String = c.name.chars().take(128).collect();
            debug_assert!(utf16_len(&name) <= 255);
            put_b_varchar(&mut self.buf, &name);
        }
    }

    pub fn row(&mut self, cols: &[Column], values: &[Value]) {
        self.buf.push(TOKEN_ROW);
        for (c, v) in cols.iter().zip(values) {
            put_value(&mut self.buf, &c.ty, v);
        }
    }
}
