//! Real key material: random keys, a real KDF and AEAD, real X.509 certificates.
//!
//! Backup files use an emulator-only format whose first line says so. Keysafe must never
//! parse these bytes: it treats a backup file as opaque and proves it by hash and restore.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

pub type KeyBytes = Zeroizing<[u8; 32]>;

pub fn random_key() -> KeyBytes {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::thread_rng().fill_bytes(k.as_mut());
    k
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// Ciphertext under a key, with its nonce. Stored as hex in state.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sealed {
    #[serde(with = "hex_bytes")]
    pub nonce: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub ciphertext: Vec<u8>,
    /// Present when the key came from a password.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_hex_bytes"
    )]
    pub salt: Option<Vec<u8>>,
}

pub fn seal(key: &[u8; 32], plaintext: &[u8]) -> Sealed {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let nonce = random_bytes::<12>();
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .expect("encryption cannot fail");
    Sealed {
        nonce: nonce.to_vec(),
        ciphertext,
        salt: None,
    }
}

pub fn open(key: &[u8; 32], s: &Sealed) -> Option<Zeroizing<Vec<u8>>> {
    if s.nonce.len() != 12 {
        return None;
    }
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt(Nonce::from_slice(&s.nonce), s.ciphertext.as_ref())
        .ok()
        .map(Zeroizing::new)
}

pub fn derive(password: &str, salt: &[u8], iterations: u32) -> KeyBytes {
    let mut k = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, k.as_mut());
    k
}

pub fn seal_with_password(password: &str, plaintext: &[u8]) -> Sealed {
    let salt = random_bytes::<16>();
    let key = derive(password, &salt, super::assumptions::BACKUP_KDF_ITERATIONS);
    let mut s = seal(&key, plaintext);
    s.salt = Some(salt.to_vec());
    s
}

pub fn open_with_password(password: &str, s: &Sealed) -> Option<Zeroizing<Vec<u8>>> {
    let salt = s.salt.as_ref()?;
    let key = derive(password, salt, super::assumptions::BACKUP_KDF_ITERATIONS);
    open(&key, s)
}

/// A login's stored password verifier (salted, slow hash).
pub fn password_verifier(password: &str) -> (Vec<u8>, Vec<u8>) {
    let salt = random_bytes::<16>().to_vec();
    let hash = derive(password, &salt, 1_000).to_vec();
    (salt, hash)
}

pub fn verify_password(password: &str, salt: &[u8], hash: &[u8]) -> bool {
    let h = derive(password, salt, 1_000);
    // constant-time enough for an emulator: compare all bytes
    h.iter().zip(hash).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0 && hash.len() == 32
}

// ---- backup files ----

pub const BACKUP_MAGIC: &[u8] =
    b"MSSQL-EMULATOR KEY BACKUP v1 (emulator format, not SQL Server's)\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BackupKind {
    ServiceMasterKey = 1,
    DatabaseMasterKey = 2,
    PrivateKey = 3,
    Pfx = 4,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BackupError {
    /// Not one of our backup files, or truncated.
    Format,
    /// The wrong password, or the bytes were altered.
    Decrypt,
}

/// The encrypted body of a backup file.
/// `iterations` of PBKDF2 derive its key from the password; the file records the number.
pub fn write_backup(kind: BackupKind, password: &str, payload: &[u8], iterations: u32) -> Vec<u8> {
    let salt = random_bytes::<16>();
    let key = derive(password, &salt, iterations.max(1));
    let sealed = seal(&key, payload);
    let mut out = Vec::with_capacity(BACKUP_MAGIC.len() + 64 + payload.len());
    out.extend_from_slice(BACKUP_MAGIC);
    out.push(kind as u8);
    out.extend_from_slice(&iterations.max(1).to_be_bytes());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&sealed.nonce);
    out.extend_from_slice(&sealed.ciphertext);
    out
}

