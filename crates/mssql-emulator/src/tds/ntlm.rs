//! NTLM inside LOGIN7's SSPI exchange ([MS-NLMP]), the acceptor side: the client's
//! NEGOTIATE arrives in LOGIN7, the server answers with a CHALLENGE in an SSPI token (0xED),
//! and the client's AUTHENTICATE comes back in an SSPI message (packet type 0x11). Only
//! NTLMv2 responses are accepted (see `engine::assumptions::NTLM_V2_ONLY`); the emulated domain
//! controller keeps each Windows account's NT hash (MD4 of the UTF-16LE password).

use super::{invalid, ProtocolError};
use hmac::{Hmac, Mac};
use md5::Md5;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const REQUEST_TARGET: u32 = 0x0000_0004;
pub const NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub const NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub const NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
pub const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub const NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub const NEGOTIATE_128: u32 = 0x2000_0000;
pub const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub const NEGOTIATE_56: u32 = 0x8000_0000;

/// The client's first message: only its flags matter to the acceptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiate {
    pub flags: u32,
}

/// What the client proved, parsed from its AUTHENTICATE message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticate {
    pub domain: String,
    pub user: String,
    pub workstation: String,
    pub nt_response: Vec<u8>,
}

/// True when `bytes` starts an NTLM message (SPNEGO-wrapped Kerberos does not).
pub fn is_ntlm(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE)
}

fn header(bytes: &[u8], ty: u32, what: &'static str) -> Result<(), ProtocolError> {
    if bytes.len() < 12 {
        return Err(ProtocolError::Truncated(what));
    }
    if !is_ntlm(bytes) {
        return Err(invalid(what, "no NTLMSSP signature"));
    }
    let got = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    if got != ty {
        return Err(invalid(what, format!("message type {got}, expected {ty}")));
    }
    Ok(())
}

fn u32_at(b: &[u8], at: usize, what: &'static str) -> Result<u32, ProtocolError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
        .ok_or(ProtocolError::Truncated(what))
}

/// A (length, max length, offset) field pointing into the message.
fn field<'a>(b: &'a [u8], at: usize, what: &'static str) -> Result<&'a [u8], ProtocolError> {
    let len = b
        .get(at..at + 2)
        .map(|s| u16::from_le_bytes(s.try_into().unwrap()) as usize)
        .ok_or(ProtocolError::Truncated(what))?;
    let off = u32_at(b, at + 4, what)? as usize;
    if len == 0 {
        return Ok(&[]);
    }
    b.get(off..off.checked_add(len).ok_or(ProtocolError::Truncated(what))?)
        .ok_or_else(|| invalid(what, "a field points outside the message"))
}

pub fn decode_negotiate(bytes: &[u8]) -> Result<Negotiate, ProtocolError> {
    header(bytes, 1, "NTLM NEGOTIATE")?;
    Ok(Negotiate {
        flags: u32_at(bytes, 12, "NTLM NEGOTIATE")?,
    })
}

fn text(b: &[u8], unicode: bool, what: &'static str) -> Result<String, ProtocolError> {
    if unicode {
        if !b.len().is_multiple_of(2) {
            return Err(ProtocolError::BadUtf16(what));
        }
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).map_err(|_| ProtocolError::BadUtf16(what))
    } else {
        Ok(b.iter().map(|&c| c as char).collect())
    }
}

