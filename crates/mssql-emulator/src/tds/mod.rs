//! The TDS 7.4 wire protocol, server side: packets, PRELOGIN, LOGIN7, RPC and the
//! response tokens. Everything here is pure encoding and decoding over byte slices, so it
//! is fuzzable and testable without a socket.

pub mod login7;
pub mod ntlm;
pub mod packet;
pub mod prelogin;
pub mod rpc;
pub mod token;
pub mod types;

/// Why a client's bytes could not be understood. The connection that sent them is closed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("truncated {0}")]
    Truncated(&'static str),
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("packet length {0} outside 8..=32767")]
    BadPacketLength(usize),
    #[error("message larger than the {0}-byte limit")]
    MessageTooLarge(usize),
    #[error("invalid UTF-16 in {0}")]
    BadUtf16(&'static str),
}

pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> ProtocolError {
    ProtocolError::Invalid {
        what,
        detail: detail.into(),
    }
}

/// A little-endian reader over a byte slice that never panics.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.remaining() < n {
            return Err(ProtocolError::Truncated(self.what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, ProtocolError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u16_be(&mut self) -> Result<u16, ProtocolError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Result<u32, ProtocolError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap()))
    }
    pub fn u32_be(&mut self) -> Result<u32, ProtocolError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes(b.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Result<u64, ProtocolError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap()))
    }
    /// UTF-16LE text of `chars` code units.
    pub fn utf16(&mut self, chars: usize) -> Result<String, ProtocolError> {
        let what = self.what;
        decode_utf16(
            self.take(chars.checked_mul(2).ok_or(ProtocolError::Truncated(what))?)?,
            what,
        )
    }
    /// B_VARCHAR: a one-byte character count, then UTF-16LE.
    pub fn b_varchar(&mut self) -> Result<String, ProtocolError> {
        let n = self.u8()? as usize;
        self.utf16(n)
    }
}

pub fn decode_utf16(bytes: &[u8], what: &'static str) -> Result<String, ProtocolError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(ProtocolError::BadUtf16(what));
    }
    let units = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| ProtocolError::BadUtf16(what))
}

pub fn put_utf16(dst: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16() {
        dst.extend_from_slice(&u.to_le_bytes());
    }
}

pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// B_VARCHAR, truncated to 255 code units as the format requires.
pub fn put_b_varchar(dst: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(255).collect();
    dst.push(units.len() as u8);
    for u in units {
        dst.extend_from_slice(&u.to_le_bytes());
    }
}

/// US_VARCHAR, truncated to 65535 code units.
pub fn put_us_varchar(dst: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(65535).collect();
    dst.extend_from_slice(&(units.len() as u16).to_le_bytes());
    for u in units {
        dst.extend_from_slice(&u.to_le_bytes());
    }
}
