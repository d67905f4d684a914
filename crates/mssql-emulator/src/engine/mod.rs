//! The emulated instance: state, sessions and statement execution.

pub mod acl;
pub mod assumptions;
mod bootstrap;
pub mod catalog;
pub mod crypto;
pub mod eval;
pub mod exec;
pub mod fs;
pub mod messages;
pub mod perms;
pub mod policy;
pub mod query;
pub mod scenario;
pub mod server_info;
pub mod session;
pub mod state;

use crate::tds::token::{Column, ServerMessage};
use crate::value::Value;
use chrono::{NaiveDateTime, Utc};
use fs::{Platform, ServerFs};
use messages::Msg;
use scenario::{MasterKeyProtection, Scenario};
use server_info::ServerInfo;
use state::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use bootstrap::{bootstrap, default_acls, service_account_sid};
pub use exec::BatchOutput;

/// One or more messages that end a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail(pub Vec<Msg>);

impl From<Msg> for Fail {
    fn from(m: Msg) -> Self {
        Fail(vec![m])
    }
}

pub type Res<T> = Result<T, Fail>;

/// What a statement sends back besides its DONE.
#[derive(Debug, Clone)]
pub enum Event {
    Rows {
        columns: Vec<Column>,
        rows: Vec<Vec<Value>>,
    },
    Message(ServerMessage),
    EnvDatabase {
        new: String,
        old: String,
    },
    Done {
        status: crate::tds::token::DoneStatus,
        rows: u64,
    },
    /// An RPC's output parameter (RETURNVALUE).
    ReturnValue {
        ordinal: u16,
        name: String,
        ty: crate::value::SqlType,
        value: crate::value::Value,
    },
}

/// Faults a test can inject. Counters are instance-wide and 1-based; 0 means off.
#[derive(Debug, Default)]
pub struct Faults {
    /// Close the connection right after the Nth statement runs, before its response.
    pub drop_after_statement: AtomicU64,
    /// Close the connection halfway through the Nth response.
    pub drop_mid_response: AtomicU64,
    /// Delay every response to a batch or RPC by this many milliseconds (a slow server).
    pub delay_ms: AtomicU64,
    /// Network round-trip time in milliseconds: every response a client waits for (PRELOGIN,
    /// the TLS flights, LOGIN7, each request) is held back this long, as a WAN between
    /// client and server would. Read when a connection opens.
    pub latency_ms: AtomicU64,
    /// Fail the Nth file write (15240; nothing is left on disk).
    pub fail_file_write: AtomicU64,
    /// Flip one byte in the middle of the Nth written file, after it was written.
    pub flip_byte_in_write: AtomicU64,
    pub(crate) statements: AtomicU64,
    pub(crate) responses: AtomicU64,
    pub(crate) writes: AtomicU64,
}

impl Faults {
    fn hit(counter: &AtomicU64, target: &AtomicU64) -> bool {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let t = target.load(Ordering::SeqCst);
        t != 0 && n == t
    }
    pub(crate) fn statement_ran(&self) -> bool {
        Self::hit(&self.statements, &self.drop_after_statement)
    }
    pub(crate) fn response_sent(&self) -> bool {
        Self::hit(&self.responses, &self.drop_mid_response)
    }
    /// Resets the counters, so "the Nth" counts from now.
    pub fn reset_counters(&self) {
        self.statements.store(0, Ordering::SeqCst);
        self.responses.store(0, Ordering::SeqCst);
        self.writes.store(0, Ordering::SeqCst);
    }
}

pub struct Instance {
    pub info: ServerInfo,
    pub fs: ServerFs,
    pub faults: Faults,
    state: Mutex<InstanceState>,
    state_path: PathBuf,
    /// Windows hosts: the files' and folders' security descriptors.
    acls: Mutex<acl::AclStore>,
    acls_path: PathBuf,
    pub data_dir: PathBuf,
    /// PBKDF2 iterations for the key of a backup file this instance writes.
    backup_kdf_iterations: std::sync::atomic::AtomicU32,
    /// The connected sessions, for KILL.
    pub live: session::LiveSessions,
}

