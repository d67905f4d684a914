//! SQL Server Browser (MC-SQLR): answers "which port is instance X on?" over UDP, so
//! clients can connect to `host\instance`.

use std::net::SocketAddr;
use tokio::net::UdpSocket;

/// One named instance the browser announces.
#[derive(Debug, Clone)]
pub struct BrowserEntry {
    pub machine: String,
    pub instance: String,
    pub version: String,
    pub port: u16,
}

impl BrowserEntry {
    fn record(&self) -> String {
        format!(
            "ServerName;{};InstanceName;{};IsClustered;No;Version;{};tcp;{};;",
            self.machine, self.instance, self.version, self.port
        )
    }
}

const CLNT_BCAST_EX: u8 = 0x02;
const CLNT_UCAST_EX: u8 = 0x03;
const CLNT_UCAST_INST: u8 = 0x04;
const SVR_RESP: u8 = 0x05;

/// The reply to one request, or None (SQL Browser stays silent on unknown instances and
/// malformed requests).
pub fn answer(request: &[u8], entries: &[BrowserEntry]) -> Option<Vec<u8>> {
    let body = match *request.first()? {
        CLNT_BCAST_EX | CLNT_UCAST_EX => {
            entries.iter().map(BrowserEntry::record).collect::<String>()
        }
        CLNT_UCAST_INST => {
            let raw = &request[1..];
            let name =
                std::str::from_utf8(&raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())])
                    .ok()?;
            if name.is_empty() || name.len() > 32 {
                return None;
            }
            entries
                .iter()
                .find(|e| e.instance.eq_ignore_ascii_case(name))?
                .record()
        }
        _ => return None,
    };
    if body.is_empty() || body.len() > u16::MAX as usize {
        return None;
    }
    let mut out = vec![SVR_RESP];
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

/// Serves browser requests on `bind` until the task is dropped.
pub async fn start(
    bind: SocketAddr,
    entries: Vec<BrowserEntry>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let socket = UdpSocket::bind(bind).await?;
    let addr = socket.local_addr()?;
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            if let Some(reply) = answer(&buf[..n], &entries) {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    });
    Ok((addr, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_request_gets_its_port_and_nothing_else_does() {
        let e = vec![BrowserEntry {
            machine: "SQL01".into(),
            instance: "PAYROLL".into(),
            version: "13.0.6300.2".into(),
            port: 50123,
        }];
        let r = answer(b"\x04payroll", &e).unwrap();
        assert_eq!(r[0], SVR_RESP);
        assert_eq!(u16::from_le_bytes([r[1], r[2]]) as usize, r.len() - 3);
        assert!(
            std::str::from_utf8(&r[3..])
                .unwrap()
                .contains("InstanceName;PAYROLL;")
                && r.ends_with(b"tcp;50123;;")
        );
        assert_eq!(answer(b"\x04OTHER", &e), None);
        assert_eq!(answer(b"\x09junk", &e), None);
        assert_eq!(answer(b"", &e), None);
        assert!(answer(b"\x03", &e).is_some());
    }
}
