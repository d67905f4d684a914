//! One client connection: PRELOGIN, optional TLS, LOGIN7, then requests until it closes.

use super::transport::{ConnError, Transport};
use crate::engine::messages::{self, Msg};
use crate::engine::session::Session;
use crate::engine::{BatchOutput, Event, Instance};
use crate::tds::packet::{
    encode_message, MessageAssembler, PacketHeader, PacketType, DEFAULT_PACKET_SIZE, HEADER_LEN,
    MAX_PACKET_SIZE, MIN_PACKET_SIZE,
};
use crate::tds::prelogin::{self, Negotiated, TlsMode};
use crate::tds::token::{
    ColMetadata, DoneStatus, EnvChange, LoginAck, ReturnStatus, ReturnValue, Row, Sspi, TokenWriter,
};
use crate::tds::{login7, rpc};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The first byte of a TLS handshake record: a TDS 8.0 client's ClientHello.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Largest request message accepted (a 64 MB RPC is far beyond anything Keysafe sends).
const MESSAGE_LIMIT: usize = 64 << 20;
/// Time allowed from connect to a completed login.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Shared {
    pub instance: Arc<Instance>,
    pub tls_mode: TlsMode,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// TDS 8.0's TLS (1.2 or 1.3, ALPN tds/8.0): on SQL Server 2022 and later with a
    /// certificate, a client may open with it whatever the mode; under TlsMode::Strict it must.
    pub tls_strict: Option<Arc<rustls::ServerConfig>>,
    /// Each closed connection's requests and round trips, in the order they closed.
    pub traffic: std::sync::Mutex<Vec<super::ConnectionStats>>,
    /// EmulatorConfig::record_batches, open for appending.
    pub record: Option<std::sync::Mutex<std::fs::File>>,
}

/// One recorded batch (EmulatorConfig::record_batches).
fn record(shared: &Shared, database: &str, sql: &str, out: &BatchOutput) {
    use std::io::Write;
    let Some(file) = &shared.record else { return };
    let result_sets = out
        .events
        .iter()
        .filter(|e| matches!(e, Event::Rows { .. }))
        .count();
    let errors: Vec<&str> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) if m.class > 10 => Some(m.text.as_str()),
            _ => None,
        })
        .collect();
    let line = serde_json::json!({ "database": database, "sql": sql, "result_sets": result_sets, "errors": errors });
    let mut f = file.lock().expect("record");
    if let Err(e) = writeln!(f, "{line}") {
        tracing::warn!(error = %e, "cannot record a batch");
    }
}

pub async fn serve(shared: Arc<Shared>, tcp: tokio::net::TcpStream, spid: u16) {
    let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let _ = tcp.set_nodelay(true);
    let mut t = Transport::new(tcp);
    t.latency = Duration::from_millis(shared.instance.faults.latency_ms.load(Ordering::SeqCst));
    let mut requests = 0u32;
    let outcome = run(&shared, &mut t, spid, &mut requests).await;
    shared.instance.live.unregister(spid);
    let error = match outcome {
        Ok(()) | Err(ConnError::Closed) => None,
        Err(e) => Some(e.to_string()),
    };
    let stats = super::ConnectionStats {
        spid,
        requests,
        round_trips: t.round_trips,
    };
    match &error {
        None => {
            tracing::info!(spid, %peer, requests, round_trips = stats.round_trips, "disconnected")
        }
        Some(e) => {
            tracing::info!(spid, %peer, requests, round_trips = stats.round_trips, error = %e, "disconnected after an error")
        }
    }
    shared.traffic.lock().expect("traffic").push(stats);
    t.shutdown().await;
}

/// Reads one whole message (several packets). ATTENTION packets are returned on their own.
async fn read_message(t: &mut Transport) -> Result<crate::tds::packet::Message, ConnError> {
    let mut asm = MessageAssembler::new(MESSAGE_LIMIT);
    loop {
        let pkt = t.read_packet().await?;
        if let Some(m) = asm.push(&pkt)? {
            return Ok(m);
        }
    }
}