/// How a file SQL Server writes is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAcl {
    /// Owned by the service account, permissions inherited from its folder.
    Inherited,
    /// A protected DACL for the service account only (BACKUP CERTIFICATE's files).
    ServiceAccountOnly,
}

pub fn now() -> NaiveDateTime {
    let n = Utc::now().naive_utc();
    // datetime precision: 1/300 s; keep milliseconds so values round-trip.
    n - chrono::Duration::nanoseconds((n.and_utc().timestamp_subsec_nanos() % 1_000_000) as i64)
}

const SA_SID: [u8; 1] = [1];

impl Instance {
    /// Opens the instance in `data_dir`: its saved state if there is one, otherwise a new
    /// instance built from the scenario.
    pub fn open(
        data_dir: &Path,
        scenario: &Scenario,
        sa_password: Option<&str>,
    ) -> std::io::Result<Instance> {
        std::fs::create_dir_all(data_dir)?;
        let info = ServerInfo::from_scenario(scenario);
        let root = data_dir.join("fs");
        std::fs::create_dir_all(&root)?;
        let fs = ServerFs::new(root.clone(), info.platform, info.default_data_path.clone());
        // The host's drives and shares, and the instance's folders.
        match info.platform {
            Platform::Windows => {
                let mut drives = scenario.drives.clone();
                if drives.is_empty() {
                    drives.push("C".into());
                }
                for d in drives {
                    std::fs::create_dir_all(
                        root.join(d.trim_end_matches([':', '\\']).to_uppercase()),
                    )?;
                }
                for s in &scenario.shares {
                    let comps = fs.components(s).map_err(|_| {
                        std::io::Error::other(format!("share {s:?} is not a UNC path"))
                    })?;
                    std::fs::create_dir_all(root.join(comps.iter().collect::<PathBuf>()))?;
                }
            }
            Platform::Linux => {}
        }
        for p in scenario
            .folders
            .iter()
            .chain([&info.default_backup_path, &info.default_data_path])
        {
            let host = fs.resolve(p).map_err(|_| {
                std::io::Error::other(format!("path {p:?} is not valid on this platform"))
            })?;
            std::fs::create_dir_all(host)?;
        }
        let state_path = data_dir.join("state.json");
        let (mut state, fresh) = match InstanceState::load(&state_path)? {
            Some(s) => (s, false),
            None => (bootstrap(scenario, &info)?, true),
        };
        let sa_pw = sa_password
            .map(str::to_string)
            .or_else(|| scenario.server.sa_password.clone());
        if let Some(pw) = sa_pw {
            if let Some(sa) = state.login_mut("sa") {
                let (salt, hash) = crypto::password_verifier(&pw);
                sa.password_salt = salt;
                sa.password_hash = hash;
            }
        }
        state.save(&state_path)?;
        let acls_path = data_dir.join("acls.json");
        let acls = match acl::AclStore::load(&acls_path)? {
            Some(a) => a,
            None => {
                let a = default_acls(scenario, &info, &fs)?;
                a.save(&acls_path)?;
                a
            }
        };
        let inst = Instance {
            info,
            fs,
            faults: Faults::default(),
            state: Mutex::new(state),
            state_path,
            acls: Mutex::new(acls),
            acls_path,
            data_dir: data_dir.to_path_buf(),
            backup_kdf_iterations: assumptions::BACKUP_KDF_ITERATIONS.into(),
            live: Default::default(),
        };
        if fresh {
            inst.take_scenario_backups(&scenario.backups)
                .map_err(std::io::Error::other)?;
        }
        Ok(inst)
    }

