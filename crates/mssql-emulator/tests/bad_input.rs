//! Hostile and broken clients: each gets its connection closed; the server and every other
//! connection keep working. Also the injected faults Keysafe's own tests rely on.

mod common;
use common::*;
use mssql_emulator::tds::login7::obfuscate;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn packet(ty: u8, status: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![ty, status];
    p.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 1, 0]);
    p.extend_from_slice(payload);
    p
}

fn prelogin_not_sup() -> Vec<u8> {
    // VERSION (6 bytes) + ENCRYPTION (1 byte) + terminator
    let mut p = vec![0, 0, 11, 0, 6, 1, 0, 17, 0, 1, 0xff];
    p.extend_from_slice(&[0x10, 0, 0, 0, 0, 0]);
    p.push(2); // ENCRYPT_NOT_SUP
    packet(0x12, 1, &p)
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn login7(user: &str, password: &str) -> Vec<u8> {
    let fixed = 94usize;
    let fields: Vec<Vec<u8>> = vec![
        utf16("host"),
        utf16(user),
        obfuscate(&utf16(password)),
        utf16("raw-test"),
        utf16("127.0.0.1"),
        utf16("raw"),
        vec![],
        vec![],
    ];
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    for f in &fields {
        offsets.push(((fixed + data.len()) as u16, (f.len() / 2) as u16));
        data.extend_from_slice(f);
    }
    let total = fixed + data.len();
    let mut b = Vec::new();
    b.extend_from_slice(&(total as u32).to_le_bytes());
    b.extend_from_slice(&0x7400_0004u32.to_be_bytes());
    b.extend_from_slice(&4096u32.to_le_bytes());
    b.extend_from_slice(&[0; 12]);
    b.extend_from_slice(&[0xE0, 0x03, 0, 0]);
    b.extend_from_slice(&[0; 8]);
    for (i, (o, l)) in offsets.iter().enumerate() {
        b.extend_from_slice(&o.to_le_bytes());
        b.extend_from_slice(&l.to_le_bytes());
        if i == 4 {
            b.extend_from_slice(&[0; 4]); // extension
        }
    }
    b.extend_from_slice(&[0; 6]); // client id
    b.extend_from_slice(&[0; 4 + 4 + 4 + 4]); // sspi, attach db, change password, sspi long
    assert_eq!(b.len(), fixed);
    b.extend_from_slice(&data);
    packet(0x10, 1, &b)
}

/// Reads one whole response message (until a packet with EOM).
async fn read_response(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut h = [0u8; 8];
        s.read_exact(&mut h).await?;
        let len = u16::from_be_bytes([h[2], h[3]]) as usize;
        let mut body = vec![0u8; len - 8];
        s.read_exact(&mut body).await?;
        out.extend_from_slice(&body);
        if h[1] & 1 == 1 {
            return Ok(out);
        }
    }
}

async fn raw_login(r: &Running) -> TcpStream {
    let mut s = TcpStream::connect(r.emu.addr()).await.unwrap();
    s.write_all(&prelogin_not_sup()).await.unwrap();
    read_response(&mut s).await.unwrap();
    s.write_all(&login7("sa", mssql_emulator::DEFAULT_SA_PASSWORD))
        .await
        .unwrap();
    let resp = read_response(&mut s).await.unwrap();
    assert!(resp.contains(&0xAD), "LOGINACK expected");
    s
}

fn batch(sql_bytes: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&22u32.to_le_bytes());
    p.extend_from_slice(&18u32.to_le_bytes());
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&[0; 8]);
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(sql_bytes);
    packet(0x01, 1, &p)
}

/// The server closes the connection: a read sees EOF or a reset within the timeout.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

async fn server_still_serves(r: &Running) {
    let mut c = sa(r).await;
    assert_eq!(scalar_i32(&mut c, "SELECT 1").await, Some(1));
}

#[tokio::test]
async fn garbage_before_prelogin_closes_only_that_connection() {
    let r = start().await;
    let mut bystander = sa(&r).await;
    for junk in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5],
        vec![0x12, 1, 0, 4],
        vec![0u8; 64],
    ] {
        let mut s = TcpStream::connect(r.emu.addr()).await.unwrap();
        s.write_all(&junk).await.unwrap();
        let _ = s.shutdown().await;
        assert!(closed_by_server(&mut s).await, "{junk:?}");
    }
    assert_eq!(scalar_i32(&mut bystander, "SELECT 2").await, Some(2));
    server_still_serves(&r).await;
}

#[tokio::test]
async fn absurd_lengths_and_truncated_packets_are_rejected() {
    let r = start().await;
    // A length below the header size, and one above the maximum packet size.
    for header in [
        [0x12u8, 1, 0, 3, 0, 0, 0, 0],
        [0x12, 1, 0xff, 0xff, 0, 0, 0, 0],
    ] {
        let mut s = TcpStream::connect(r.emu.addr()).await.unwrap();
        s.write_all(&header).await.unwrap();
        assert!(closed_by_server(&mut s).await);
    }
    // A PRELOGIN whose option points past the end of the packet.
    let mut s = TcpStream::connect(r.emu.addr()).await.unwrap();
    s.write_all(&packet(0x12, 1, &[1, 0x7f, 0xff, 0, 1, 0xff]))
        .await
        .unwrap();
    assert!(closed_by_server(&mut s).await);
    // A packet that promises 200 bytes and delivers 20.
    let mut s = TcpStream::connect(r.emu.addr()).await.unwrap();
    let mut p = prelogin_not_sup();
    p[3] = 200;
    p.truncate(20);
    s.write_all(&p).await.unwrap();
    let _ = s.shutdown().await;
    assert!(closed_by_server(&mut s).await);
    server_still_serves(&r).await;
}

