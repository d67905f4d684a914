//! PRELOGIN (MS-TDS 2.2.6.5) and SQL Server's encryption negotiation.

use super::{invalid, ProtocolError, Reader};

pub const ENCRYPT_OFF: u8 = 0;
pub const ENCRYPT_ON: u8 = 1;
pub const ENCRYPT_NOT_SUP: u8 = 2;
pub const ENCRYPT_REQ: u8 = 3;

const OPT_VERSION: u8 = 0;
const OPT_ENCRYPTION: u8 = 1;
const OPT_INSTOPT: u8 = 2;
const OPT_THREADID: u8 = 3;
const OPT_MARS: u8 = 4;
const OPT_TERMINATOR: u8 = 0xff;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPrelogin {
    pub encryption: Option<u8>,
    pub instance: Option<String>,
    pub mars: bool,
}

pub fn decode(payload: &[u8]) -> Result<ClientPrelogin, ProtocolError> {
    let mut r = Reader::new(payload, "PRELOGIN");
    let mut out = ClientPrelogin::default();
    let mut seen = 0;
    loop {
        let token = r.u8()?;
        if token == OPT_TERMINATOR {
            break;
        }
        seen += 1;
        if seen > 64 {
            return Err(invalid("PRELOGIN", "too many options"));
        }
        let offset = r.u16_be()? as usize;
        let len = r.u16_be()? as usize;
        let data = payload
            .get(
                offset
                    ..offset
                        .checked_add(len)
                        .ok_or(ProtocolError::Truncated("PRELOGIN option"))?,
            )
            .ok_or(ProtocolError::Truncated("PRELOGIN option"))?;
        match token {
            OPT_ENCRYPTION => {
                let v = *data
                    .first()
                    .ok_or(ProtocolError::Truncated("PRELOGIN encryption"))?;
                if v > ENCRYPT_REQ && v & 0x80 == 0 {
                    return Err(invalid("PRELOGIN encryption", format!("{v:#04x}")));
                }
                out.encryption = Some(v & 0x0f);
            }
            OPT_INSTOPT => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                out.instance = Some(String::from_utf8_lossy(&data[..end]).into_owned());
            }
            OPT_MARS => out.mars = data.first().copied().unwrap_or(0) == 1,
            _ => {}
        }
    }
    if out.encryption.is_none() {
        return Err(invalid("PRELOGIN", "no ENCRYPTION option"));
    }
    Ok(out)
}

/// How the server is configured to treat encryption.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// No certificate: the server answers NOT_SUP and nothing is encrypted.
    Off,
    /// A certificate; the client decides (login only, or the whole session).
    On,
    /// Force Encryption = Yes: every session is encrypted.
    Required,
    /// Force Strict Encryption = Yes (SQL Server 2022+): TDS 8.0 only, TLS before any TDS
    /// packet; a TDS 7.x client's PRELOGIN fails the TLS handshake.
    Strict,
}

/// What the session will do after PRELOGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiated {
    Plain,
    LoginOnly,
    Full,
    /// The server answers and then closes: the two sides cannot agree.
    Refuse,
}

/// MS-TDS 2.2.6.5's matrix, as SQL Server applies it.
pub fn negotiate(mode: TlsMode, client: u8) -> (u8, Negotiated) {
    use Negotiated::*;
    match (mode, client) {
        (TlsMode::Off, ENCRYPT_ON | ENCRYPT_REQ) => (ENCRYPT_NOT_SUP, Refuse),
        (TlsMode::Off, _) => (ENCRYPT_NOT_SUP, Plain),
        (TlsMode::On, ENCRYPT_NOT_SUP) => (ENCRYPT_NOT_SUP, Plain),
        (TlsMode::On, ENCRYPT_OFF) => (ENCRYPT_OFF, LoginOnly),
        (TlsMode::On, _) => (ENCRYPT_ON, Full),
        (TlsMode::Required | TlsMode::Strict, ENCRYPT_NOT_SUP) => (ENCRYPT_REQ, Refuse),
        (TlsMode::Required | TlsMode::Strict, _) => (ENCRYPT_REQ, Full),
    }
}

/// The server's PRELOGIN answer.
pub fn encode_response(version: (u8, u8, u16), encryption: u8) -> Vec<u8> {
    // Options: VERSION(6) ENCRYPTION(1) INSTOPT(1) THREADID(0) MARS(1), then data.
    let opts: [(u8, usize); 5] = [
        (OPT_VERSION, 6),
        (OPT_ENCRYPTION, 1),
        (OPT_INSTOPT, 1),
        (OPT_THREADID, 0),
        (OPT_MARS, 1),
    ];
    let mut out = Vec::with_capacity(64);
    let mut offset = opts.len() * 5 + 1;
    for (tok, len) in opts {
        out.push(tok);
        out.extend_from_slice(&(offset as u16).to_be_bytes());
        out.extend_from_slice(&(len as u16).to_be_bytes());
        offset += len;
    }
    out.push(OPT_TERMINATOR);
    out.push(version.0);
    out.push(version.1);
    out.extend_from_slice(&version.2.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.push(encryption);
    out.push(0); // INSTOPT: the instance matched
    out.push(0); // MARS off
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_negotiation_matrix_matches_sql_server() {
        assert_eq!(
            negotiate(TlsMode::On, ENCRYPT_OFF),
            (ENCRYPT_OFF, Negotiated::LoginOnly)
        );
        assert_eq!(
            negotiate(TlsMode::On, ENCRYPT_ON),
            (ENCRYPT_ON, Negotiated::Full)
        );
        assert_eq!(
            negotiate(TlsMode::Required, ENCRYPT_OFF),
            (ENCRYPT_REQ, Negotiated::Full)
        );
        assert_eq!(
            negotiate(TlsMode::Required, ENCRYPT_NOT_SUP).1,
            Negotiated::Refuse
        );
        assert_eq!(negotiate(TlsMode::Off, ENCRYPT_ON).1, Negotiated::Refuse);
        assert_eq!(
            negotiate(TlsMode::Off, ENCRYPT_OFF),
            (ENCRYPT_NOT_SUP, Negotiated::Plain)
        );
    }

    #[test]
    fn a_response_decodes_as_a_prelogin() {
        let r = encode_response((16, 0, 1000), ENCRYPT_ON);
        assert_eq!(decode(&r).unwrap().encryption, Some(ENCRYPT_ON));
    }

    #[test]
    fn options_pointing_outside_the_payload_are_rejected() {
        let bad = [OPT_ENCRYPTION, 0x7f, 0xff, 0, 1, OPT_TERMINATOR];
        assert!(decode(&bad).is_err());
        assert!(decode(&[]).is_err());
    }
}
