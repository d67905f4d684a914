//! Errors as Keysafe shows them: a code the UI and scripts can act on, an explanation for
//! an administrator with the next step, and SQL Server's own `Msg N, Level L, State S`
//! kept beside it. Never a secret: messages are built from our own words and the server's
//! text, which never contains the password we sent (a failing statement is never echoed).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    ConnectionRefused,
    ConnectionTimeout,
    HostNotFound,
    Tls,
    EncryptionNotSupported,
    /// Encrypt = Optional gave a plaintext session: Keysafe sends no password or key over it.
    SessionNotEncrypted,
    /// The server closed the connection before the login, as SQL Server 2022+ does with
    /// Force Strict Encryption to a client that is not Strict: the dialog offers Strict.
    StrictRequired,
    LoginFailed,
    PermissionDenied,
    FileExists,
    FolderMissing,
    PasswordPolicy,
    MasterKeyNotOpen,
    NotFound,
    KeyFileInvalid,
    SqlServer,
    ConnectionLost,
    Io,
    MediumRemoved,
    VerificationFailed,
    /// The restore check the user asked for did not prove the backup restorable.
    RestoreCheckFailed,
    Keyring,
    /// A change that needs a typed confirmation did not get the right one: nothing was done.
    NotConfirmed,
    Unsupported,
    /// Something Keysafe did not expect (a bug): the message says what.
    Internal,
}

/// SQL Server's message, as it sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServerMessage {
    pub number: u32,
    pub level: u8,
    pub state: u8,
    pub line: u32,
    pub text: String,
}

impl std::fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Msg {}, Level {}, State {}, Line {}: {}",
            self.number, self.level, self.state, self.line, self.text
        )
    }
}

/// Also what crosses IPC to the desktop app's UI, as it is: the UI switches on `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[error("{message}")]
pub struct KeysafeError {
    pub code: ErrorCode,
    /// What happened, for an administrator.
    pub message: String,
    /// What to do next.
    pub next_step: Option<String>,
    pub server: Option<ServerMessage>,
}

