//! One connection's state: who is logged in, the current database, open master keys,
//! variables, SET options.

use crate::value::{SqlType, Value};
use std::collections::HashMap;
use zeroize::Zeroizing;

pub struct Session {
    pub spid: u16,
    pub login: String,
    pub database: String,
    /// Database id -> the decrypted master key opened with OPEN MASTER KEY.
    pub open_master_keys: HashMap<i32, Zeroizing<Vec<u8>>>,
    /// Batch-scoped variables, lower-cased names.
    pub variables: HashMap<String, (SqlType, Value)>,
    pub trancount: u32,
    pub rowcount: u64,
    pub last_error: i32,
    pub options: HashMap<String, String>,
    pub language: String,
    /// sp_prepare / sp_prepexec handles: the parameter declarations and the statement.
    pub prepared: HashMap<i32, (String, String)>,
    /// Whether the session travels inside TLS after the login (false for login-only
    /// encryption and plaintext): sys.dm_exec_connections.encrypt_option.
    pub encrypted: bool,
    /// The contained availability group whose environment this session is in: it logged in
    /// to a database of that group (assumptions::CONTAINED_AG_SESSIONS). Its msdb is then
    /// the group's.
    pub contained_group: Option<String>,
}

impl Session {
    pub fn new(spid: u16, login: &str, database: &str) -> Self {
        Session {
            spid,
            login: login.to_string(),
            database: database.to_string(),
            open_master_keys: HashMap::new(),
            variables: HashMap::new(),
            trancount: 0,
            rowcount: 0,
            last_error: 0,
            options: HashMap::new(),
            language: "us_english".into(),
            prepared: HashMap::new(),
            encrypted: false,
            contained_group: None,
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("spid", &self.spid)
            .field("login", &self.login)
            .field("database", &self.database)
            .field(
                "open_master_keys",
                &self.open_master_keys.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The sessions connected now, so KILL can end one: each connection waits on its own
/// `Notify` beside its next request.
#[derive(Default)]
pub struct LiveSessions(std::sync::Mutex<HashMap<u16, std::sync::Arc<tokio::sync::Notify>>>);

impl LiveSessions {
    pub fn register(&self, spid: u16) -> std::sync::Arc<tokio::sync::Notify> {
        let n = std::sync::Arc::new(tokio::sync::Notify::new());
        self.0.lock().expect("sessions").insert(spid, n.clone());
        n
    }

    pub fn unregister(&self, spid: u16) {
        self.0.lock().expect("sessions").remove(&spid);
    }

    /// Ends the session's connection; false when no such session is connected.
    pub fn kill(&self, spid: u16) -> bool {
        match self.0.lock().expect("sessions").get(&spid) {
            Some(n) => {
                // A permit is kept when the connection is not waiting yet.
                n.notify_one();
                true
            }
            None => false,
        }
    }
}
