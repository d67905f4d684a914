//! Shared helpers: start an emulator on port 0 and connect tiberius to it over real TCP.
#![allow(dead_code)]

use mssql_emulator::{Emulator, EmulatorConfig, Scenario, TlsMode, DEFAULT_SA_PASSWORD};
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

pub type Conn = Client<Compat<TcpStream>>;

pub struct Running {
    pub dir: tempfile::TempDir,
    pub emu: Emulator,
}

pub async fn start_with(scenario: Option<&str>, tls: TlsMode) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario
        .map(|t| Scenario::from_toml(t).expect("scenario"))
        .unwrap_or_default();
    let emu = Emulator::start(EmulatorConfig::new(dir.path()).scenario(s).tls(tls))
        .await
        .expect("emulator starts");
    Running { dir, emu }
}

pub async fn start() -> Running {
    start_with(None, TlsMode::On).await
}

pub fn config(r: &Running, user: &str, password: &str, enc: EncryptionLevel) -> Config {
    let mut c = base_config(r, user, password, enc);
    c.trust_cert();
    c
}

/// A configuration that trusts nothing yet (add trust_cert_ca).
pub fn base_config(r: &Running, user: &str, password: &str, enc: EncryptionLevel) -> Config {
    let mut c = Config::new();
    c.host("127.0.0.1");
    c.port(r.emu.addr().port());
    c.authentication(AuthMethod::sql_server(user, password));
    c.encryption(enc);
    c
}

pub async fn connect_with(c: Config) -> tiberius::Result<Conn> {
    let tcp = TcpStream::connect(c.get_addr()).await?;
    tcp.set_nodelay(true)?;
    Client::connect(c, tcp.compat_write()).await
}

pub async fn sa(r: &Running) -> Conn {
    connect_with(config(
        r,
        "sa",
        DEFAULT_SA_PASSWORD,
        EncryptionLevel::Required,
    ))
    .await
    .expect("sa connects")
}

pub async fn login(r: &Running, user: &str, pw: &str) -> Conn {
    connect_with(config(r, user, pw, EncryptionLevel::Required))
        .await
        .expect("login connects")
}

/// Runs a batch; returns every result set's rows.
pub async fn run(c: &mut Conn, sql: &str) -> tiberius::Result<Vec<Vec<tiberius::Row>>> {
    c.simple_query(sql).await?.into_results().await
}

/// Runs a batch that must succeed.
pub async fn ok(c: &mut Conn, sql: &str) -> Vec<Vec<tiberius::Row>> {
    match run(c, sql).await {
        Ok(r) => r,
        Err(e) => panic!("{sql}\nfailed: {e}"),
    }
}

/// Runs a batch that must fail with SQL Server error `number`; returns the error.
pub async fn fails(c: &mut Conn, sql: &str, number: u32) -> tiberius::error::TokenError {
    match run(c, sql).await {
        Ok(_) => panic!("{sql}\nsucceeded; expected Msg {number}"),
        Err(tiberius::error::Error::Server(e)) => {
            assert_eq!(
                e.code(),
                number,
                "{sql}\n got Msg {} {}",
                e.code(),
                e.message()
            );
            e
        }
        Err(e) => panic!("{sql}\nfailed without a server error: {e}"),
    }
}

pub fn s(row: &tiberius::Row, i: usize) -> Option<String> {
    row.get::<&str, _>(i).map(str::to_string)
}

pub fn i32v(row: &tiberius::Row, i: usize) -> Option<i32> {
    row.get::<i32, _>(i)
}

pub async fn scalar_str(c: &mut Conn, sql: &str) -> Option<String> {
    let r = ok(c, sql).await;
    s(&r[0][0], 0)
}

pub async fn scalar_i32(c: &mut Conn, sql: &str) -> Option<i32> {
    let r = ok(c, sql).await;
    i32v(&r[0][0], 0)
}

pub const STRONG: &str = "Str0ng!Backup#Pass";

pub const DEMO: &str = mssql_emulator::scenarios::DEMO;
pub const BACKUP_DIR: &str =
    r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup";

/// Runs a batch in-process and returns (number, class, text) of every message, INFO included.
/// Used where tiberius hides informational messages (15588, 33091).
pub fn messages(r: &Running, login: &str, db: &str, sql: &str) -> Vec<(i32, u8, String)> {
    let mut s = mssql_emulator::engine::session::Session::new(999, login, db);
    let out = r.emu.instance().execute_batch(&mut s, sql);
    out.events
        .into_iter()
        .filter_map(|e| match e {
            mssql_emulator::engine::Event::Message(m) => Some((m.number, m.class, m.text)),
            _ => None,
        })
        .collect()
}

pub fn host(r: &Running, server_path: &str) -> std::path::PathBuf {
    r.emu
        .instance()
        .host_path(server_path)
        .expect("valid server path")
}