    /// The scenario's earlier backups: each taken by BACKUP DATABASE as sa, then dated back.
    fn take_scenario_backups(&self, backups: &[scenario::BackupSpec]) -> Result<(), String> {
        for b in backups {
            let with = match (&b.kind.as_deref(), &b.encryption_certificate) {
                (_, Some(c)) => format!(
                    " WITH FORMAT, ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = [{}])",
                    c.replace(']', "]]")
                ),
                (Some("differential"), None) => " WITH DIFFERENTIAL".into(),
                _ => String::new(),
            };
            let verb = if b.kind.as_deref() == Some("log") {
                "LOG"
            } else {
                "DATABASE"
            };
            let sql = format!(
                "BACKUP {verb} [{}] TO DISK = N'{}'{with}",
                b.database.replace(']', "]]"),
                b.file.replace('\'', "''")
            );
            let host = self
                .fs
                .resolve(&b.file)
                .map_err(|_| format!("backup file {:?} is not a path of this host", b.file))?;
            if let Some(parent) = host.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            self.run_as("sa", &sql)
                .map_err(|e| format!("{sql}: {}", e.join("; ")))?;
            let back = chrono::Duration::days(b.days_ago.into());
            let mut st = self.state();
            if let Some(row) = st.backup_history.last_mut() {
                row.backup_start_date -= back;
                row.backup_finish_date -= back;
            }
            self.persist(&st).map_err(|e| format!("{e:?}"))?;
            drop(st);
            exec::backups::date_back_last_set(self, &b.file, back)?;
            if b.drop_certificate_after {
                if let Some(c) = &b.encryption_certificate {
                    self.run_as(
                        "sa",
                        &format!("USE master; DROP CERTIFICATE [{}]", c.replace(']', "]]")),
                    )
                    .map_err(|e| e.join("; "))?;
                }
            }
        }
        Ok(())
    }

    /// PBKDF2 iterations for the key of a backup file this instance writes (the file
    /// records them, so any instance reads it).
    pub fn backup_kdf_iterations(&self) -> u32 {
        self.backup_kdf_iterations.load(Ordering::Relaxed)
    }

    /// The server-side cost of each key backup. A benchmark of a fleet sets it low: on one
    /// machine the emulated servers' own key derivation would compete with the client for
    /// the same cores, where real servers each have their own.
    pub fn set_backup_kdf_iterations(&self, n: u32) {
        self.backup_kdf_iterations
            .store(n.max(1), Ordering::Relaxed);
    }

    fn acls(&self) -> MutexGuard<'_, acl::AclStore> {
        self.acls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// xp_create_subdir: creates `server_path` and its missing parents as the service
    /// account, which needs write access to the deepest folder that exists. Err is the
    /// Windows error code the procedure reports (3: no such path, 5: access denied).
    pub fn create_server_dir(&self, server_path: &str) -> Result<(), u32> {
        let comps = self.fs.components(server_path).map_err(|_| 3u32)?;
        let host = self.fs.resolve(server_path).map_err(|_| 3u32)?;
        if host.is_dir() {
            return Ok(());
        }
        if self.info.platform == Platform::Windows {
            // The deepest folder that exists, as a count of the path's components.
            let existing = host
                .ancestors()
                .find(|a| a.is_dir())
                .and_then(|a| a.strip_prefix(self.fs.root()).ok())
                .map(|rel| rel.components().count())
                .filter(|n| *n >= 1 && *n < comps.len())
                .ok_or(3u32)?;
            if !self.acls().allows(
                &comps[..existing],
                true,
                &self.service_token(),
                acl::ADD_FOLDER,
            ) {
                return Err(5);
            }
        }
        self.fs.create_dir_all(server_path).map_err(|_| 3u32)
    }

    /// Sets a folder's (or file's) security descriptor from SDDL, as an administrator on the
    /// host would with icacls or Keysafe's ACL step: the test hook and the scenario's `acls`.
    pub fn set_sddl(&self, server_path: &str, sddl: &str) -> Result<(), String> {
        let comps = self
            .fs
            .components(server_path)
            .map_err(|_| format!("{server_path:?} is not a path of this host"))?;
        let d = acl::parse_sddl(sddl)?;
        let mut a = self.acls();
        a.set(&comps, d);
        a.save(&self.acls_path).map_err(|e| e.to_string())
    }

    /// The SIDs that may read `server_path` (a folder when `is_dir`), for tests and messages.
    pub fn readers_of(&self, server_path: &str, is_dir: bool) -> Vec<String> {
        match self.fs.components(server_path) {
            Ok(c) => self.acls().readers(&c, is_dir),
            Err(_) => vec![],
        }
    }