pub fn read_backup(
    bytes: &[u8],
    expected: BackupKind,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, BackupError> {
    let rest = bytes
        .strip_prefix(BACKUP_MAGIC)
        .ok_or(BackupError::Format)?;
    if rest.len() < 1 + 4 + 16 + 12 + 16 || rest[0] != expected as u8 {
        return Err(BackupError::Format);
    }
    let iterations = u32::from_be_bytes(rest[1..5].try_into().unwrap());
    if iterations == 0 || iterations > 10_000_000 {
        return Err(BackupError::Format);
    }
    let salt = &rest[5..21];
    let nonce = &rest[21..33];
    let key = derive(password, salt, iterations);
    let s = Sealed {
        nonce: nonce.to_vec(),
        ciphertext: rest[33..].to_vec(),
        salt: None,
    };
    open(&key, &s).ok_or(BackupError::Decrypt)
}

// ---- certificates ----

pub struct NewCertificate {
    pub der: Vec<u8>,
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
}

fn to_offset(d: chrono::NaiveDateTime) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(d.and_utc().timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// A self-signed certificate as CREATE CERTIFICATE ... WITH SUBJECT makes one.
pub fn generate_certificate(
    subject: &str,
    start: chrono::NaiveDateTime,
    expiry: chrono::NaiveDateTime,
) -> NewCertificate {
    let key = rcgen::KeyPair::generate().expect("key generation");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    params.not_before = to_offset(start);
    params.not_after = to_offset(expiry);
    let mut serial = random_bytes::<16>();
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params.self_signed(&key).expect("self-signed certificate");
    NewCertificate {
        der: cert.der().to_vec(),
        private_key_pkcs8: Zeroizing::new(key.serialize_der()),
    }
}

/// What SQL Server's catalog shows of a certificate, read from its DER.
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub start: chrono::NaiveDateTime,
    pub expiry: chrono::NaiveDateTime,
    pub public_key: Vec<u8>,
    pub thumbprint: Vec<u8>,
}

pub fn parse_certificate(der: &[u8]) -> Option<CertificateInfo> {
    use sha1::Digest;
    let (rest, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let cn = |n: &x509_parser::x509::X509Name| {
        n.iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| n.to_string())
    };
    let ts = |t: x509_parser::time::ASN1Time| {
        chrono::DateTime::from_timestamp(t.timestamp(), 0).map(|d| d.naive_utc())
    };
    Some(CertificateInfo {
        subject: cn(cert.subject()),
        issuer: cn(cert.issuer()),
        serial: cert
            .raw_serial()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
        start: ts(cert.validity().not_before)?,
        expiry: ts(cert.validity().not_after)?,
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        thumbprint: sha1::Sha1::digest(der).to_vec(),
    })
}

/// Whether a PKCS#8 private key belongs to the public key of a certificate.
pub fn key_matches(pkcs8: &[u8], public_key: &[u8]) -> bool {
    match rcgen::KeyPair::try_from(pkcs8) {
        Ok(k) => k.public_key_raw() == public_key,
        Err(_) => false,
    }
}

pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod opt_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_str(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|h| hex::decode(h).map_err(serde::de::Error::custom))
            .transpose()
    }
}

pub use self::hex_bytes as serde_hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_opens_only_with_its_password() {
        let f = write_backup(
            BackupKind::ServiceMasterKey,
            "Pa55word!x",
            b"secret key",
            1000,
        );
        assert!(f.starts_with(BACKUP_MAGIC));
        assert_eq!(
            &read_backup(&f, BackupKind::ServiceMasterKey, "Pa55word!x").unwrap()[..],
            b"secret key"
        );
        assert_eq!(
            read_backup(&f, BackupKind::ServiceMasterKey, "wrong").unwrap_err(),
            BackupError::Decrypt
        );
        assert_eq!(
            read_backup(&f, BackupKind::DatabaseMasterKey, "Pa55word!x").unwrap_err(),
            BackupError::Format
        );
        let mut flipped = f.clone();
        let n = flipped.len() - 3;
        flipped[n] ^= 1;
        assert_eq!(
            read_backup(&flipped, BackupKind::ServiceMasterKey, "Pa55word!x").unwrap_err(),
            BackupError::Decrypt
        );
        assert_eq!(
            read_backup(&f[..40], BackupKind::ServiceMasterKey, "x").unwrap_err(),
            BackupError::Format
        );
    }

    #[test]
    fn certificates_are_real_x509() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let c = generate_certificate(
            "TDE Certificate",
            start,
            start + chrono::Duration::days(365),
        );
        let info = parse_certificate(&c.der).unwrap();
        assert_eq!(info.subject, "TDE Certificate");
        assert_eq!(info.issuer, "TDE Certificate");
        assert_eq!(info.start, start);
        assert_eq!(info.thumbprint.len(), 20);
        assert!(key_matches(&c.private_key_pkcs8, &info.public_key));
        let other = generate_certificate("x", start, start);
        assert!(!key_matches(&other.private_key_pkcs8, &info.public_key));
    }
}