/// A response the client waits for: one round trip.
async fn send(
    t: &mut Transport,
    payload: &[u8],
    packet_size: usize,
    spid: u16,
) -> Result<(), ConnError> {
    t.answering().await;
    let mut wire =
        Vec::with_capacity(payload.len() + payload.len() / packet_size * HEADER_LEN + HEADER_LEN);
    encode_message(PacketType::TabularResult, payload, packet_size, &mut wire);
    set_spid(&mut wire, spid);
    t.write_all(&wire).await
}

fn set_spid(wire: &mut [u8], spid: u16) {
    let mut pos = 0;
    while pos + HEADER_LEN <= wire.len() {
        let len = u16::from_be_bytes([wire[pos + 2], wire[pos + 3]]) as usize;
        wire[pos + 4..pos + 6].copy_from_slice(&spid.to_be_bytes());
        pos += len.max(HEADER_LEN);
    }
}

async fn run(
    shared: &Shared,
    t: &mut Transport,
    spid: u16,
    requests: &mut u32,
) -> Result<(), ConnError> {
    let inst = &shared.instance;
    let (session, packet_size) =
        match tokio::time::timeout(LOGIN_TIMEOUT, login(shared, t, spid)).await {
            Ok(r) => r?,
            Err(_) => {
                tracing::info!(spid, "login timed out");
                return Ok(());
            }
        };
    let Some(mut session) = session else {
        return Ok(());
    };
    let killed = inst.live.register(spid);
    loop {
        // A KILL that is already signalled wins over a request that arrived after it.
        let msg = tokio::select! {
            biased;
            _ = killed.notified() => {
                tracing::info!(spid, "ended by KILL");
                return Ok(());
            }
            m = read_message(t) => m?,
        };
        *requests += 1;
        let ty = PacketType::from_u8(msg.ty);
        let work = match ty {
            Some(PacketType::Attention) => {
                // Nothing is running: acknowledge at once.
                let mut w = TokenWriter::new();
                w.done(DoneStatus::ATTN, 0, 0);
                send(t, &w.buf, packet_size, spid).await?;
                continue;
            }
            Some(PacketType::SqlBatch) => Request::Batch(rpc::decode_batch(&msg.payload)?),
            Some(PacketType::Rpc) => Request::Rpc(rpc::decode_rpc(&msg.payload)?),
            Some(PacketType::TransactionManager) => {
                let out = transaction_manager(&mut session, &msg.payload)?;
                send(t, &out, packet_size, spid).await?;
                continue;
            }
            _ => {
                return Err(crate::tds::invalid(
                    "request",
                    format!("packet type {:#04x} after login", msg.ty),
                )
                .into())
            }
        };
        let is_rpc = matches!(work, Request::Rpc(_));
        let database_before = session.database.clone();
        let inst2 = inst.clone();
        let (s, out, work) = tokio::task::spawn_blocking(move || {
            let mut s = session;
            let out = match &work {
                Request::Batch(sql) => inst2.execute_batch(&mut s, sql),
                Request::Rpc(call) => inst2.execute_rpc(&mut s, call),
            };
            (s, out, work)
        })
        .await
        .map_err(|e| ConnError::Io(std::io::Error::other(e)))?;
        if let Request::Batch(sql) = &work {
            record(shared, &database_before, sql, &out);
        }
        session = s;
        let payload = encode_output(&out, is_rpc);
        if out.drop_connection {
            return Ok(());
        }
        let delay = inst.faults.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            // A cancel (ATTENTION) during the delay discards the response.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
                pkt = t.read_packet() => {
                    let pkt = pkt?;
                    let h = PacketHeader::decode(&pkt)?;
                    if h.ty == PacketType::Attention as u8 {
                        let mut w = TokenWriter::new();
                        w.done(DoneStatus::ATTN, 0, 0);
                        send(t, &w.buf, packet_size, spid).await?;
                        continue;
                    }
                    return Err(crate::tds::invalid("request", "a new request before the previous response").into());
                }
            }
        }
        if inst.faults.response_sent() {
            tracing::warn!(spid, "injected fault: dropping the connection mid-response");
            let mut wire = Vec::new();
            encode_message(PacketType::TabularResult, &payload, packet_size, &mut wire);
            let half = (wire.len() / 2).max(1);
            t.write_all(&wire[..half]).await?;
            return Ok(());
        }
        send(t, &payload, packet_size, spid).await?;
    }
}