pub fn decode_authenticate(bytes: &[u8]) -> Result<Authenticate, ProtocolError> {
    const W: &str = "NTLM AUTHENTICATE";
    header(bytes, 3, W)?;
    let flags = u32_at(bytes, 60, W)?;
    let unicode = flags & NEGOTIATE_UNICODE != 0;
    Ok(Authenticate {
        nt_response: field(bytes, 20, W)?.to_vec(),
        domain: text(field(bytes, 28, W)?, unicode, W)?,
        user: text(field(bytes, 36, W)?, unicode, W)?,
        workstation: text(field(bytes, 44, W)?, unicode, W)?,
    })
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The CHALLENGE message: the server's nonce and the target information NTLMv2 signs.
/// `filetime` is the server's clock in 100 ns units since 1601 (MsvAvTimestamp).
pub fn encode_challenge(
    client_flags: u32,
    server_challenge: [u8; 8],
    domain: &str,
    computer: &str,
    filetime: u64,
) -> Vec<u8> {
    let mut info = Vec::new();
    let mut av = |id: u16, value: &[u8]| {
        info.extend_from_slice(&id.to_le_bytes());
        info.extend_from_slice(&(value.len() as u16).to_le_bytes());
        info.extend_from_slice(value);
    };
    av(2, &utf16(domain)); // MsvAvNbDomainName
    av(1, &utf16(computer)); // MsvAvNbComputerName
    av(4, &utf16(&domain.to_ascii_lowercase())); // MsvAvDnsDomainName
    av(3, &utf16(&computer.to_ascii_lowercase())); // MsvAvDnsComputerName
    av(7, &filetime.to_le_bytes()); // MsvAvTimestamp
    av(0, &[]); // MsvAvEOL
    let target = utf16(domain);
    // Answer with what both sides support (as Windows does, echoing the signing and sealing
    // the client asked for), always Unicode and extended session security.
    let flags = NEGOTIATE_UNICODE
        | REQUEST_TARGET
        | NEGOTIATE_NTLM
        | NEGOTIATE_ALWAYS_SIGN
        | TARGET_TYPE_DOMAIN
        | NEGOTIATE_EXTENDED_SESSIONSECURITY
        | NEGOTIATE_TARGET_INFO
        | (client_flags
            & (NEGOTIATE_128
                | NEGOTIATE_56
                | NEGOTIATE_KEY_EXCH
                | NEGOTIATE_VERSION
                | NEGOTIATE_SIGN
                | NEGOTIATE_SEAL));
    let fixed = 56usize;
    let mut out = Vec::with_capacity(fixed + target.len() + info.len());
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(target.len() as u16).to_le_bytes());
    out.extend_from_slice(&(target.len() as u16).to_le_bytes());
    out.extend_from_slice(&(fixed as u32).to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&server_challenge);
    out.extend_from_slice(&[0; 8]); // reserved
    out.extend_from_slice(&(info.len() as u16).to_le_bytes());
    out.extend_from_slice(&(info.len() as u16).to_le_bytes());
    out.extend_from_slice(&((fixed + target.len()) as u32).to_le_bytes());
    // Version: Windows Server 2022 (10.0 build 20348), NTLM revision 15.
    out.extend_from_slice(&[10, 0]);
    out.extend_from_slice(&20348u16.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 15]);
    out.extend_from_slice(&target);
    out.extend_from_slice(&info);
    out
}

type HmacMd5 = Hmac<Md5>;