impl KeysafeError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        KeysafeError {
            code,
            message: message.into(),
            next_step: None,
            server: None,
        }
    }
    /// The same error, said differently (its code, next step and server message kept).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
    pub fn next(mut self, step: impl Into<String>) -> Self {
        self.next_step = Some(step.into());
        self
    }

    /// The full text: explanation, next step, then the server's message.
    pub fn describe(&self) -> String {
        let mut s = self.message.clone();
        if let Some(n) = &self.next_step {
            s.push_str("\n  Next: ");
            s.push_str(n);
        }
        if let Some(m) = &self.server {
            s.push_str("\n  SQL Server: ");
            s.push_str(&m.to_string());
        }
        s
    }

    /// Explains a SQL Server error for an administrator.
    pub fn from_server(m: ServerMessage) -> Self {
        if m.number == 4861 {
            return Self::bulk_open_failed(m);
        }
        let (code, message, next): (ErrorCode, &str, &str) = match m.number {
            4860 => (
                ErrorCode::NotFound,
                "SQL Server cannot read the backup file back: it is not there, or the login reading it may not open it.",
                "Check that the backup was written to the server folder shown. With Windows Authentication, SQL Server reads files as your Windows account, not as its service account: give your account read access to the folder, or connect with a SQL Server login.",
            ),
            15240 => (
                ErrorCode::FileExists,
                "SQL Server could not write the backup file: it already exists, its folder is missing, or the service account may not write there.",
                "Keysafe never overwrites a backup: choose a new file name, create the folder (Keysafe does this with xp_create_subdir), or grant the SQL Server service account write access to the folder.",
            ),
            15116..=15119 => (
                ErrorCode::PasswordPolicy,
                "The backup password does not meet the Windows password policy on the server.",
                "Use 8 to 128 characters from at least three of: upper case, lower case, digits, symbols. Keysafe's generator always complies.",
            ),
            15581 => (
                ErrorCode::MasterKeyNotOpen,
                "The database master key is not open: the database has none, it is protected by a password only, or it was restored or attached from another server (it still shows \"encrypted by server\", but that server's service master key is not this one's).",
                "Give Keysafe the master key's password (--master-key-password-env DB=VAR) so it can OPEN MASTER KEY for the backup. To make it open by itself again on this server, run `keysafe repair-master-key` (ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY), which asks before it changes anything.",
            ),
            15247 => (
                ErrorCode::PermissionDenied,
                "The login lacks the permission this backup needs.",
                "The service master key needs CONTROL SERVER (GRANT CONTROL SERVER TO [login]); a database master key or certificate needs CONTROL on the database (GRANT CONTROL ON DATABASE::[db] TO [user]).",
            ),
            262 => (ErrorCode::PermissionDenied, "The login lacks a permission in this database.", "Ask a sysadmin to GRANT the permission named in SQL Server's message."),
            300 | 297 => (ErrorCode::PermissionDenied, "The login cannot read server state (sys.dm_* views).", "GRANT VIEW SERVER STATE TO [login]."),
            4834 => (
                ErrorCode::PermissionDenied,
                "The login may not read files with OPENROWSET(BULK), which Keysafe uses to hash the backup on the server.",
                "GRANT ADMINISTER BULK OPERATIONS TO [login], or add it to the bulkadmin role.",
            ),
            15151 => (
                ErrorCode::NotFound,
                "SQL Server cannot find that key or certificate, or the login may not see it.",
                "Refresh the inventory; check that the login has CONTROL (or VIEW DEFINITION) on the database.",
            ),
            15313 => (ErrorCode::InvalidInput, "The password given for the master key is wrong.", "Enter the password that protects the database master key."),
            15317 => (
                ErrorCode::KeyFileInvalid,
                "SQL Server cannot read that key file: it is missing, damaged, not a key backup, or the password is wrong.",
                "Check the path from the server's point of view and the password used for this backup.",
            ),
            15465 => (ErrorCode::InvalidInput, "The private key password is wrong.", "Enter the password the private key was backed up with."),
            15334 | 15147 | 15146 => (
                ErrorCode::InvalidInput,
                "The certificate's private key protection does not match the passwords given.",
                "Give a decryption password only for certificates whose key is protected by a password (pvt_key_encryption_type PW).",
            ),
            15246 => (ErrorCode::NotFound, "This certificate has no private key in the database, so only its public part can be backed up.", "Back up the certificate without PRIVATE KEY, and find where its private key is kept."),
            18456 => (
                ErrorCode::LoginFailed,
                "SQL Server refused the login.",
                "Check the login name and password, that SQL Server authentication is enabled, and that the login is not disabled. The server's error log says which (state 8: wrong password, state 5: unknown login).",
            ),
            18452 => (
                ErrorCode::LoginFailed,
                "Windows did not accept the account for this server (wrong password, unknown account, or a domain the server does not trust).",
                "Check DOMAIN\\user and its password, that the account's domain trusts the server's, and that SQL Server allows Windows Authentication (it always does) from this network.",
            ),
            4060 => (ErrorCode::LoginFailed, "The login cannot open the requested database.", "Connect to master, or give the login access to that database."),
            229 => (
                ErrorCode::PermissionDenied,
                "The login may not run the extended procedure Keysafe uses to create the server folder.",
                "Create the folder on the server yourself, or use a login with CONTROL SERVER.",
            ),
            916 => (ErrorCode::PermissionDenied, "The login has no user in that database.", "CREATE USER for the login in that database, with the permission it needs."),
            _ => (ErrorCode::SqlServer, "SQL Server returned an error.", "Read SQL Server's message below."),
        };
        KeysafeError {
            code,
            message: message.into(),
            next_step: Some(next.into()),
            server: Some(m),
        }
    }
}

