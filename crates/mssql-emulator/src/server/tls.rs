//! The instance's TLS certificate: generated once (names localhost, 127.0.0.1 and the
//! server's name) and kept in the data dir, or loaded from PEM files.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const CERT_FILE: &str = "tls-cert.pem";
pub const KEY_FILE: &str = "tls-key.pem";

pub struct TlsMaterial {
    pub config: Arc<rustls::ServerConfig>,
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
            let key = rcgen::KeyPair::generate().map_err(std::io::Error::other)?;
            let mut params = rcgen::CertificateParams::new(names).map_err(std::io::Error::other)?;
            params.distinguished_name.push(
                rcgen::DnType::CommonName,
                server_names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "localhost".into()),
            );
            let cert = params.self_signed(&key).map_err(std::io::Error::other)?;
            std::fs::write(&cert_path, cert.pem())?;
            write_private(&key_path, key.serialize_pem().as_bytes())?;
            read_pem(&cert_path, &key_path)?
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        // SQL Server negotiates TLS 1.3 only under TDS 8 (strict); TDS 7.x sessions use 1.2.
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(std::io::Error::other)?;
    config.send_tls13_tickets = 0;
    Ok(TlsMaterial {
        config: Arc::new(config),
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