    /// The SQL Server service's security context: its account (the per-service SID for an
    /// NT SERVICE virtual account) and the groups of a service's token.
    pub fn service_token(&self) -> acl::Token {
        let mut sids = vec![service_account_sid(&self.info)];
        sids.extend(
            assumptions::SERVICE_TOKEN_GROUPS
                .iter()
                .map(|s| s.to_string()),
        );
        acl::Token { sids }
    }

    /// Whose rights a file read of `login` uses (import-bulk-data-by-using-bulk-insert-or-
    /// openrowset-bulk-sql-server.md): a SQL login reads as the service account; a Windows
    /// login as its own Windows account.
    pub fn reader_token(&self, st: &InstanceState, login: &str) -> acl::Token {
        self.windows_identity(st, login)
            .unwrap_or_else(|| self.service_token())
    }

    /// A Windows login's own security context (its SID, the groups every domain user has, its
    /// scenario `groups`); None for a SQL login.
    fn windows_identity(&self, st: &InstanceState, login: &str) -> Option<acl::Token> {
        let l = st
            .login(login)
            .filter(|l| l.kind == PrincipalKind::WindowsLogin)?;
        let (domain, user) = l.name.split_once('\\').unwrap_or(("", &l.name));
        let mut sids = vec![acl::domain_account_sid(domain, user)];
        sids.extend(assumptions::USER_TOKEN_GROUPS.iter().map(|s| s.to_string()));
        if let Some(a) = st.windows_account(domain, user) {
            sids.extend(a.groups.iter().cloned());
        }
        Some(acl::Token { sids })
    }

    /// Whether `login`'s file-system identity may list the folder that holds `server_path`
    /// (xp_fileexist): always for SQL logins (the service account), by the parent folder's
    /// DACL for a Windows login on a Windows host.
    pub fn may_list_parent(&self, st: &InstanceState, login: &str, server_path: &str) -> bool {
        if self.info.platform != Platform::Windows || !assumptions::XP_FILEEXIST_AS_CALLER {
            return true;
        }
        let (Ok(comps), Some(token)) = (
            self.fs.components(server_path),
            self.windows_identity(st, login),
        ) else {
            return true;
        };
        comps.len() < 2
            || self
                .acls()
                .allows(&comps[..comps.len() - 1], true, &token, acl::READ)
    }

    /// Windows hosts: whether `login` may read the file at `server_path` (OPENROWSET(BULK)),
    /// in SQL Server's words when it may not: 4861 with operating system error 5.
    pub fn windows_read_refusal(
        &self,
        st: &InstanceState,
        login: &str,
        server_path: &str,
    ) -> Option<Msg> {
        if self.info.platform != Platform::Windows {
            return None;
        }
        let comps = self.fs.components(server_path).ok()?;
        let host = self.fs.resolve(server_path).ok()?;
        if !host.is_file() {
            return None;
        }
        let windows = self.windows_identity(st, login);
        let unc = comps.first().map(String::as_str) == Some("UNC");
        let second_hop = unc
            && windows.is_some()
            && assumptions::UNC_NEEDS_DELEGATION
            && !self.info.kerberos_delegation;
        let token = windows.unwrap_or_else(|| self.service_token());
        let denied = second_hop || !self.acls().allows(&comps, false, &token, acl::READ);
        let (code, text) = assumptions::BULK_OPEN_ERRORS.denied;
        denied.then(|| messages::bulk_cannot_open_os(server_path, code, text))
    }

    pub fn state(&self) -> MutexGuard<'_, InstanceState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves the state after a change. A failure to persist is an error for the statement.
    pub fn persist(&self, state: &InstanceState) -> Res<()> {
        state.save(&self.state_path).map_err(|e| {
            tracing::error!(error = %e, "cannot save state");
            Fail::from(Msg::new(
                3624,
                20,
                1,
                "A system assertion check has failed: the instance state could not be saved.",
            ))
        })
    }

