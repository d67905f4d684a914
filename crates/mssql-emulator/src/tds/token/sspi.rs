//! SSPI (MS-TDS 2.2.7.22): the next message of an authentication exchange (an NTLM
//! CHALLENGE).

use super::{with_len16, Encode, TokenType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sspi<'a>(pub &'a [u8]);

impl Encode for Sspi<'_> {
    fn encode(&self, buf: &mut Vec<u8>) {
        with_len16(buf, TokenType::Sspi, |b| b.extend_from_slice(self.0));
    }
}
