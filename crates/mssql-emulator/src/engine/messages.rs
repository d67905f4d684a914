//! SQL Server's messages: number, level, state and text, as facts §3 gives them.

use crate::tds::token::ServerMessage;

/// An error or informational message before the server name, procedure and line are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub number: i32,
    pub class: u8,
    pub state: u8,
    pub text: String,
}

impl Msg {
    pub fn new(number: i32, class: u8, state: u8, text: impl Into<String>) -> Self {
        Msg {
            number,
            class,
            state,
            text: text.into(),
        }
    }
    pub fn into_server(self, server: &str, procedure: &str, line: u32) -> ServerMessage {
        ServerMessage {
            number: self.number,
            state: self.state,
            class: self.class,
            text: self.text,
            server: server.to_string(),
            procedure: procedure.to_string(),
            line: line as i32,
        }
    }
    pub fn is_error(&self) -> bool {
        self.class > 10
    }
}

pub fn cannot_write_file(path: &str, state: u8) -> Msg {
    Msg::new(
        15240,
        16,
        state,
        format!("Cannot write into file '{path}'. Verify that you have write permissions, that the file path is valid, and that the file does not already exist."),
    )
}

pub fn password_policy(number: i32, operating_system: bool) -> Msg {
    let who = if operating_system {
        "the operating system policy"
    } else {
        "Windows policy"
    };
    let why = match number {
        15116 => "because it is too short.",
        15117 => "because it is too long.",
        _ => "because it is not complex enough.",
    };
    Msg::new(
        number,
        16,
        1,
        format!("Password validation failed. The password does not meet {who} requirements {why}"),
    )
}

pub fn no_master_key(state: u8) -> Msg {
    Msg::new(15581, 16, state, "Please create a master key in the database or open the master key in the session before performing this operation.")
}

pub fn master_key_exists() -> Msg {
    Msg::new(15578, 16, 1, "There is already a master key in the database. Please drop it before performing this statement.")
}

pub fn key_file_invalid() -> Msg {
    let (n, s) = super::assumptions::KEY_FILE_INVALID;
    Msg::new(
        n,
        16,
        s,
        "The master key file does not exist or has invalid format.",
    )
}

pub fn keys_identical() -> Msg {
    Msg::new(
        15588,
        10,
        1,
        "The old and new master keys are identical. No data re-encryption is required.",
    )
}

pub fn no_permission() -> Msg {
    Msg::new(
        15247,
        16,
        1,
        "User does not have permission to perform this action.",
    )
}

pub fn cannot_find(verb: &str, what: &str, name: &str) -> Msg {
    Msg::new(15151, 16, 1, format!("Cannot {verb} the {what} '{name}', because it does not exist or you do not have permission."))
}

pub fn permission_denied_in_database(perm: &str, db: &str) -> Msg {
    Msg::new(
        262,
        14,
        1,
        format!("{perm} permission denied in database '{db}'."),
    )
}

pub fn server_state_denied(db: &str) -> Vec<Msg> {
    vec![
        Msg::new(
            300,
            14,
            1,
            format!("VIEW SERVER STATE permission was denied on object 'server', database '{db}'."),
        ),
        Msg::new(
            297,
            16,
            1,
            "The user does not have permission to perform this action.",
        ),
    ]
}

pub fn bulk_denied() -> Msg {
    Msg::new(
        4834,
        16,
        1,
        "You do not have permission to use the bulk load statement.",
    )
}

pub fn invalid_object(name: &str) -> Msg {
    Msg::new(208, 16, 1, format!("Invalid object name '{name}'."))
}

pub fn invalid_column(name: &str) -> Msg {
    Msg::new(207, 16, 1, format!("Invalid column name '{name}'."))
}

pub fn unknown_procedure(name: &str) -> Msg {
    Msg::new(
        2812,
        16,
        62,
        format!("Could not find stored procedure '{name}'."),
    )
}

pub fn unknown_function(name: &str) -> Msg {
    Msg::new(
        195,
        15,
        10,
        format!("'{name}' is not a recognized built-in function name."),
    )
}

pub fn must_declare(name: &str) -> Msg {
    Msg::new(
        137,
        15,
        2,
        format!("Must declare the scalar variable \"{name}\"."),
    )
}

