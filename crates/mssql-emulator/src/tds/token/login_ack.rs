//! LOGINACK (MS-TDS 2.2.7.14): the login succeeded, with the server's name and version.

use super::{with_len16, Encode, TokenType};
use crate::tds::put_b_varchar;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAck {
    pub prog_name: String,
    /// Major, minor, build.
    pub version: (u8, u8, u16),
}

impl Encode for LoginAck {
    fn encode(&self, buf: &mut Vec<u8>) {
        with_len16(buf, TokenType::LoginAck, |b| {
            b.push(1); // SQL_TSQL
            b.extend_from_slice(&0x7400_0004u32.to_be_bytes());
            put_b_varchar(b, &self.prog_name);
            b.push(self.version.0);
            b.push(self.version.1);
            b.extend_from_slice(&self.version.2.to_be_bytes());
        });
    }
}