enum Request {
    Batch(String),
    Rpc(rpc::RpcCall),
}

/// PRELOGIN, TLS, LOGIN7. Returns the session, or None when the login failed (and was
/// answered).
async fn login(
    shared: &Shared,
    t: &mut Transport,
    spid: u16,
) -> Result<(Option<Session>, usize), ConnError> {
    let inst = &shared.instance;
    let opens_with_tls = t.peek_first().await? == TLS_HANDSHAKE_RECORD;
    let strict = match (&shared.tls_strict, shared.tls_mode) {
        (Some(config), TlsMode::Strict) => Some(config),
        (Some(config), _) if opens_with_tls => Some(config),
        _ => None,
    };
    if let Some(config) = strict {
        let alpn = t.tls_first(config.clone()).await?;
        tracing::debug!(spid, alpn = ?alpn.as_deref().map(String::from_utf8_lossy), "TDS 8.0: TLS first");
    } else if opens_with_tls {
        return Err(crate::tds::invalid(
            "PRELOGIN",
            "a TLS ClientHello first (TDS 8.0 needs SQL Server 2022 or later with a certificate)",
        )
        .into());
    }
    let first = t.read_packet().await?;
    let h = PacketHeader::decode(&first)?;
    if h.ty != PacketType::PreLogin as u8 {
        return Err(crate::tds::invalid(
            "PRELOGIN",
            format!("the first packet has type {:#04x}", h.ty),
        )
        .into());
    }
    let mut asm = MessageAssembler::new(64 * 1024);
    let mut msg = asm.push(&first)?;
    while msg.is_none() {
        let p = t.read_packet().await?;
        msg = asm.push(&p)?;
    }
    let pre = prelogin::decode(&msg.unwrap().payload)?;
    let mode = if strict.is_some() {
        TlsMode::Strict
    } else if shared.tls.is_some() {
        shared.tls_mode
    } else {
        TlsMode::Off
    };
    let (answer, negotiated) =
        prelogin::negotiate(mode, pre.encryption.unwrap_or(prelogin::ENCRYPT_NOT_SUP));
    // Under TDS 8.0 the session is already inside TLS: the ENCRYPTION option is answered
    // (see assumptions::STRICT_PRELOGIN_ENCRYPTION) and nothing more is negotiated.
    let negotiated = if strict.is_some() {
        Negotiated::Plain
    } else {
        negotiated
    };
    let resp = prelogin::encode_response(inst.info.tds_version(), answer);
    send(t, &resp, DEFAULT_PACKET_SIZE, spid).await?;
    if negotiated == Negotiated::Refuse {
        tracing::info!(spid, "encryption could not be agreed; closing");
        return Ok((None, DEFAULT_PACKET_SIZE));
    }
    if matches!(negotiated, Negotiated::LoginOnly | Negotiated::Full) {
        t.tls_handshake(shared.tls.clone().expect("TLS configured"))
            .await?;
    }
    let lmsg = read_message(t).await?;
    if lmsg.ty != PacketType::Login7 as u8 {
        return Err(crate::tds::invalid("LOGIN7", format!("packet type {:#04x}", lmsg.ty)).into());
    }
    let l = login7::decode(&lmsg.payload)?;
    if negotiated == Negotiated::LoginOnly {
        t.drop_tls();
    }
    let packet_size = match l.packet_size as usize {
        0 => DEFAULT_PACKET_SIZE,
        n => n.clamp(MIN_PACKET_SIZE, MAX_PACKET_SIZE),
    };
    let server = inst.info.server_name();
    let fail = |m: Vec<Msg>| {
        let mut w = TokenWriter::new();
        for x in m {
            w.put(&x.into_server(&server, "", 1));
        }
        w.done(DoneStatus::ERROR, 0, 0);
        w.buf
    };
    let login_name = if l.option_flags2 & login7::INTEGRATED_SECURITY != 0 || !l.sspi.is_empty() {
        match windows_login(inst, t, spid, &l.sspi).await? {
            Ok(name) => name,
            Err(m) => {
                send(t, &fail(vec![m]), DEFAULT_PACKET_SIZE, spid).await?;
                return Ok((None, packet_size));
            }
        }
    } else {
        match inst.authenticate(&l.user_name, &l.password) {
            Some(name) => name,
            None => {
                tracing::info!(spid, user = %l.user_name, "login failed");
                let out = fail(vec![messages::login_failed(&l.user_name)]);
                send(t, &out, DEFAULT_PACKET_SIZE, spid).await?;
                return Ok((None, packet_size));
            }
        }
    };
    let default_db = inst.default_database(&login_name);
    let wanted = if l.database.is_empty() {
        default_db
    } else {
        l.database.clone()
    };
    let database = {
        let st = inst.state();
        st.database(&wanted)
            .filter(|d| {
                d.database_id <= 4
                    || crate::engine::perms::has_database(&st, &login_name, d, "CONNECT")
            })
            .map(|d| d.name.clone())
    };
    let Some(database) = database else {
        let out = fail(vec![
            Msg::new(
                4060,
                11,
                1,
                format!(
                    "Cannot open database \"{wanted}\" requested by the login. The login failed."
                ),
            ),
            messages::login_failed(&l.user_name),
        ]);
        send(t, &out, DEFAULT_PACKET_SIZE, spid).await?;
        return Ok((None, packet_size));
    };
    tracing::debug!(spid, user = %login_name, %database, tls = t.is_tls(), "login");
    let mut w = TokenWriter::new();
    w.put(&EnvChange::Database {
        new: database.clone(),
        old: "master".into(),
    });
    w.put(&messages::changed_database(&database).into_server(&server, "", 1));
    w.put(&EnvChange::Collation);
    w.put(&EnvChange::Language {
        new: "us_english".into(),
    });
    w.put(
        &Msg::new(5703, 0, 1, "Changed language setting to us_english.")
            .into_server(&server, "", 1),
    );
    w.put(&LoginAck {
        prog_name: "Microsoft SQL Server".into(),
        version: inst.info.tds_version(),
    });
    w.put(&EnvChange::PacketSize {
        new: packet_size,
        old: DEFAULT_PACKET_SIZE,
    });
    w.done(DoneStatus::empty(), 0, 0);
    send(t, &w.buf, DEFAULT_PACKET_SIZE, spid).await?;
    let mut session = Session::new(spid, &login_name, &database);
    session.encrypted = t.is_tls();
    session.contained_group = crate::engine::assumptions::CONTAINED_AG_SESSIONS
        .then(|| inst.state().contained_group_of(&database))
        .flatten();
    Ok((Some(session), packet_size))
}