/// The NT hash a domain controller keeps: MD4 of the UTF-16LE password.
pub fn nt_hash(password: &str) -> [u8; 16] {
    use md4::{Digest, Md4};
    Md4::digest(utf16(password)).into()
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut m = HmacMd5::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// NTOWFv2: HMAC-MD5 keyed by the NT hash over UPPER(user) + domain, both UTF-16LE.
pub fn ntowf_v2(nt_hash: &[u8; 16], user: &str, domain: &str) -> [u8; 16] {
    let who = utf16(&(user.to_uppercase() + domain));
    hmac_md5(nt_hash, &[&who])
}

/// Checks an NTLMv2 response (NTProofStr followed by the client's blob) against the
/// account's NT hash. Anything shorter than a v2 response (NTLMv1's 24 bytes) fails.
pub fn verify_v2(nt_hash: &[u8; 16], a: &Authenticate, server_challenge: &[u8; 8]) -> bool {
    if a.nt_response.len() < 16 + 28 {
        return false;
    }
    let (proof, blob) = a.nt_response.split_at(16);
    let key = ntowf_v2(nt_hash, &a.user, &a.domain);
    let expected = hmac_md5(&key, &[server_challenge, blob]);
    // Constant time: the comparison reveals nothing about how much of the proof was right.
    expected
        .iter()
        .zip(proof)
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [MS-NLMP] 4.2.4: user "User", domain "Domain", password "Password".
    fn spec_nt_hash() -> [u8; 16] {
        hex::decode("a4f49c406510bdcab6824ee7c30fd852")
            .unwrap()
            .try_into()
            .unwrap()
    }

    #[test]
    fn the_nt_hash_matches_the_specification_example() {
        assert_eq!(nt_hash("Password"), spec_nt_hash());
    }

    #[test]
    fn ntowf_v2_matches_the_specification_example() {
        assert_eq!(
            hex::encode(ntowf_v2(&spec_nt_hash(), "User", "Domain")),
            "0c868a403bfd7a93a3001ef22ef02e3f"
        );
    }

    fn response(nt_hash: &[u8; 16], user: &str, domain: &str, challenge: &[u8; 8]) -> Vec<u8> {
        let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
        blob.extend_from_slice(&0u64.to_le_bytes());
        blob.extend_from_slice(&[0xaa; 8]);
        blob.extend_from_slice(&[0; 4]);
        blob.extend_from_slice(&[0; 4]); // MsvAvEOL
        let key = ntowf_v2(nt_hash, user, domain);
        let mut out = hmac_md5(&key, &[challenge, &blob]).to_vec();
        out.extend_from_slice(&blob);
        out
    }

    #[test]
    fn a_v2_response_verifies_only_with_the_right_hash_and_challenge() {
        let challenge = [1, 2, 3, 4, 5, 6, 7, 8];
        let a = Authenticate {
            domain: "Domain".into(),
            user: "User".into(),
            workstation: "WS".into(),
            nt_response: response(&spec_nt_hash(), "User", "Domain", &challenge),
        };
        assert!(verify_v2(&spec_nt_hash(), &a, &challenge));
        assert!(!verify_v2(&[0; 16], &a, &challenge));
        assert!(!verify_v2(&spec_nt_hash(), &a, &[9; 8]));
        let v1 = Authenticate {
            nt_response: vec![0; 24],
            ..a.clone()
        };
        assert!(!verify_v2(&spec_nt_hash(), &v1, &challenge));
    }

    fn authenticate_message(domain: &str, user: &str, nt: &[u8]) -> Vec<u8> {
        let (d, u, w) = (utf16(domain), utf16(user), utf16("WS"));
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        let mut off = 64u32;
        let mut fields = Vec::new();
        for f in [&[][..], nt, &d, &u, &w, &[]] {
            fields.extend_from_slice(&(f.len() as u16).to_le_bytes());
            fields.extend_from_slice(&(f.len() as u16).to_le_bytes());
            fields.extend_from_slice(&off.to_le_bytes());
            off += f.len() as u32;
        }
        out.extend_from_slice(&fields);
        out.extend_from_slice(&NEGOTIATE_UNICODE.to_le_bytes());
        for f in [nt, &d[..], &u, &w] {
            out.extend_from_slice(f);
        }
        out
    }

    #[test]
    fn authenticate_messages_are_parsed_and_lies_are_refused() {
        let m = authenticate_message("CONTOSO", "alice", &[7; 50]);
        let a = decode_authenticate(&m).unwrap();
        assert_eq!((a.domain.as_str(), a.user.as_str()), ("CONTOSO", "alice"));
        assert_eq!(a.nt_response, vec![7; 50]);
        let mut lying = m.clone();
        lying[24] = 0xff; // the NT response's offset, far outside the message
        lying[25] = 0xff;
        assert!(decode_authenticate(&lying).is_err());
        assert!(decode_authenticate(&m[..30]).is_err());
        assert!(decode_negotiate(&m).is_err(), "type 3 is not a NEGOTIATE");
    }

    #[test]
    fn the_challenge_carries_the_nonce_and_target_info() {
        let c = encode_challenge(NEGOTIATE_128, [9; 8], "CONTOSO", "SQL01", 42);
        header(&c, 2, "CHALLENGE").unwrap();
        assert_eq!(&c[24..32], &[9; 8]);
        let info = field(&c, 40, "CHALLENGE").unwrap();
        assert!(info.ends_with(&[0, 0, 0, 0]), "ends in MsvAvEOL");
        assert_eq!(field(&c, 12, "CHALLENGE").unwrap(), &utf16("CONTOSO")[..]);
        assert_ne!(u32_at(&c, 20, "CHALLENGE").unwrap() & NEGOTIATE_128, 0);
    }
}