pub fn database_missing(name: &str) -> Msg {
    Msg::new(
        911,
        16,
        1,
        format!("Database '{name}' does not exist. Make sure that the name is entered correctly."),
    )
}

pub fn database_exists(name: &str) -> Msg {
    Msg::new(
        1801,
        16,
        3,
        format!("Database '{name}' already exists. Choose a different database name."),
    )
}

pub fn changed_database(name: &str) -> Msg {
    Msg::new(5701, 0, 2, format!("Changed database context to '{name}'."))
}

pub fn divide_by_zero() -> Msg {
    Msg::new(8134, 16, 1, "Divide by zero error encountered.")
}

pub fn conversion_failed(value: &str, from: &str, to: &str) -> Msg {
    Msg::new(
        245,
        16,
        1,
        format!("Conversion failed when converting the {from} value '{value}' to data type {to}."),
    )
}

pub fn login_failed(user: &str) -> Msg {
    Msg::new(18456, 14, 1, format!("Login failed for user '{user}'."))
}

pub fn principal_exists(name: &str) -> Msg {
    Msg::new(
        15025,
        16,
        1,
        format!("The server principal '{name}' already exists."),
    )
}

pub fn cert_exists(name: &str) -> Msg {
    Msg::new(15232, 16, 1, format!("A certificate with name '{name}' already exists or this certificate already has been added to the database."))
}

pub fn no_private_key(name: &str) -> Msg {
    Msg::new(15246, 16, 1, format!("Cannot dump the private key of certificate '{name}' because the private key cannot be found."))
}

pub fn encryption_password_required(what: &str) -> Msg {
    Msg::new(
        15146,
        16,
        1,
        format!(
            "An encryption password must be provided to encrypt the private key of this {what}."
        ),
    )
}

pub fn no_decryption_password_expected(what: &str) -> Msg {
    Msg::new(15147, 16, 1, format!("No decryption password should be provided because the private key of this {what} is encrypted by a master key."))
}

pub fn decryption_password_needed(what: &str) -> Msg {
    Msg::new(15334, 16, 1, format!("The {what} has a private key that is protected by a user defined password. That password needs to be provided to enable the use of the private key."))
}

pub fn cert_file_invalid(v2024: bool) -> Msg {
    Msg::new(
        15208,
        16,
        6,
        if v2024 {
            "The certificate, asymmetric key, or private key file is not valid or does not exist; or you do not have permissions for it."
        } else {
            "The certificate, asymmetric key, or private key file does not exist or has invalid format."
        },
    )
}

pub fn private_key_mismatch(what: &str) -> Msg {
    Msg::new(
        15474,
        16,
        1,
        format!(
            "Invalid private key. The private key does not match the public key of the {what}."
        ),
    )
}

pub fn private_key_password_invalid() -> Msg {
    let (n, s) = super::assumptions::PRIVATE_KEY_PASSWORD_INVALID;
    Msg::new(n, 16, s, "The private key password is invalid.")
}

pub fn cert_not_backed_up_warning() -> Msg {
    Msg::new(
        33091,
        10,
        1,
        "Warning: The certificate used for encrypting the database encryption key has not been backed up. You should immediately back up the certificate and the private key associated with the certificate. If the certificate ever becomes unavailable or if you must restore or attach the database on another server, you must have backups of both the certificate and the private key or you will not be able to open the database.",
    )
}

pub fn bulk_cannot_open(path: &str) -> Msg {
    Msg::new(4860, 16, 1, format!("Cannot bulk load. The file \"{path}\" does not exist or you don't have file access rights."))
}

/// 4861: the file could not be opened, with the operating system's error as SQL Server
/// prints it ("Operating system error code 3(The system cannot find the path specified.).").
pub fn bulk_cannot_open_os(path: &str, code: u32, text: &str) -> Msg {
    Msg::new(
        4861,
        16,
        1,
        format!("Cannot bulk load because the file \"{path}\" could not be opened. Operating system error code {code}({text})."),
    )
}

pub fn grantor_lacks_permission() -> Msg {
    Msg::new(4613, 16, 1, "Grantor does not have GRANT permission.")
}

pub fn decryption_error() -> Msg {
    Msg::new(15466, 16, 9, "An error occurred during decryption.")
}

