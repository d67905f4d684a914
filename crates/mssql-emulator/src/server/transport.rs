//! A TDS connection's byte stream: plain TCP, or TLS whose handshake travels inside
//! PRELOGIN packets (MS-TDS 2.2.6.5) before the records go raw. rustls is driven
//! sans-IO so the handshake can be framed and TLS can be dropped after LOGIN7.

use crate::tds::packet::{encode_message, PacketHeader, PacketType, HEADER_LEN};
use crate::tds::ProtocolError;
use bytes::{Buf, BytesMut};
use rustls::ServerConnection;
use std::io::{self, Read, Write};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("connection closed by the client")]
    Closed,
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

pub struct Transport {
    tcp: TcpStream,
    tls: Option<Box<ServerConnection>>,
    /// Plaintext received but not yet consumed.
    rbuf: BytesMut,
    scratch: Vec<u8>,
    /// Responses the client waited for: PRELOGIN, the TLS handshake flights it waits on,
    /// LOGIN7, and each request (`responded`).
    pub round_trips: u32,
    /// Simulated network round-trip time: each response the client waits for is held back
    /// this long before it is sent (`Faults::latency_ms`, read when the connection opens).
    pub latency: std::time::Duration,
}

impl Transport {
    pub fn new(tcp: TcpStream) -> Self {
        Transport {
            tcp,
            tls: None,
            rbuf: BytesMut::with_capacity(8192),
            scratch: vec![0u8; 16 * 1024],
            round_trips: 0,
            latency: std::time::Duration::ZERO,
        }
    }