    /// Checks a SQL login. Returns the login name as stored, or None for any failure
    /// (unknown login, wrong password, disabled, Windows login over SQL auth).
    pub fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        let st = self.state();
        let l = st.login(user)?;
        if l.kind != PrincipalKind::SqlLogin || l.disabled {
            return None;
        }
        if crypto::verify_password(password, &l.password_salt, &l.password_hash)
            && perms::has_server(&st, &l.name, "CONNECT SQL")
        {
            Some(l.name.clone())
        } else {
            None
        }
    }

    /// Checks an NTLM AUTHENTICATE against the emulated domain, then the account against
    /// the server's logins, in SQL Server's order: a response the domain rejects is
    /// `WindowsLogin::Untrusted` (18452), a proven account with no enabled login that may
    /// connect is `NoLogin` (18456).
    pub fn authenticate_windows(
        &self,
        a: &crate::tds::ntlm::Authenticate,
        challenge: &[u8; 8],
    ) -> WindowsLogin {
        let st = self.state();
        let Some(account) = st.windows_account(&a.domain, &a.user) else {
            return WindowsLogin::Untrusted;
        };
        let hash: [u8; 16] = match account.nt_hash.as_slice().try_into() {
            Ok(h) => h,
            Err(_) => return WindowsLogin::Untrusted,
        };
        if !crate::tds::ntlm::verify_v2(&hash, a, challenge) {
            return WindowsLogin::Untrusted;
        }
        let name = account.name.clone();
        match st.login(&name) {
            Some(l)
                if l.kind == PrincipalKind::WindowsLogin
                    && !l.disabled
                    && perms::has_server(&st, &l.name, "CONNECT SQL") =>
            {
                WindowsLogin::Accepted(l.name.clone())
            }
            _ => WindowsLogin::NoLogin(name),
        }
    }

    pub fn default_database(&self, login: &str) -> String {
        self.state()
            .login(login)
            .map(|l| l.default_database.clone())
            .unwrap_or_else(|| "master".into())
    }

    /// The host path where the server keeps `server_path` (for tests and the demo).
    pub fn host_path(&self, server_path: &str) -> Option<PathBuf> {
        self.fs.resolve(server_path).ok()
    }

    pub fn password_policy(&self, password: &str, account: Option<&str>) -> Res<()> {
        policy::check(password, account).map_err(|v| {
            Fail::from(messages::password_policy(
                v.number(),
                assumptions::policy_says_operating_system(self.info.major, self.info.is_linux()),
            ))
        })
    }

    /// Writes a file as the service account: never over an existing file, never into a
    /// missing folder (both 15240), with the injected faults applied.
    pub fn write_server_file(&self, server_path: &str, bytes: &[u8]) -> Res<PathBuf> {
        self.write_server_file_as(server_path, bytes, FileAcl::Inherited)
    }

    /// Writes a file as the service account, which needs write access to the folder; the new
    /// file is owned by it and protected as `acl` says.
    pub fn write_server_file_as(
        &self,
        server_path: &str,
        bytes: &[u8],
        acl: FileAcl,
    ) -> Res<PathBuf> {
        use std::io::Write;
        let err = |state| Fail::from(messages::cannot_write_file(server_path, state));
        let host = self
            .fs
            .resolve(server_path)
            .map_err(|_| err(assumptions::WRITE_NO_FOLDER_STATE))?;
        let parent = host
            .parent()
            .ok_or_else(|| err(assumptions::WRITE_NO_FOLDER_STATE))?;
        if !parent.is_dir() {
            return Err(err(assumptions::WRITE_NO_FOLDER_STATE));
        }
        let windows = self.info.platform == Platform::Windows;
        let comps = self
            .fs
            .components(server_path)
            .map_err(|_| err(assumptions::WRITE_NO_FOLDER_STATE))?;
        let service = self.service_token();
        if windows
            && !self
                .acls()
                .allows(&comps[..comps.len() - 1], true, &service, acl::WRITE)
        {
            return Err(err(assumptions::WRITE_DENIED_STATE));
        }
        let n = self.faults.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.faults.fail_file_write.load(Ordering::SeqCst) == n {
            tracing::warn!(path = server_path, "injected fault: file write fails");
            return Err(err(assumptions::WRITE_FAILED_STATE));
        }
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&host)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(err(assumptions::WRITE_EXISTS_STATE))
            }
            Err(_) => return Err(err(assumptions::WRITE_NO_FOLDER_STATE)),
        };
        let written = f.write_all(bytes).and_then(|_| f.sync_all());
        if written.is_err() {
            let _ = std::fs::remove_file(&host);
            return Err(err(assumptions::WRITE_FAILED_STATE));
        }
        if self.faults.flip_byte_in_write.load(Ordering::SeqCst) == n && !bytes.is_empty() {
            tracing::warn!(
                path = server_path,
                "injected fault: a byte of the written file flips"
            );
            let mut b = bytes.to_vec();
            let mid = b.len() / 2;
            b[mid] ^= 0x01;
            std::fs::write(&host, b).map_err(|_| err(assumptions::WRITE_FAILED_STATE))?;
        }
        if windows {
            let owner = service.user().to_string();
            let d = match acl {
                FileAcl::Inherited => acl::Descriptor {
                    owner: Some(owner),
                    ..Default::default()
                },
                FileAcl::ServiceAccountOnly => acl::Descriptor {
                    owner: Some(owner.clone()),
                    protected: true,
                    aces: vec![acl::Ace {
                        sid: owner,
                        mask: acl::FULL,
                        object_inherit: false,
                        container_inherit: false,
                        inherit_only: false,
                    }],
                },
            };
            let mut a = self.acls();
            a.set(&comps, d);
            if a.save(&self.acls_path).is_err() {
                return Err(err(assumptions::WRITE_FAILED_STATE));
            }
        }
        Ok(host)
    }

    /// BACKUP DATABASE's media: written by the service account, which needs write access to
    /// the folder (and to the file it replaces or appends to). Err is the operating system
    /// error SQL Server quotes in 3201: 3 (no such folder), 5 (access denied).
    pub fn write_backup_media(&self, server_path: &str, bytes: &[u8]) -> Result<(), u32> {
        let host = self.fs.resolve(server_path).map_err(|_| 123u32)?;
        let parent = host.parent().ok_or(3u32)?;
        if !parent.is_dir() {
            return Err(3);
        }
        let comps = self.fs.components(server_path).map_err(|_| 123u32)?;
        let service = self.service_token();
        let windows = self.info.platform == Platform::Windows;
        if windows {
            let a = self.acls();
            let folder_ok = a.allows(&comps[..comps.len() - 1], true, &service, acl::WRITE);
            let file_ok = !host.exists() || a.allows(&comps, false, &service, acl::WRITE);
            if !folder_ok || !file_ok {
                return Err(5);
            }
        }
        let existed = host.exists();
        std::fs::write(&host, bytes).map_err(|_| 5u32)?;
        if windows && !existed {
            let mut a = self.acls();
            a.set(
                &comps,
                acl::Descriptor {
                    owner: Some(service.user().to_string()),
                    ..Default::default()
                },
            );
            a.save(&self.acls_path).map_err(|_| 5u32)?;
        }
        Ok(())
    }

    /// A backup file read by the service account (RESTORE): Err is the operating system error
    /// SQL Server quotes in 3201: 2 (no such file), 3 (no such folder), 5 (access denied).
    pub fn read_backup_media(&self, server_path: &str) -> Result<Vec<u8>, u32> {
        let host = self.fs.resolve(server_path).map_err(|_| 123u32)?;
        if !host.parent().is_some_and(|p| p.is_dir()) {
            return Err(3);
        }
        if !host.is_file() {
            return Err(if host.is_dir() { 5 } else { 2 });
        }
        if self.info.platform == Platform::Windows {
            let comps = self.fs.components(server_path).map_err(|_| 123u32)?;
            if !self
                .acls()
                .allows(&comps, false, &self.service_token(), acl::READ)
            {
                return Err(5);
            }
        }
        std::fs::read(&host).map_err(|_| 5u32)
    }

    /// Reads a file as the service account.
    /// Why OPENROWSET(BULK) cannot read `server_path`, in SQL Server's words: 4860 when the
    /// folder exists and the file does not; 4861 with the operating system's error when the
    /// folder is missing (3), the path is a folder (5) or the path is not one the OS accepts
    /// (123). See assumptions::BULK_OPEN_ERRORS.
    pub fn bulk_open_error(&self, server_path: &str) -> Msg {
        use assumptions::BULK_OPEN_ERRORS as E;
        let os = |(code, text): (u32, &str)| messages::bulk_cannot_open_os(server_path, code, text);
        match self.fs.resolve(server_path) {
            Err(_) => os(E.invalid_path),
            Ok(host) if host.is_dir() => os(E.is_folder),
            Ok(host) if host.parent().is_some_and(|p| !p.is_dir()) => os(E.no_folder),
            Ok(_) => messages::bulk_cannot_open(server_path),
        }
    }

    /// SQL Server on Linux's own rules for OPENROWSET(BULK), before any file is opened: who
    /// may bulk-load at all (by version and CU), and from which folders.
    pub fn linux_bulk_refusal(
        &self,
        st: &InstanceState,
        login: &str,
        server_path: &str,
    ) -> Option<Msg> {
        if self.info.platform != Platform::Linux {
            return None;
        }
        let sysadmin = perms::is_sysadmin(st, login);
        if !sysadmin
            && assumptions::linux_bulk_needs_sysadmin(self.info.major, self.info.cumulative_update)
        {
            return Some(messages::bulk_denied());
        }
        if sysadmin && !assumptions::LINUX_BULK_LIST_BINDS_SYSADMIN {
            return None;
        }
        let folder = server_path.rsplit_once('/').map_or("", |(d, _)| d);
        let listed = self.info.bulk_allowed_paths.iter().any(|p| {
            let p = p.trim_end_matches('/');
            folder == p || folder.starts_with(&format!("{p}/"))
        });
        let (code, text) = assumptions::BULK_OPEN_ERRORS.denied;
        (!listed).then(|| messages::bulk_cannot_open_os(server_path, code, text))
    }

    /// A file SQL Server itself opens (RESTORE MASTER KEY, RESTORE SERVICE MASTER KEY,
    /// CREATE CERTIFICATE FROM FILE): read as the service account, whoever the caller is, so
    /// on a Windows host the file's DACL must let the service account read it.
    pub fn read_server_file_as_service(&self, server_path: &str) -> Option<Vec<u8>> {
        if self.info.platform == Platform::Windows {
            let comps = self.fs.components(server_path).ok()?;
            if !self
                .acls()
                .allows(&comps, false, &self.service_token(), acl::READ)
            {
                tracing::debug!(
                    path = server_path,
                    "the service account may not read the file"
                );
                return None;
            }
        }
        self.read_server_file(server_path)
    }

    pub fn read_server_file(&self, server_path: &str) -> Option<Vec<u8>> {
        let host = self.fs.resolve(server_path).ok()?;
        if !host.is_file() {
            return None;
        }
        std::fs::read(host).ok()
    }
}