pub fn master_key_not_decryptable() -> Msg {
    Msg::new(15329, 16, 1, "The current master key cannot be decrypted. If this is a database master key, you should attempt to open it in the session before performing this operation. The FORCE option can be used to ignore this error and continue the operation but the data encrypted by the old master key will be lost.")
}

pub fn dek_exists() -> Msg {
    Msg::new(
        33103,
        16,
        1,
        "A database encryption key already exists for this database.",
    )
}

/// `assumptions::DEK_CHANGES_NEED_LOG_BACKUP`.
pub fn dek_change_needs_log_backup(db: &str) -> Msg {
    Msg::new(
        33122,
        16,
        1,
        format!("This command requires a database encryption scan on database '{db}'. However, the database has changes from previous encryption scans that are pending log backup. Take a log backup and retry the command."),
    )
}

/// 33104 (ALTER and DROP DATABASE ENCRYPTION KEY with none to change).
pub fn no_dek() -> Msg {
    Msg::new(
        33104,
        16,
        1,
        "A database encryption key does not exist for this database.",
    )
}

/// 33102: TDE in master, model, tempdb or msdb.
pub fn tde_system_database() -> Msg {
    Msg::new(33102, 16, 1, "Cannot encrypt a system database. Database encryption operations cannot be performed for 'master', 'model', 'tempdb', 'msdb', or 'resource' databases.")
}

/// 15352: a certificate that signs or encrypts something (the message names no certificate).
pub fn certificate_in_use() -> Msg {
    let (n, state) = crate::engine::assumptions::CERTIFICATE_IN_USE;
    Msg::new(n, 16, state, "The certificate cannot be dropped because one or more entities are either signed or encrypted using it.")
}

pub fn tde_cert_password_protected(name: &str) -> Msg {
    Msg::new(33101, 16, 1, format!("Cannot use certificate '{name}', because its private key is not present or it is not protected by the database master key. SQL Server requires the ability to automatically access the private key of the certificate used for this operation."))
}

pub fn cannot_drop_in_use(db: &str) -> Msg {
    Msg::new(
        3702,
        16,
        4,
        format!("Cannot drop database \"{db}\" because it is currently in use."),
    )
}

pub fn cannot_drop_system_db(db: &str) -> Msg {
    Msg::new(
        3708,
        16,
        1,
        format!("Cannot drop the database '{db}' because it is a system database."),
    )
}

pub fn user_exists(name: &str) -> Msg {
    Msg::new(
        15023,
        16,
        1,
        format!("User, group, or role '{name}' already exists in the current database."),
    )
}

pub fn login_missing_for_user(name: &str) -> Msg {
    Msg::new(
        15007,
        16,
        1,
        format!("'{name}' is not a valid login or you do not have permission."),
    )
}

pub fn invalid_permission(name: &str) -> Msg {
    Msg::new(102, 15, 1, format!("Incorrect syntax near '{name}'."))
}

pub fn wrong_decryptor() -> Msg {
    Msg::new(
        15313,
        16,
        1,
        "The key is not encrypted using the specified decryptor.",
    )
}

pub fn old_master_key_decrypt_failed(what: &str, name: &str) -> Msg {
    Msg::new(15320, 16, 1, format!("An error occurred while decrypting {what} '{name}' that was encrypted by the old master key. The FORCE option can be used to ignore this error and continue the operation, but data that cannot be decrypted by the old master key will become unavailable."))
}

pub fn old_master_key_decrypt_ignored(what: &str, name: &str) -> Msg {
    Msg::new(15584, 10, 1, format!("An error occurred while decrypting {what} '{name}' that was encrypted by the old master key. The error was ignored because the FORCE option was specified."))
}

pub fn cannot_drop_master_key(cert: &str) -> Msg {
    Msg::new(
        15580,
        16,
        1,
        format!("Cannot drop master key because certificate '{cert}' is encrypted by it."),
    )
}

pub fn last_encryption() -> Msg {
    let (n, s) = super::assumptions::LAST_ENCRYPTION_ERROR;
    Msg::new(n, 16, s, "Cannot drop encryption by password or by the service master key because it is the only encryption of the master key.")
}

pub fn cannot_access_database(login: &str, db: &str) -> Msg {
    Msg::new(916, 14, 2, format!("The server principal \"{login}\" is not able to access the database \"{db}\" under the current security context."))
}
