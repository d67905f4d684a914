//! What the app holds between commands: open connections, finished runs, the demo instance.

use crate::types::ConnectionInfo;
use keysafe_core::connection::{ConnectOptions, SqlConnection};
use keysafe_core::profiles::SecretStore;
use keysafe_core::report::Report;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// One connection of Object Explorer. The session is taken out while a query runs, so a
/// cancel can drop it (closing the socket stops the batch on the server); the next use
/// reconnects with the same options.
pub struct Connection {
    pub info: ConnectionInfo,
    pub options: ConnectOptions,
    pub session: tokio::sync::Mutex<Option<SqlConnection>>,
    pub running: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Connection {
    /// The session, reconnecting after a cancel or a lost connection.
    pub async fn session(
        &self,
    ) -> keysafe_core::Result<tokio::sync::MutexGuard<'_, Option<SqlConnection>>> {
        let mut g = self.session.lock().await;
        if g.is_none() {
            *g = Some(keysafe_core::connection::connect(&self.options).await?);
        }
        Ok(g)
    }
}

pub struct AppState {
    /// KEYSAFE_HOME: profiles, history, kept reports.
    pub home: PathBuf,
    next_id: AtomicU32,
    pub connections: Mutex<HashMap<u32, Arc<Connection>>>,
    pub runs: Mutex<HashMap<String, Report>>,
    /// The custodians' pages this session's runs wrote: the only files "Print" opens.
    pub share_pages: Mutex<std::collections::HashSet<PathBuf>>,
    pub store: Box<dyn SecretStore + Send + Sync>,
    pub demo: Option<crate::demo::Demo>,
    /// The running app, once it is set up: what native dialogs are parented to.
    pub app: std::sync::OnceLock<tauri::AppHandle>,
    /// The last key parity the Key Parity dialog found: each member's risks join its own in
    /// Object Explorer Details until the next check.
    pub parity: Mutex<Option<keysafe_core::parity::Parity>>,
}

impl AppState {
    pub fn new(
        home: PathBuf,
        store: Box<dyn SecretStore + Send + Sync>,
        demo: Option<crate::demo::Demo>,
    ) -> Self {
        AppState {
            home,
            next_id: AtomicU32::new(1),
            connections: Mutex::new(HashMap::new()),
            runs: Mutex::new(HashMap::new()),
            share_pages: Mutex::new(Default::default()),
            store,
            demo,
            app: std::sync::OnceLock::new(),
            parity: Mutex::new(None),
        }
    }

    pub fn next_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn connection(&self, id: u32) -> Result<Arc<Connection>, crate::error::KeysafeError> {
        self.connections
            .lock()
            .expect("connections")
            .get(&id)
            .cloned()
            .ok_or_else(|| {
                crate::error::KeysafeError::new(
                    keysafe_core::ErrorCode::NotFound,
                    "That connection is closed. Connect again from Object Explorer.",
                )
            })
    }

    pub fn history_path(&self) -> PathBuf {
        keysafe_core::history::in_home(&self.home)
    }

    pub fn recent_path(&self) -> PathBuf {
        self.home.join("recent-servers.json")
    }
}