/// Windows authentication: NTLM in LOGIN7's SSPI data, a CHALLENGE back in an SSPI token,
/// the AUTHENTICATE in an SSPI message. Returns the login, or the error to answer with.
async fn windows_login(
    inst: &Instance,
    t: &mut Transport,
    spid: u16,
    sspi: &[u8],
) -> Result<Result<String, Msg>, ConnError> {
    use crate::engine::WindowsLogin;
    use crate::tds::ntlm;
    let untrusted = || {
        let (n, state) = crate::engine::assumptions::NTLM_REJECTED;
        Msg::new(n, 14, state, "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.")
    };
    if !ntlm::is_ntlm(sspi) {
        tracing::info!(
            spid,
            "integrated authentication without NTLM (Kerberos/SPNEGO is not emulated)"
        );
        return Ok(Err(untrusted()));
    }
    let negotiate = ntlm::decode_negotiate(sspi)?;
    let challenge: [u8; 8] = rand::random();
    let info = &inst.info;
    let filetime = (chrono::Utc::now().timestamp_micros() as u64 + 11_644_473_600_000_000) * 10;
    let mut w = TokenWriter::new();
    let message = ntlm::encode_challenge(
        negotiate.flags,
        challenge,
        &info.domain,
        &info.machine_name,
        filetime,
    );
    w.put(&Sspi(&message));
    send(t, &w.buf, DEFAULT_PACKET_SIZE, spid).await?;
    let m = read_message(t).await?;
    // [MS-TDS] says SSPI (0x11); tiberius sends it as another LOGIN7 packet, and SQL Server
    // accepts both (see assumptions::SSPI_CONTINUATION_TYPES).
    if !crate::engine::assumptions::SSPI_CONTINUATION_TYPES.contains(&m.ty) {
        return Err(crate::tds::invalid("SSPI", format!("packet type {:#04x}", m.ty)).into());
    }
    let a = ntlm::decode_authenticate(&m.payload)?;
    let who = format!("{}\\{}", a.domain, a.user);
    Ok(match inst.authenticate_windows(&a, &challenge) {
        WindowsLogin::Accepted(name) => Ok(name),
        WindowsLogin::NoLogin(name) => {
            tracing::info!(spid, user = %name, "Windows account has no login");
            Err(messages::login_failed(&name))
        }
        WindowsLogin::Untrusted => {
            tracing::info!(spid, user = %who, "NTLM response not accepted");
            Err(untrusted())
        }
    })
}

