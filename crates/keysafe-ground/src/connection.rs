//! Connecting to an instance the way SSMS's Connect dialog does: `host`, `host\instance`
//! (through SQL Browser), `host,port`; SQL or Windows authentication; Encrypt Mandatory
//! (default), Optional or Strict (TDS 8.0: TLS before PRELOGIN, ALPN tds/8.0, the
//! certificate always verified); the server certificate checked against the platform's
//! trust store unless the user trusts it (not with Strict) or gives a CA file.

use crate::error::{ErrorCode, KeysafeError, Result, ServerMessage};
use crate::secret::Password;
use std::path::PathBuf;
use std::time::Duration;
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

/// `host`, `host\instance` or `host,port` (also `tcp:` prefixes, `.` and `(local)`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerAddress {
    pub host: String,
    pub instance: Option<String>,
    pub port: Option<u16>,
}

impl std::str::FromStr for ServerAddress {
    type Err = KeysafeError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            KeysafeError::new(
                ErrorCode::InvalidInput,
                format!("'{s}' is not a server name: use host, host\\instance or host,port"),
            )
            .next("Type the server name as in SSMS's Connect dialog.")
        };
        let t = s.trim();
        let t = t.strip_prefix("tcp:").unwrap_or(t);
        if t.is_empty() || t.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad());
        }
        let (rest, port) = match t.rsplit_once(',') {
            Some((h, p)) => (
                h,
                Some(
                    p.trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(bad)?,
                ),
            ),
            None => (t, None),
        };
        let (host, instance) = match rest.split_once('\\') {
            Some((h, i)) if !i.is_empty() && !i.contains('\\') => (h, Some(i.to_string())),
            Some(_) => return Err(bad()),
            None => (rest, None),
        };
        let host = match host {
            "." | "(local)" | "(localdb)" => "localhost",
            "" => return Err(bad()),
            h => h,
        };
        Ok(ServerAddress {
            host: host.to_string(),
            instance,
            port,
        })
    }
}

impl std::fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.host)?;
        if let Some(i) = &self.instance {
            write!(f, "\\{i}")?;
        }
        if let Some(p) = self.port {
            write!(f, ",{p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub enum Authentication {
    SqlServer {
        login: String,
        password: Password,
    },
    /// Windows integrated authentication (SSPI): the account Keysafe runs as. Windows only.
    Windows,
    /// Windows Authentication as another account (DOMAIN\\user and its password, NTLMv2),
    /// which SSMS offers only through `runas /netonly`. Windows builds only: the TDS library
    /// speaks NTLM there alone.
    WindowsAs {
        user: String,
        password: Password,
    },
}

/// How a connection authenticates, as the Connect dialog and a profile say it.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// The account Keysafe runs as (SSPI).
    Windows,
    /// Another Windows account, DOMAIN\\user and its password (NTLMv2): what SSMS needs
    /// `runas /netonly` for.
    WindowsAs,
    SqlServer,
}

impl AuthKind {
    /// What a login means: none is the account Keysafe runs as; DOMAIN\\user another
    /// Windows account (SQL Server logins cannot contain a backslash); anything else a SQL
    /// Server login.
    pub fn of_login(login: Option<&str>) -> Self {
        match login {
            None => AuthKind::Windows,
            Some(l) if l.contains('\\') => AuthKind::WindowsAs,
            Some(_) => AuthKind::SqlServer,
        }
    }
}