impl KeysafeError {
    /// 4861: "could not be opened. Operating system error code N(...)": the OS error says why.
    fn bulk_open_failed(m: ServerMessage) -> Self {
        let os = m
            .text
            .split("Operating system error code ")
            .nth(1)
            .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u32>().ok());
        // SQL Server on Linux quotes a POSIX path.
        let linux = m.text.contains("file \"/");
        let (code, message, next) = match os {
            Some(5) if linux => (
                ErrorCode::PermissionDenied,
                "SQL Server on Linux may not read the backup file back (access denied).",
                "From SQL Server 2022 CU24, a login that is not sysadmin reads files only in folders listed in mssql-conf's bulkadmin.allowedpathslist: on the server, sudo /opt/mssql/bin/mssql-conf set bulkadmin.allowedpathslist \"<server folder>\" (or connect with a sysadmin login), and make sure the mssql account can read the folder.",
            ),
            Some(5) => (
                ErrorCode::PermissionDenied,
                "SQL Server may not read the backup file back (access denied).",
                "With Windows Authentication, SQL Server opens files as your Windows account, which the backup folder's ACL must allow to read; with a SQL Server login it uses its service account. Grant read access to the account that reads, or connect the other way.",
            ),
            Some(2) | Some(3) => (
                ErrorCode::FolderMissing,
                "SQL Server cannot find the folder of the backup file.",
                "Check the server folder's path as the server sees it (a drive letter of the server, not of this machine) and that it exists.",
            ),
            Some(123) => (
                ErrorCode::InvalidInput,
                "The server's operating system rejects the backup file's path.",
                "Use a plain local path of the server (C:\\...) or a UNC path (\\\\server\\share\\...).",
            ),
            _ => (
                ErrorCode::SqlServer,
                "SQL Server could not open the backup file to read it back.",
                "Read the operating system error in SQL Server's message below.",
            ),
        };
        KeysafeError {
            code,
            message: message.into(),
            next_step: Some(next.into()),
            server: Some(m),
        }
    }
}

impl From<std::io::Error> for KeysafeError {
    fn from(e: std::io::Error) -> Self {
        KeysafeError::new(ErrorCode::Io, format!("File system error: {e}"))
    }
}

impl From<crate::tsql::LiteralError> for KeysafeError {
    fn from(e: crate::tsql::LiteralError) -> Self {
        KeysafeError::new(ErrorCode::InvalidInput, e.to_string())
            .next("Nothing was sent to SQL Server. Correct the value and try again.")
    }
}

pub type Result<T> = std::result::Result<T, KeysafeError>;

/// CERTPRIVATEKEY and BACKUP CERTIFICATE ... WITH PRIVATE KEY need CONTROL on the
/// certificate: without it SQL Server returns NULL for the private key (CERTPRIVATEKEY's
/// page), which Keysafe explains instead of blaming the master key.
pub fn no_control_on_certificate(database: &str, certificate: &str, login: &str) -> KeysafeError {
    KeysafeError::new(
        ErrorCode::PermissionDenied,
        format!("SQL Server gave no private key for {database}.{certificate}: exporting it needs CONTROL on the certificate, which {login} does not have (seeing it is not enough)."),
    )
    .next(format!(
        "In {database}: GRANT CONTROL ON CERTIFICATE::{} TO <the login's user>; (or use a login with CONTROL on the database)",
        crate::tsql::ident(certificate).unwrap_or_else(|_| certificate.to_string())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(number: u32, text: &str) -> ServerMessage {
        ServerMessage {
            number,
            level: 16,
            state: 1,
            line: 1,
            text: text.into(),
        }
    }

    #[test]
    fn a_file_that_cannot_be_opened_is_explained_by_its_operating_system_error() {
        let m = |code: &str| {
            server(4861, &format!("Cannot bulk load because the file \"C:\\k\\smk.key\" could not be opened. Operating system error code {code}."))
        };
        let denied = KeysafeError::from_server(m("5(Access is denied.)"));
        assert_eq!(denied.code, ErrorCode::PermissionDenied);
        assert!(denied
            .next_step
            .as_deref()
            .unwrap()
            .contains("Windows Authentication"));
        assert_eq!(
            denied.server.as_ref().unwrap().number,
            4861,
            "the original message is kept"
        );
        let no_folder =
            KeysafeError::from_server(m("3(The system cannot find the path specified.)"));
        assert_eq!(no_folder.code, ErrorCode::FolderMissing);
        let other = KeysafeError::from_server(m("32(The process cannot access the file.)"));
        assert_eq!(other.code, ErrorCode::SqlServer);
        let missing = KeysafeError::from_server(server(
            4860,
            "Cannot bulk load. The file \"x\" does not exist or you don't have file access rights.",
        ));
        assert_eq!(missing.code, ErrorCode::NotFound);
    }
}
