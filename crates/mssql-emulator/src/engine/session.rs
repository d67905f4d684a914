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
