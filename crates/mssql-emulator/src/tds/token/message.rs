//! ERROR and INFO (MS-TDS 2.2.7.10, 2.2.7.13): a server message, an error when its class is
//! above 10.

use super::{with_len16, Encode, TokenType};
use crate::tds::{put_b_varchar, put_us_varchar};

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

impl Encode for ServerMessage {
    fn encode(&self, buf: &mut Vec<u8>) {
        let token = if self.is_error() {
            TokenType::Error
        } else {
            TokenType::Info
        };
        with_len16(buf, token, |b| {
            b.extend_from_slice(&self.number.to_le_bytes());
            b.push(self.state);
            b.push(self.class);
            put_us_varchar(b, &self.text);
            put_b_varchar(b, &self.server);
            put_b_varchar(b, &self.procedure);
            b.extend_from_slice(&self.line.to_le_bytes());
        });
    }
}