impl Authentication {
    /// A login and its password, read by `AuthKind::of_login`.
    pub fn with_password(login: &str, password: Password) -> Self {
        if AuthKind::of_login(Some(login)) == AuthKind::WindowsAs {
            Authentication::WindowsAs {
                user: login.to_string(),
                password,
            }
        } else {
            Authentication::SqlServer {
                login: login.to_string(),
                password,
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Encrypt {
    /// The whole session is encrypted (SSMS 21's default).
    #[default]
    Mandatory,
    /// Only the login is encrypted unless the server forces encryption.
    Optional,
    /// TDS 8.0 (SQL Server 2022 and later): TLS before any TDS packet, TLS 1.3 where both
    /// sides have it, the server's certificate always verified.
    Strict,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// Verify the certificate against the platform's trust store.
    #[default]
    PlatformStore,
    /// "Trust server certificate": no verification.
    ServerCertificate,
    /// Verify against this CA (PEM or DER).
    CaFile(PathBuf),
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub server: ServerAddress,
    pub authentication: Authentication,
    pub encrypt: Encrypt,
    pub trust: Trust,
    /// The name to expect in the server's certificate, when it differs from the host.
    pub host_name_in_certificate: Option<String>,
    pub connect_timeout: Duration,
    pub database: Option<String>,
}

impl ConnectOptions {
    pub fn sql(server: ServerAddress, login: &str, password: Password) -> Self {
        ConnectOptions {
            server,
            authentication: Authentication::SqlServer {
                login: login.to_string(),
                password,
            },
            encrypt: Encrypt::Mandatory,
            trust: Trust::PlatformStore,
            host_name_in_certificate: None,
            connect_timeout: Duration::from_secs(30),
            database: None,
        }
    }

    /// The login's name as SQL Server will see it (for reports).
    pub fn login_name(&self) -> String {
        match &self.authentication {
            Authentication::SqlServer { login, .. } => login.clone(),
            Authentication::Windows => "(Windows authentication)".into(),
            Authentication::WindowsAs { user, .. } => user.clone(),
        }
    }
}

pub struct SqlConnection {
    client: Client<Compat<TcpStream>>,
    /// The whole session travels inside TLS (Mandatory, Strict, or Optional at a server that
    /// encrypts anyway). Passwords and key material are sent only then.
    private: bool,
    /// KEYSAFE_ALLOW_PLAINTEXT_SECRETS=1: the operator accepts a plaintext session on an
    /// isolated network (and the Wine test lane, whose TLS cannot carry large responses).
    plaintext_allowed: bool,
}

/// The variable an operator sets to let passwords and key files travel in a session that
/// is not encrypted (Encrypt = Optional at a server that does not force encryption).
pub const ALLOW_PLAINTEXT_SECRETS: &str = "KEYSAFE_ALLOW_PLAINTEXT_SECRETS";

/// An SSPI status (SEC_E_*, 0x8009_03xx) in an I/O error's text, as Windows authentication
/// reports it: what it means for the administrator.
fn sspi_error(message: &str) -> Option<KeysafeError> {
    let code = message
        .rsplit_once("os error ")
        .and_then(|(_, n)| n.trim_end_matches(')').parse::<i32>().ok())
        .map(|n| n as u32)
        .filter(|n| (0x8009_0300..0x8009_0400).contains(n))?;
    let (what, next) = match code {
        0x8009_0305 => ("no Windows security package for it is installed here (SEC_E_SECPKG_NOT_FOUND)", "Use Windows Authentication as another user (DOMAIN\\user and its password), or SQL Server Authentication."),
        0x8009_030C => ("Windows refused the logon (SEC_E_LOGON_DENIED)", "Check the account and its password."),
        0x8009_030E => ("there are no Windows credentials to use (SEC_E_NO_CREDENTIALS)", "Log on to Windows with a domain account, or use Windows Authentication as another user."),
        0x8009_0311 => ("no domain controller could be reached (SEC_E_NO_AUTHENTICATING_AUTHORITY)", "Check the network path to a domain controller, or use SQL Server Authentication."),
        0x8009_0303 => ("the server's name is not known to the domain (SEC_E_TARGET_UNKNOWN)", "Connect with the server's name as registered in the domain (its SPN), not an alias or address."),
        _ => ("Windows security returned an error", "Check the Windows account, the domain and the network path to a domain controller."),
    };
    Some(
        KeysafeError::new(
            ErrorCode::LoginFailed,
            format!("Windows Authentication failed: {what} (0x{code:08X})."),
        )
        .next(next),
    )
}

pub(crate) fn map_tiberius(e: tiberius::error::Error) -> KeysafeError {
    use tiberius::error::Error as E;
    if let E::Io { message, .. } = &e {
        if let Some(k) = sspi_error(message) {
            return k;
        }
        if message.contains("expected requested flags") {
            return KeysafeError::new(ErrorCode::LoginFailed, "Windows Authentication failed: the server's NTLM challenge did not grant the security Keysafe asked for (128-bit keys, sealing).")
                .next("The server or a proxy in between downgrades NTLM: ask the administrator to allow NTLMv2 with 128-bit session security, or use SQL Server Authentication.");
        }
    }
    match e {
        E::Server(t) => KeysafeError::from_server(ServerMessage { number: t.code(), level: t.class(), state: t.state(), line: t.line(), text: t.message().to_string() }),
        E::Io { message, .. } if ["certificate", "tls", "handshake"].iter().any(|w| message.to_lowercase().contains(w)) => {
            KeysafeError::new(ErrorCode::Tls, format!("The TLS connection failed: {message}"))
                .next("If the server uses a self-signed certificate, give its CA file, or tick 'Trust server certificate' if you accept the risk.")
        }
        E::Io { kind, message } => match kind {
            std::io::ErrorKind::ConnectionRefused => KeysafeError::new(ErrorCode::ConnectionRefused, "The server refused the connection.")
                .next("Check the server name and port, that SQL Server is running, that TCP/IP is enabled and that no firewall blocks the port."),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionAborted => {
                KeysafeError::new(ErrorCode::ConnectionLost, format!("The connection to SQL Server was lost ({message}).")).next("Reconnect and retry. Keysafe never overwrites files, so a retry cannot destroy an earlier backup.")
            }
            _ => KeysafeError::new(ErrorCode::ConnectionLost, format!("Network error: {message}")),
        },
        E::Tls(m) => KeysafeError::new(ErrorCode::Tls, format!("The TLS connection failed: {m}"))
            .next("If the server uses a self-signed certificate, give its CA file, or tick 'Trust server certificate' if you accept the risk."),
        E::Conversion(m) if m.to_lowercase().contains("browser") => KeysafeError::new(ErrorCode::HostNotFound, format!("SQL Server Browser did not name a port for that instance ({m})."))
            .next("Check the instance name, that the SQL Server Browser service runs and that UDP 1434 is open, or give the port as host,port."),
        E::Protocol(m) if m.contains("does not allow the requested encryption level") => KeysafeError::new(ErrorCode::EncryptionNotSupported, "The server does not accept the encryption Keysafe asked for.")
            .next("The server has no TLS certificate configured. Configure one (SQL Server Configuration Manager), or choose Encrypt = Optional on a trusted network."),
        E::Routing { host, port } => KeysafeError::new(ErrorCode::Unsupported, format!("The server redirected to {host}:{port}; redirection is not supported.")),
        other => KeysafeError::new(ErrorCode::SqlServer, format!("SQL Server protocol error: {other}")),
    }
}

/// Connects and logs in; knows afterwards whether the session is encrypted.
pub async fn connect(o: &ConnectOptions) -> Result<SqlConnection> {
    let mut c = connect_client(o).await?;
    c.plaintext_allowed = std::env::var(ALLOW_PLAINTEXT_SECRETS).is_ok_and(|v| v == "1");
    c.private = match o.encrypt {
        Encrypt::Mandatory | Encrypt::Strict => true,
        // Login-only encryption, unless the server forces encryption: its own word on this
        // session (needs VIEW SERVER STATE; without it the session counts as plaintext).
        Encrypt::Optional if c.plaintext_allowed => false,
        Encrypt::Optional => c
            .rows("SELECT encrypt_option FROM sys.dm_exec_connections WHERE session_id = @@SPID")
            .await
            .ok()
            .and_then(|r| {
                r.first()
                    .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            })
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
    };
    Ok(c)
}

async fn connect_client(o: &ConnectOptions) -> Result<SqlConnection> {
    if o.encrypt == Encrypt::Strict && o.trust == Trust::ServerCertificate {
        return Err(KeysafeError::new(ErrorCode::InvalidInput, "Strict encryption (TDS 8.0) always verifies the server's certificate: 'Trust server certificate' cannot be used with it.")
            .next("Give the server's certificate (or the CA that issued it) as the certificate file, install a certificate this machine trusts, or choose Mandatory."));
    }
    let mut c = Config::new();
    c.host(&o.server.host);
    if let Some(p) = o.server.port {
        c.port(p);
    }
    if let Some(i) = &o.server.instance {
        c.instance_name(i);
    }
    if let Some(db) = &o.database {
        c.database(db);
    }
    c.application_name("Keysafe");
    c.encryption(match o.encrypt {
        Encrypt::Optional => EncryptionLevel::Off,
        Encrypt::Mandatory => EncryptionLevel::Required,
        Encrypt::Strict => EncryptionLevel::Strict,
    });
    // Keysafe's own deadline covers the handshake (connect_timeout); a statement runs as
    // long as SQL Server takes (a large BACKUP DATABASE; Alt+Break cancels in the app).
    c.handshake_timeout(None);
    c.command_timeout(None);
    match &o.trust {
        Trust::PlatformStore => {}
        Trust::ServerCertificate => c.trust_cert(),
        Trust::CaFile(p) => c.trust_cert_ca(p.to_string_lossy()),
    }
    match &o.authentication {
        Authentication::SqlServer { login, password } => {
            c.authentication(AuthMethod::sql_server(login, password.expose()))
        }
        #[cfg(windows)]
        Authentication::Windows => c.authentication(AuthMethod::Integrated),
        #[cfg(windows)]
        Authentication::WindowsAs { user, password } => {
            c.authentication(AuthMethod::windows(user, password.expose()))
        }
        #[cfg(not(windows))]
        Authentication::Windows => {
            return Err(KeysafeError::new(
                ErrorCode::Unsupported,
                "Windows authentication is available on Windows only.",
            )
            .next("Use SQL Server authentication from this machine."))
        }
        #[cfg(not(windows))]
        Authentication::WindowsAs { user, .. } => {
            return Err(KeysafeError::new(
                ErrorCode::Unsupported,
                format!(
                "Windows authentication as {user} (NTLM) is available in Keysafe for Windows only."
            ),
            )
            .next("Run Keysafe on Windows, or use a SQL Server login from this machine."))
        }
    }
    let tcp_target = (o.server.host.clone(), o.server.port);
    if let Some(name) = &o.host_name_in_certificate {
        // TCP goes to the host; TLS expects this name.
        c.host(name);
    }
    // 1 to 600 s, as the Connect dialog allows: a deadline beyond the clock's range would
    // overflow it.
    let timeout = o
        .connect_timeout
        .clamp(Duration::from_secs(1), Duration::from_secs(600));
    let server = o.server.to_string();
    let named = o.server.instance.is_some() && o.server.port.is_none();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attempt: u64 = 1;
    loop {
        let r = connect_once(
            c.clone(),
            tcp_target.clone(),
            named,
            deadline,
            &server,
            timeout,
        )
        .await;
        match r {
            Err(e) if attempt < 3 && transient_schannel_failure(&e) => {
                // Wine's crypt32 now and then fails to verify the ECDSA signature of a
                // certificate it verified a moment before (TRUST_E_CERT_SIGNATURE), mostly
                // under load; Schannel's SEC_E_INTERNAL_ERROR is its own fault too. Neither
                // is the server's answer, and a certificate that really is bad fails again:
                // a new handshake on a new connection, at most twice, after a short pause.
                tracing::warn!(server = %server, attempt, error = %e.message, "the TLS handshake failed inside Windows' TLS stack; trying again on a new connection");
                tokio::time::sleep(Duration::from_millis(150 * attempt)).await;
                attempt += 1;
            }
            Err(e) if o.encrypt != Encrypt::Strict && closed_before_login(&e) => {
                // Only a server that refuses TDS 7.x and completes a TDS 8.0 handshake is
                // said to want Strict (strict_probe.rs).
                let probe = async {
                    use crate::strict_probe::{answers_tds7, speaks_tds8};
                    let wait = Duration::from_secs(5);
                    let tcp = open_tcp(c.clone(), tcp_target.clone(), named).await.ok()?;
                    if answers_tds7(tcp, wait).await {
                        return Some(false);
                    }
                    let tcp = open_tcp(c.clone(), tcp_target.clone(), named).await.ok()?;
                    let host = o
                        .host_name_in_certificate
                        .as_deref()
                        .unwrap_or(&o.server.host);
                    Some(speaks_tds8(tcp, host, wait).await)
                };
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                let strict = tokio::time::timeout(left.max(Duration::from_secs(1)), probe)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(false);
                return Err(if strict {
                    strict_required(e, &server)
                } else if matches!(o.authentication, Authentication::Windows) {
                    integrated_failed(e)
                } else {
                    e
                });
            }
            r => return r,
        }
    }
}

/// The connection ended during PRELOGIN or the TLS handshake, with no message from SQL
/// Server: what a TDS 7.x client meets at a server that forces Strict encryption, and what
/// other failures look like too (hence the probe before saying so).
fn closed_before_login(e: &KeysafeError) -> bool {
    e.server.is_none()
        && (e.code == ErrorCode::ConnectionLost
            || (e.code == ErrorCode::SqlServer
                && e.message.starts_with("SQL Server protocol error")))
}

/// Windows Authentication as the current user, ended before the server said anything:
/// Windows' security package (SSPI) gave the driver nothing usable to send.
fn integrated_failed(e: KeysafeError) -> KeysafeError {
    KeysafeError::new(
        ErrorCode::LoginFailed,
        format!(
            "Windows Authentication as the current user failed before SQL Server answered: Windows gave no usable logon token ({}).",
            e.message.trim_end_matches('.')
        ),
    )
    .next("Check that this Windows account can reach a domain controller and that the server's name is known to the domain (its SPN), or use Windows Authentication as another user (DOMAIN\\user and its password), or SQL Server Authentication.")
}

fn strict_required(e: KeysafeError, server: &str) -> KeysafeError {
    KeysafeError::new(
        ErrorCode::StrictRequired,
        format!(
            "{server} closed the connection before the login ({}). SQL Server 2022 and later do this to every client that does not use Strict encryption (TDS 8.0) when 'Force Strict Encryption' is set.",
            e.message.trim_end_matches('.')
        ),
    )
    .next("Connect with Encrypt = Strict, with the server's certificate (or its CA) as the certificate file if this machine does not trust it, and the name in that certificate if it differs from the server name.")
}

/// A TLS failure Windows' TLS stack may give for a handshake that succeeds when made again:
/// TRUST_E_CERT_SIGNATURE (0x80096004) or SEC_E_INTERNAL_ERROR (0x80090304), as the
/// operating system error tiberius quotes.
fn transient_schannel_failure(e: &KeysafeError) -> bool {
    let text = e.message.to_ascii_lowercase();
    e.code == ErrorCode::Tls
        && ["-2146869244", "0x80096004", "-2146893052", "0x80090304"]
            .iter()
            .any(|c| text.contains(c))
}

/// The TCP connection to the server: its port from SQL Browser for a named instance.
async fn open_tcp(c: Config, tcp_target: (String, Option<u16>), named: bool) -> Result<TcpStream> {
    if named {
        use tiberius::SqlBrowser;
        let mut bc = c;
        bc.host(&tcp_target.0);
        TcpStream::connect_named(&bc).await.map_err(map_tiberius)
    } else {
        TcpStream::connect((tcp_target.0.as_str(), tcp_target.1.unwrap_or(1433)))
            .await
            .map_err(|e| map_tiberius(e.into()))
    }
}

async fn connect_once(
    c: Config,
    tcp_target: (String, Option<u16>),
    named: bool,
    deadline: tokio::time::Instant,
    server: &str,
    timeout: std::time::Duration,
) -> Result<SqlConnection> {
    // tiberius panics when the server cannot encrypt as asked: contain that in a task.
    let task = tokio::spawn(async move {
        let tcp = open_tcp(c.clone(), tcp_target, named).await?;
        tcp.set_nodelay(true)?;
        Client::connect(c, tcp.compat_write())
            .await
            .map_err(map_tiberius)
    });
    let abort = task.abort_handle();
    match tokio::time::timeout_at(deadline, task).await {
        Err(_) => {
            abort.abort();
            Err(KeysafeError::new(ErrorCode::ConnectionTimeout, format!("No answer from {server} within {} s.", timeout.as_secs()))
                .next("Check the server name, the network path and the firewall, or raise the connection timeout."))
        }
        Ok(Err(join)) if join.is_panic() => Err(KeysafeError::new(ErrorCode::EncryptionNotSupported, format!("{server} does not accept the encryption Keysafe asked for."))
            .next("The server has no TLS certificate configured. Configure one (SQL Server Configuration Manager), or choose Encrypt = Optional on a trusted network.")),
        Ok(Err(join)) => Err(KeysafeError::new(ErrorCode::ConnectionLost, format!("The connection attempt failed: {join}"))),
        Ok(Ok(r)) => r.map(|client| SqlConnection {
            client,
            private: false,
            plaintext_allowed: false,
        }),
    }
}

impl SqlConnection {
    pub(crate) fn client_mut(&mut self) -> &mut Client<Compat<TcpStream>> {
        &mut self.client
    }

    /// Before a password or key material is sent, or a key file is read back: refused when
    /// the session after the login is plaintext (Encrypt = Optional at a server that does not
    /// force encryption), with why and what to do.
    pub fn require_private(&self, what: &str) -> Result<()> {
        if self.private || self.plaintext_allowed {
            return Ok(());
        }
        Err(KeysafeError::new(
            ErrorCode::SessionNotEncrypted,
            format!("Not sent: {what} would travel in clear. With Encrypt = Optional only the login is encrypted (this server does not force encryption), so passwords and key files sent after it could be read by anyone on the network path."),
        )
        .next(format!("Connect with Encrypt = Mandatory (or Strict). On an isolated network where that is impossible, set {ALLOW_PLAINTEXT_SECRETS}=1 for this run.")))
    }

    /// Runs a batch; every result set's rows, one entry per result set in the order the
    /// statements ran, empty ones included (tiberius's `into_results` drops an empty result
    /// set that follows another, which would shift every later one).
    pub async fn batch(&mut self, sql: &str) -> Result<Vec<Vec<tiberius::Row>>> {
        use futures_util::TryStreamExt;
        let mut stream = self.client.simple_query(sql).await.map_err(map_tiberius)?;
        let mut sets: Vec<Vec<tiberius::Row>> = Vec::new();
        while let Some(item) = stream.try_next().await.map_err(map_tiberius)? {
            match item {
                tiberius::QueryItem::Metadata(_) => sets.push(Vec::new()),
                tiberius::QueryItem::Row(r) => match sets.last_mut() {
                    Some(set) => set.push(r),
                    None => sets.push(vec![r]),
                },
            }
        }
        Ok(sets)
    }

    /// Runs a batch that returns one result set.
    pub async fn rows(&mut self, sql: &str) -> Result<Vec<tiberius::Row>> {
        Ok(self
            .batch(sql)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default())
    }

    /// Runs a batch for its effect.
    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        self.batch(sql).await.map(|_| ())
    }

    /// The instance's name as SQL Server gives it (@@SERVERNAME): what a typed confirmation
    /// must match.
    pub async fn server_name(&mut self) -> Result<String> {
        Ok(self
            .rows("SELECT CAST(@@SERVERNAME AS nvarchar(128))")
            .await?
            .first()
            .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            .unwrap_or_default())
    }
}

/// The account Windows Authentication logs in as, as SSMS shows it (greyed out) in its
/// Connect dialog: `DOMAIN\user` on Windows; elsewhere the operating system's user name.
pub fn windows_identity() -> String {
    #[cfg(windows)]
    if let Some(name) = sam_compatible_name() {
        return name;
    }
    crate::host::current_operator()
}

/// GetUserNameExW(NameSamCompatible): DOMAIN\user (COMPUTER\user for a local account).
#[cfg(windows)]
fn sam_compatible_name() -> Option<String> {
    use windows_sys::Win32::Security::Authentication::Identity::{
        GetUserNameExW, NameSamCompatible,
    };
    let mut len: u32 = 0;
    // SAFETY: a null buffer with length 0 asks for the length (in UTF-16 units, with the NUL).
    unsafe { GetUserNameExW(NameSamCompatible, std::ptr::null_mut(), &mut len) };
    if len == 0 || len > 1024 {
        return None;
    }
    let mut buf = vec![0u16; len as usize];
    // SAFETY: `buf` holds `len` units, as the call is told.
    let ok = unsafe { GetUserNameExW(NameSamCompatible, buf.as_mut_ptr(), &mut len) };
    if !ok || len as usize > buf.len() {
        return None;
    }
    Some(String::from_utf16_lossy(&buf[..len as usize])).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One rule for what a login means, for the CLI, a profile and the Connect dialog.
    #[test]
    fn a_backslash_makes_a_login_another_windows_account() {
        assert_eq!(AuthKind::of_login(None), AuthKind::Windows);
        assert_eq!(AuthKind::of_login(Some("CORP\\ann")), AuthKind::WindowsAs);
        assert_eq!(
            AuthKind::of_login(Some("keysafe_operator")),
            AuthKind::SqlServer
        );
        assert!(matches!(
            Authentication::with_password("CORP\\ann", Password::new("x")),
            Authentication::WindowsAs { .. }
        ));
        assert!(matches!(
            Authentication::with_password("sa", Password::new("x")),
            Authentication::SqlServer { .. }
        ));
    }

    #[test]
    fn only_transient_schannel_failures_are_tried_again() {
        // The text Wine 8's TRUST_E_CERT_SIGNATURE reached tiberius with (CI, 2026-12-02).
        let wine = KeysafeError::new(ErrorCode::Tls, "The TLS connection failed: OS Error -2146869244 (FormatMessageW() returned error 317) (os error -2146869244)");
        assert!(transient_schannel_failure(&wine));
        let internal = KeysafeError::new(
            ErrorCode::Tls,
            "The TLS connection failed: (os error -2146893052)",
        );
        assert!(transient_schannel_failure(&internal));
        let untrusted = KeysafeError::new(ErrorCode::Tls, "The TLS connection failed: The certificate chain was issued by an authority that is not trusted. (os error -2146893019)");
        assert!(!transient_schannel_failure(&untrusted));
        let login = KeysafeError::new(ErrorCode::LoginFailed, "-2146869244");
        assert!(!transient_schannel_failure(&login));
    }

    #[test]
    fn windows_identity_names_this_account() {
        let id = super::windows_identity();
        let user = crate::host::current_operator();
        if cfg!(windows) {
            // DOMAIN\user from GetUserNameExW, whose user part is the account's name.
            let (domain, name) = id.split_once('\\').expect("DOMAIN\\user");
            assert!(!domain.is_empty(), "{id}");
            assert!(name.eq_ignore_ascii_case(&user), "{id} against {user}");
        } else {
            assert_eq!(id, user);
        }
    }

    #[test]
    fn windows_security_errors_are_named() {
        let e = sspi_error(
            "OS Error -2146893051 (FormatMessageW() returned error 317) (os error -2146893051)",
        )
        .unwrap();
        assert_eq!(e.code, ErrorCode::LoginFailed);
        assert!(
            e.message.contains("SEC_E_SECPKG_NOT_FOUND") && e.message.contains("0x80090305"),
            "{}",
            e.message
        );
        assert!(sspi_error("connection reset (os error 10054)").is_none());
    }

    #[test]
    fn server_names_parse_as_in_ssms() {
        let p = |s: &str| s.parse::<ServerAddress>().unwrap();
        assert_eq!(
            p("sql01"),
            ServerAddress {
                host: "sql01".into(),
                instance: None,
                port: None
            }
        );
        assert_eq!(
            p(r"sql01\PAYROLL"),
            ServerAddress {
                host: "sql01".into(),
                instance: Some("PAYROLL".into()),
                port: None
            }
        );
        assert_eq!(
            p("tcp:sql01,14330"),
            ServerAddress {
                host: "sql01".into(),
                instance: None,
                port: Some(14330)
            }
        );
        assert_eq!(p(r".\SQLEXPRESS").host, "localhost");
        for bad in [
            "",
            "a b",
            "sql01,",
            "sql01,0",
            "sql01,99999",
            r"sql01\",
            r"a\b\c",
        ] {
            assert!(bad.parse::<ServerAddress>().is_err(), "{bad:?}");
        }
        assert_eq!(p(r"sql01\PAYROLL").to_string(), r"sql01\PAYROLL");
    }
}