/// Events to tokens. RPC statements end in DONEINPROC, then RETURNSTATUS and DONEPROC.
pub fn encode_output(out: &BatchOutput, rpc: bool) -> Vec<u8> {
    let mut w = TokenWriter::new();
    let mut any_error = false;
    for e in &out.events {
        match e {
            Event::Rows { columns, rows } => {
                w.put(&ColMetadata(columns));
                for r in rows {
                    w.put(&Row {
                        cols: columns,
                        values: r,
                    });
                }
            }
            Event::Message(m) => w.put(m),
            Event::EnvDatabase { new, old } => w.put(&EnvChange::Database {
                new: new.clone(),
                old: old.clone(),
            }),
            Event::ReturnValue {
                ordinal,
                name,
                ty,
                value,
            } => w.put(&ReturnValue {
                ordinal: *ordinal,
                name,
                ty,
                value,
            }),
            Event::Done { status, rows } => {
                any_error |= status.contains(DoneStatus::ERROR);
                if rpc {
                    w.done_in_proc(*status | DoneStatus::MORE, 0xC1, *rows);
                } else {
                    w.done(*status, 0xC1, *rows);
                }
            }
        }
    }
    if rpc {
        w.put(&ReturnStatus(if any_error { 1 } else { 0 }));
        w.done_proc(
            if any_error {
                DoneStatus::ERROR
            } else {
                DoneStatus::empty()
            },
            0xE0,
            0,
        );
    }
    w.buf
}

/// TM_BEGIN_XACT (5), TM_COMMIT_XACT (7), TM_ROLLBACK_XACT (8); others are acknowledged.
fn transaction_manager(session: &mut Session, payload: &[u8]) -> Result<Vec<u8>, ConnError> {
    let mut r = crate::tds::Reader::new(payload, "TRANSACTION_MANAGER");
    let total = r.u32()? as usize;
    if total < 4 || total > payload.len() {
        return Err(crate::tds::invalid("TRANSACTION_MANAGER", "bad headers").into());
    }
    r.take(total - 4)?;
    let ty = r.u16()?;
    let mut w = TokenWriter::new();
    let descriptor = 0x1000 + session.spid as u64;
    match ty {
        5 => {
            session.trancount = 1;
            w.put(&EnvChange::BeginTransaction(descriptor));
        }
        7 | 8 => {
            session.trancount = 0;
            w.put(&if ty == 7 {
                EnvChange::CommitTransaction(descriptor)
            } else {
                EnvChange::RollbackTransaction(descriptor)
            });
        }
        _ => {}
    }
    w.done(DoneStatus::empty(), 0, 0);
    Ok(w.buf)
}