pub(crate) fn new_database(name: &str, id: i32, owner: &str) -> Database {
    Database {
        name: name.to_string(),
        database_id: id,
        create_date: now(),
        owner: owner.to_string(),
        users: vec![],
        master_key: None,
        certificates: vec![],
        encryption_key: None,
        is_encrypted: false,
        next_id: 256,
        symmetric_keys: Vec::new(),
    }
}

/// A new database master key, protected by a password and optionally by the SMK.
pub(crate) fn new_master_key(
    smk: Option<&[u8]>,
    password: &str,
) -> (DatabaseMasterKey, crypto::KeyBytes) {
    let key = crypto::random_key();
    let by_smk = smk.map(|s| crypto::seal(s.try_into().expect("32-byte SMK"), key.as_ref()));
    let dmk = DatabaseMasterKey {
        guid: uuid::Uuid::new_v4(),
        create_date: now(),
        modify_date: now(),
        by_smk,
        by_passwords: vec![crypto::seal_with_password(password, key.as_ref())],
    };
    (dmk, key)
}

/// The outcome of a Windows (NTLM) login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowsLogin {
    /// The login name as stored.
    Accepted(String),
    /// The domain proved the account, but the server has no login for it.
    NoLogin(String),
    /// The domain did not accept the response (unknown account, wrong password, NTLMv1).
    Untrusted,
}