#[tokio::test]
async fn a_lying_login7_is_rejected() {
    let r = start().await;
    let mut s = TcpStream::connect(r.emu.addr()).await.unwrap();
    s.write_all(&prelogin_not_sup()).await.unwrap();
    read_response(&mut s).await.unwrap();
    let mut l = login7("sa", "x");
    // The user name's offset now points far outside the record.
    l[8 + 40] = 0xff;
    l[8 + 41] = 0x7f;
    s.write_all(&l).await.unwrap();
    assert!(closed_by_server(&mut s).await);
    server_still_serves(&r).await;
}

#[tokio::test]
async fn invalid_utf16_in_a_batch_closes_the_connection() {
    let r = start().await;
    let mut s = raw_login(&r).await;
    // A lone high surrogate.
    s.write_all(&batch(&[0x00, 0xD8, 0x41, 0x00]))
        .await
        .unwrap();
    assert!(closed_by_server(&mut s).await);
    let mut s = raw_login(&r).await;
    s.write_all(&batch(&[0x41, 0x00, 0x42])).await.unwrap(); // odd length
    assert!(closed_by_server(&mut s).await);
    let mut s = raw_login(&r).await;
    s.write_all(&packet(0x03, 1, &[1, 2, 3])).await.unwrap(); // an RPC too short for its headers
    assert!(closed_by_server(&mut s).await);
    server_still_serves(&r).await;
}

#[tokio::test]
async fn a_well_formed_raw_batch_gets_tokens_back() {
    let r = start().await;
    let mut s = raw_login(&r).await;
    s.write_all(&batch(&utf16("SELECT 1"))).await.unwrap();
    let resp = read_response(&mut s).await.unwrap();
    assert_eq!(resp[0], 0x81, "COLMETADATA first");
    assert_eq!(resp[resp.len() - 13], 0xFD, "DONE last");
    assert_eq!(
        u16::from_le_bytes([resp[resp.len() - 12], resp[resp.len() - 11]]),
        0x10,
        "DONE_COUNT"
    );
}

#[tokio::test]
async fn attention_cancels_a_delayed_response() {
    let r = start().await;
    let mut s = raw_login(&r).await;
    r.emu.faults().delay_ms.store(2000, Ordering::SeqCst);
    s.write_all(&batch(&utf16("SELECT 1"))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.write_all(&packet(0x06, 1, &[])).await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(1), read_response(&mut s))
        .await
        .expect("answered before the delay ends")
        .unwrap();
    assert_eq!(resp.len(), 13);
    assert_eq!(resp[0], 0xFD);
    assert_eq!(
        u16::from_le_bytes([resp[1], resp[2]]) & 0x20,
        0x20,
        "DONE_ATTN"
    );
    r.emu.faults().delay_ms.store(0, Ordering::SeqCst);
    s.write_all(&batch(&utf16("SELECT 1"))).await.unwrap();
    assert_eq!(
        read_response(&mut s).await.unwrap()[0],
        0x81,
        "the connection goes on"
    );
}

#[tokio::test]
async fn dropping_after_a_statement_leaves_its_effect_on_the_server() {
    let r = start().await;
    let mut c = sa(&r).await;
    r.emu.faults().reset_counters();
    r.emu
        .faults()
        .drop_after_statement
        .store(1, Ordering::SeqCst);
    let path = format!(r"{BACKUP_DIR}\dropped.key");
    let err = run(
        &mut c,
        &format!(
            "BACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    assert!(err.is_err(), "the client never hears back");
    assert!(host(&r, &path).is_file(), "but the server did the work");
    r.emu
        .faults()
        .drop_after_statement
        .store(0, Ordering::SeqCst);
    server_still_serves(&r).await;
}

#[tokio::test]
async fn dropping_mid_response_breaks_only_that_connection() {
    let r = start().await;
    let mut c = sa(&r).await;
    r.emu.faults().reset_counters();
    r.emu.faults().drop_mid_response.store(1, Ordering::SeqCst);
    assert!(run(
        &mut c,
        "SELECT name, create_date FROM sys.databases CROSS JOIN sys.server_principals"
    )
    .await
    .is_err());
    server_still_serves(&r).await;
}

#[tokio::test]
async fn a_failed_file_write_is_15240_and_leaves_nothing() {
    let r = start().await;
    let mut c = sa(&r).await;
    r.emu.faults().reset_counters();
    r.emu.faults().fail_file_write.store(1, Ordering::SeqCst);
    let path = format!(r"{BACKUP_DIR}\failed.key");
    let e = fails(
        &mut c,
        &format!(
            "BACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
        15240,
    )
    .await;
    assert_eq!(e.state(), 3);
    assert!(!host(&r, &path).exists());
    // The second write succeeds.
    ok(
        &mut c,
        &format!(
            "BACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
}

#[tokio::test]
async fn a_byte_flipped_after_writing_makes_the_restore_fail() {
    let r = start().await;
    let mut c = sa(&r).await;
    r.emu.faults().reset_counters();
    r.emu.faults().flip_byte_in_write.store(1, Ordering::SeqCst);
    let path = format!(r"{BACKUP_DIR}\flipped.key");
    ok(
        &mut c,
        &format!(
            "BACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}'"
        ),
    )
    .await;
    fails(
        &mut c,
        &format!(
            "RESTORE SERVICE MASTER KEY FROM FILE = '{path}' DECRYPTION BY PASSWORD = '{STRONG}'"
        ),
        15317,
    )
    .await;
}
