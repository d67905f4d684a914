//! Does this server insist on TDS 8.0? Asked only after a connection that was not Strict
//! ended before the login with no word from SQL Server. Two new connections, no login and no
//! password: a bare TDS 7.x PRELOGIN (a server that answers it does not force Strict, so the
//! failure was something else), and a TLS handshake with ALPN `tds/8.0` and no certificate
//! check (nothing is sent inside it). Only a server that refuses the first and completes the
//! second forces Strict encryption, and Keysafe says so instead of quoting a network error.

use std::time::Duration;
use tokio::net::TcpStream;

const TDS8_ALPN: &str = "tds/8.0";

/// Whether `tcp`'s server answers a TDS 7.x PRELOGIN (with a TABULAR RESULT packet) within
/// `timeout`.
pub async fn answers_tds7(mut tcp: TcpStream, timeout: Duration) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // PRELOGIN (MS-TDS 2.2.6.5): VERSION and ENCRYPTION (ENCRYPT_OFF), then the terminator.
    let options: [u8; 11] = [
        0x00, 0x00, 0x0B, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xFF,
    ];
    let data: [u8; 7] = [0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
    let len = (8 + options.len() + data.len()) as u16;
    let mut packet = vec![0x12, 0x01];
    packet.extend_from_slice(&len.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 1, 0]);
    packet.extend_from_slice(&options);
    packet.extend_from_slice(&data);
    let exchange = async {
        tcp.write_all(&packet).await.ok()?;
        let mut first = [0u8; 1];
        tcp.read_exact(&mut first).await.ok()?;
        Some(first[0] == 0x04)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Whether `tcp`'s server completes a TDS 8.0 TLS handshake within `timeout`.
pub async fn speaks_tds8(tcp: TcpStream, host: &str, timeout: Duration) -> bool {
    tokio::time::timeout(timeout, handshake(tcp, host))
        .await
        .unwrap_or(false)
}

#[cfg(not(windows))]
async fn handshake(tcp: TcpStream, host: &str) -> bool {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use std::sync::Arc;

    /// Accepts any certificate: the probe sends nothing the server could read.
    #[derive(Debug)]
    struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);
    impl ServerCertVerifier for AnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(builder) = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    else {
        return false;
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![TDS8_ALPN.as_bytes().to_vec()];
    let name = ServerName::try_from(host.to_string())
        .unwrap_or_else(|_| ServerName::try_from("localhost").expect("a name"));
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    connector.connect(name, tcp).await.is_ok()
}

#[cfg(windows)]
async fn handshake(tcp: TcpStream, host: &str) -> bool {
    // SChannel through native-tls, as tiberius uses it on Windows.
    let Ok(std_tcp) = tcp.into_std() else {
        return false;
    };
    let host = host.to_string();
    tokio::task::spawn_blocking(move || {
        let _ = std_tcp.set_nonblocking(false);
        let Ok(connector) = native_tls::TlsConnector::builder()
            .request_alpns(&[TDS8_ALPN])
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true)
            .build()
        else {
            return false;
        };
        connector.connect(&host, std_tcp).is_ok()
    })
    .await
    .unwrap_or(false)
}
