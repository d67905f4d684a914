//! LOGIN7 (MS-TDS 2.2.6.4): the client's credentials and session options.

use super::{ProtocolError, Reader};
use zeroize::Zeroizing;

pub struct Login7 {
    pub tds_version: u32,
    pub packet_size: u32,
    pub option_flags2: u8,
    pub host_name: String,
    pub user_name: String,
    pub password: Zeroizing<String>,
    pub app_name: String,
    pub server_name: String,
    pub library: String,
    pub language: String,
    pub database: String,
    pub sspi: Vec<u8>,
}

impl std::fmt::Debug for Login7 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login7")
            .field("tds_version", &format_args!("{:#x}", self.tds_version))
            .field("packet_size", &self.packet_size)
            .field("host_name", &self.host_name)
            .field("user_name", &self.user_name)
            .field("password", &"<redacted>")
            .field("app_name", &self.app_name)
            .field("server_name", &self.server_name)
            .field("library", &self.library)
            .field("language", &self.language)
            .field("database", &self.database)
            .finish()
    }
}

/// OptionFlags2 bit: integrated security requested.
pub const INTEGRATED_SECURITY: u8 = 0x80;

/// The password travels "obfuscated": each byte has its nibbles swapped and is XORed with 0xA5.
pub fn deobfuscate(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| (b ^ 0xA5).rotate_left(4)).collect()
}

#[cfg(any(test, feature = "internals"))]
pub fn obfuscate(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b.rotate_left(4) ^ 0xA5).collect()
}

pub fn decode(payload: &[u8]) -> Result<Login7, ProtocolError> {
    let mut r = Reader::new(payload, "LOGIN7");
    let length = r.u32()? as usize;
    if length > payload.len() || length < 94 {
        return Err(super::invalid(
            "LOGIN7",
            format!("declared length {length}, have {}", payload.len()),
        ));
    }
    let tds_version = r.u32_be()?;
    let packet_size = r.u32()?;
    r.take(4 + 4 + 4)?; // client prog version, pid, connection id
    let _flags1 = r.u8()?;
    let option_flags2 = r.u8()?;
    let _type_flags = r.u8()?;
    let _flags3 = r.u8()?;
    r.take(4 + 4)?; // time zone, LCID
    let field = |r: &mut Reader, what: &'static str| -> Result<String, ProtocolError> {
        let off = r.u16()? as usize;
        let chars = r.u16()? as usize;
        let bytes = payload
            .get(off..off + chars * 2)
            .ok_or(ProtocolError::Truncated(what))?;
        super::decode_utf16(bytes, what)
    };
    let host_name = field(&mut r, "LOGIN7 host name")?;
    let user_name = field(&mut r, "LOGIN7 user name")?;
    let pw_off = r.u16()? as usize;
    let pw_chars = r.u16()? as usize;
    let pw_raw = payload
        .get(pw_off..pw_off + pw_chars * 2)
        .ok_or(ProtocolError::Truncated("LOGIN7 password"))?;
    let pw_plain = Zeroizing::new(deobfuscate(pw_raw));
    let password = Zeroizing::new(super::decode_utf16(&pw_plain, "LOGIN7 password")?);
    let app_name = field(&mut r, "LOGIN7 app name")?;
    let server_name = field(&mut r, "LOGIN7 server name")?;
    r.take(4)?; // extension / unused
    let library = field(&mut r, "LOGIN7 library")?;
    let language = field(&mut r, "LOGIN7 language")?;
    let database = field(&mut r, "LOGIN7 database")?;
    r.take(6)?; // client id
    let sspi_off = r.u16()? as usize;
    let sspi_len = r.u16()? as usize;
    let sspi = payload
        .get(sspi_off..sspi_off + sspi_len)
        .ok_or(ProtocolError::Truncated("LOGIN7 SSPI"))?
        .to_vec();
    Ok(Login7 {
        tds_version,
        packet_size,
        option_flags2,
        host_name,
        user_name,
        password,
        app_name,
        server_name,
        library,
        language,
        database,
        sspi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obfuscation_round_trips() {
        let pw = b"p\0a\0s\0s\0";
        assert_eq!(deobfuscate(&obfuscate(pw)), pw);
        // MS-TDS example: 'a' (0x61) goes on the wire as 0xB3.
        assert_eq!(obfuscate(&[0x61]), vec![0xB3]);
    }

    #[test]
    fn short_or_lying_logins_are_rejected() {
        assert!(decode(&[0u8; 10]).is_err());
        let mut buf = vec![0u8; 94];
        buf[0..4].copy_from_slice(&(5000u32).to_le_bytes());
        assert!(decode(&buf).is_err());
    }
}