    /// A response the client is waiting for is about to be sent: count the round trip and
    /// let the simulated network latency pass first.
    pub async fn answering(&mut self) {
        self.round_trips += 1;
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Reads more plaintext into the buffer. Cancel-safe: bytes are only consumed from the
    /// socket in the await, and nothing read is held outside `self`.
    async fn fill(&mut self) -> Result<(), ConnError> {
        loop {
            if let Some(tls) = self.tls.as_mut() {
                match tls.reader().read(&mut self.scratch) {
                    Ok(0) => return Err(ConnError::Closed),
                    Ok(n) => {
                        self.rbuf.extend_from_slice(&self.scratch[..n]);
                        return Ok(());
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Err(ConnError::Closed)
                    }
                    Err(e) => return Err(e.into()),
                }
                let n = self.tcp.read(&mut self.scratch).await?;
                if n == 0 {
                    return Err(ConnError::Closed);
                }
                let tls = self.tls.as_mut().unwrap();
                let mut input = &self.scratch[..n];
                while !input.is_empty() {
                    tls.read_tls(&mut input)?;
                    if let Err(e) = tls.process_new_packets() {
                        let mut alert = Vec::new();
                        let _ = tls.write_tls(&mut alert);
                        let _ = self.tcp.write_all(&alert).await;
                        return Err(e.into());
                    }
                }
                self.flush_tls().await?;
            } else {
                let n = self.tcp.read_buf(&mut self.rbuf).await?;
                if n == 0 {
                    return Err(ConnError::Closed);
                }
                return Ok(());
            }
        }
    }

    async fn flush_tls(&mut self) -> Result<(), ConnError> {
        if let Some(tls) = self.tls.as_mut() {
            let mut out = Vec::new();
            while tls.wants_write() {
                tls.write_tls(&mut out)?;
            }
            if !out.is_empty() {
                self.tcp.write_all(&out).await?;
            }
        }
        Ok(())
    }

    /// Reads one packet, header included. Cancel-safe.
    pub async fn read_packet(&mut self) -> Result<BytesMut, ConnError> {
        loop {
            if self.rbuf.len() >= HEADER_LEN {
                let h = PacketHeader::decode(&self.rbuf)?;
                if self.rbuf.len() >= h.length {
                    return Ok(self.rbuf.split_to(h.length));
                }
            }
            self.fill().await?;
        }
    }

    pub async fn write_all(&mut self, data: &[u8]) -> Result<(), ConnError> {
        match self.tls.as_mut() {
            Some(tls) => {
                tls.writer().write_all(data)?;
                self.flush_tls().await
            }
            None => Ok(self.tcp.write_all(data).await?),
        }
    }

    /// The TLS handshake, carried in PRELOGIN packets until it completes.
    pub async fn tls_handshake(
        &mut self,
        config: Arc<rustls::ServerConfig>,
    ) -> Result<(), ConnError> {
        let mut conn = ServerConnection::new(config)?;
        while conn.is_handshaking() {
            let pkt = self.read_packet().await?;
            let h = PacketHeader::decode(&pkt)?;
            if h.ty != PacketType::PreLogin as u8 {
                return Err(crate::tds::invalid(
                    "TLS handshake",
                    format!("packet type {:#04x}, expected PRELOGIN", h.ty),
                )
                .into());
            }
            let mut input = &pkt[HEADER_LEN..];
            let mut failed = None;
            while !input.is_empty() {
                conn.read_tls(&mut input)?;
                if let Err(e) = conn.process_new_packets() {
                    failed = Some(e);
                    break;
                }
            }
            let mut out = Vec::new();
            while conn.wants_write() {
                conn.write_tls(&mut out)?;
            }
            if !out.is_empty() {
                let mut wire = Vec::with_capacity(out.len() + 64);
                encode_message(PacketType::PreLogin, &out, 4096, &mut wire);
                // The client waits for this flight while the handshake goes on, and for the
                // server's Finished in TLS 1.2; TLS 1.3's last flight (session tickets)
                // follows the client's Finished unasked.
                if conn.is_handshaking()
                    || conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2)
                {
                    self.answering().await;
                }
                self.tcp.write_all(&wire).await?;
            }
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        if !self.rbuf.is_empty() {
            // Plaintext arriving after the handshake must be TLS records: feed it in.
            let pending = self.rbuf.split().freeze();
            let mut input = pending.chunk();
            while !input.is_empty() {
                conn.read_tls(&mut input)?;
                conn.process_new_packets()?;
            }
        }
        self.tls = Some(Box::new(conn));
        Ok(())
    }

    /// The first byte the client sent, left unread: 0x16 (a TLS handshake record) opens a
    /// TDS 8.0 connection, 0x12 (PRELOGIN) a TDS 7.x one.
    pub async fn peek_first(&mut self) -> Result<u8, ConnError> {
        while self.rbuf.is_empty() {
            self.fill().await?;
        }
        Ok(self.rbuf[0])
    }

    /// TDS 8.0 (strict): the TLS handshake on the bare TCP stream, before any TDS packet.
    /// Bytes that are not TLS fail it as any TLS server fails them: an alert, then the
    /// connection closes. Returns the ALPN protocol the client agreed to, if any.
    pub async fn tls_first(
        &mut self,
        config: Arc<rustls::ServerConfig>,
    ) -> Result<Option<Vec<u8>>, ConnError> {
        let mut conn = ServerConnection::new(config)?;
        while conn.is_handshaking() {
            if self.rbuf.is_empty() {
                let n = self.tcp.read_buf(&mut self.rbuf).await?;
                if n == 0 {
                    return Err(ConnError::Closed);
                }
            }
            let pending = self.rbuf.split().freeze();
            let mut input = pending.chunk();
            let mut failed = None;
            while !input.is_empty() && failed.is_none() {
                conn.read_tls(&mut input)?;
                if let Err(e) = conn.process_new_packets() {
                    failed = Some(e);
                }
            }
            let mut out = Vec::new();
            while conn.wants_write() {
                conn.write_tls(&mut out)?;
            }
            if !out.is_empty() {
                if failed.is_none()
                    && (conn.is_handshaking()
                        || conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2))
                {
                    self.answering().await;
                }
                self.tcp.write_all(&out).await?;
            }
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        let alpn = conn.alpn_protocol().map(|p| p.to_vec());
        self.tls = Some(Box::new(conn));
        Ok(alpn)
    }

    /// Login-only encryption: after LOGIN7 the session continues in the clear.
    pub fn drop_tls(&mut self) {
        self.tls = None;
    }

    pub async fn shutdown(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
            let _ = self.flush_tls().await;
        }
        let _ = self.tcp.shutdown().await;
    }
}
