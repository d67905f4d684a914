//! The instance's TLS certificate: generated once (names localhost, 127.0.0.1 and the
//! server's name) and kept in the data dir, or loaded from PEM files.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const CERT_FILE: &str = "tls-cert.pem";
pub const KEY_FILE: &str = "tls-key.pem";
/// The ALPN protocol of TDS 8.0 (sql-docs, tds-8.md).
pub const TDS8_ALPN: &[u8] = b"tds/8.0";

pub struct TlsMaterial {
    pub config: Arc<rustls::ServerConfig>,
    /// TDS 8.0 (strict): TLS 1.2 or 1.3 before any TDS packet, ALPN `tds/8.0`.
    pub strict: Arc<rustls::ServerConfig>,
    pub cert_pem_path: PathBuf,
}

fn read_pem(
    cert: &Path,
    key: &Path,
) -> std::io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(cert)?))
        .collect::<Result<Vec<_>, _>>()?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(std::fs::File::open(key)?))?
        .ok_or_else(|| std::io::Error::other(format!("no private key in {}", key.display())))?;
    if certs.is_empty() {
        return Err(std::io::Error::other(format!(
            "no certificate in {}",
            cert.display()
        )));
    }
    Ok((certs, key))
}

/// Loads `given` PEM files, or the data dir's certificate, or makes one.
pub fn load_or_create(
    data_dir: &Path,
    server_names: &[String],
    given: Option<(&Path, &Path)>,
) -> std::io::Result<TlsMaterial> {
    let cert_path = data_dir.join(CERT_FILE);
    let key_path = data_dir.join(KEY_FILE);
    let (certs, key) = match given {
        Some((c, k)) => {
            let r = read_pem(c, k)?;
            std::fs::copy(c, &cert_path)?;
            r
        }
        None if cert_path.exists() && key_path.exists() => read_pem(&cert_path, &key_path)?,
        None => {
            let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
            for n in server_names {
                if !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
                    names.push(n.clone());
                }
            }
            let mut params = rcgen::CertificateParams::new(names).map_err(std::io::Error::other)?;
            params.distinguished_name.push(
                rcgen::DnType::CommonName,
                server_names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "localhost".into()),
            );
            // Wine's crypt32 fails to verify an ECDSA signature whose r or s is shorter than
            // 32 bytes (about one certificate in 128), every time: a client under Wine would
            // then refuse this instance for good. Such a certificate is made again.
            let (key, cert) = loop {
                let key = rcgen::KeyPair::generate().map_err(std::io::Error::other)?;
                let cert = params
                    .clone()
                    .self_signed(&key)
                    .map_err(std::io::Error::other)?;
                if full_width_signature(cert.der()) {
                    break (key, cert);
                }
            };
            std::fs::write(&cert_path, cert.pem())?;
            write_private(&key_path, key.serialize_pem().as_bytes())?;
            read_pem(&cert_path, &key_path)?
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
        // SQL Server negotiates TLS 1.3 only under TDS 8 (strict); TDS 7.x sessions use 1.2.
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs.clone(), key.clone_key())
        .map_err(std::io::Error::other)?;
    config.send_tls13_tickets = 0;
    let mut strict = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(std::io::Error::other)?;
    strict.alpn_protocols = vec![TDS8_ALPN.to_vec()];
    strict.send_tls13_tickets = 0;
    Ok(TlsMaterial {
        config: Arc::new(config),
        strict: Arc::new(strict),
        cert_pem_path: cert_path,
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)?.write_all(bytes)
}

/// A DER item at `d`: its tag, its contents and what follows it.
fn der_item(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = d.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Whether a certificate's ECDSA P-256 signature has r and s of a full 32 bytes each.
fn full_width_signature(cert: &[u8]) -> bool {
    let check = || -> Option<bool> {
        let (_, body, _) = der_item(cert)?;
        let (_, _, rest) = der_item(body)?; // tbsCertificate
        let (_, _, rest) = der_item(rest)?; // signatureAlgorithm
        let (tag, bits, _) = der_item(rest)?;
        if tag != 0x03 || bits.first() != Some(&0) {
            return None;
        }
        let (_, sig, _) = der_item(&bits[1..])?;
        let (_, r, rest) = der_item(sig)?;
        let (_, s, _) = der_item(rest)?;
        let width = |i: &[u8]| i.iter().skip_while(|b| **b == 0).count();
        Some(width(r) == 32 && width(s) == 32)
    };
    check().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_certificates_have_full_width_signatures() {
        // One certificate in 128 would fail without the check: 300 almost surely meet one.
        for _ in 0..300 {
            let dir = tempfile::tempdir().unwrap();
            super::load_or_create(dir.path(), &["SQL01".into()], None).unwrap();
            let pem = std::fs::read(dir.path().join(super::CERT_FILE)).unwrap();
            let der = rustls_pemfile::certs(&mut pem.as_slice())
                .next()
                .unwrap()
                .unwrap();
            assert!(super::full_width_signature(&der));
        }
    }
}
