//! RETURNSTATUS (MS-TDS 2.2.7.18): a stored procedure's return value.

use super::{Encode, TokenType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnStatus(pub i32);

impl Encode for ReturnStatus {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.push(TokenType::ReturnStatus as u8);
        buf.extend_from_slice(&self.0.to_le_bytes());
    }
}
