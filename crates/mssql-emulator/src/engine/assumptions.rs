//! Every behaviour the emulator reproduces that no source in
//! `shared/reference/sqlserver-facts.md` confirms. One place, so each is easy to correct
//! once someone checks it against a real server. The crate README summarises them; this
//! file is what the code uses.

/// BACKUP / RESTORE / ALTER SERVICE MASTER KEY without CONTROL SERVER. Facts §3.2: the most
/// likely candidate is 15247 ("User does not have permission to perform this action.").
pub const SMK_PERMISSION_ERROR: (i32, u8) = (15247, 1);

/// BACKUP MASTER KEY in a database with no master key, or whose password-only key is not
/// open in the session. Facts §3.2: 15581 is the candidate for both; we use state 1 for
/// "no master key" and state 3 for "not open".
pub const DMK_MISSING_STATE: u8 = 1;
pub const DMK_NOT_OPEN_STATE: u8 = 3;

/// RESTORE (SERVICE) MASTER KEY from a file that is missing, unreadable, not a key backup,
/// corrupted, or decrypted with the wrong password: 15317 "The master key file does not
/// exist or has invalid format." raised at Level 16 (observed), State 2 (observed for
/// missing files). Facts §3.2 leaves the wrong-password number open; a wrong password is
/// indistinguishable from a corrupted file to an AEAD, so we use the same message.
pub const KEY_FILE_INVALID: (i32, u8) = (15317, 2);

/// CREATE CERTIFICATE ... FROM FILE with a wrong private-key password: 15465
/// "The private key password is invalid." (facts: inferred, no capture).
pub const PRIVATE_KEY_PASSWORD_INVALID: (i32, u8) = (15465, 6);

/// 15240 states: not documented. We use 1 = file exists, 2 = folder missing or path
/// invalid, 3 = write failed (injected fault).
pub const WRITE_EXISTS_STATE: u8 = 1;
pub const WRITE_NO_FOLDER_STATE: u8 = 2;
pub const WRITE_FAILED_STATE: u8 = 3;
/// 4: the folder's DACL does not let the service account add a file.
pub const WRITE_DENIED_STATE: u8 = 4;

/// Password policy: Windows' defaults as the facts quote them ("at least eight characters
/// long and contain characters from three of four sets"); the 128-character maximum of the
/// Password Policy page gives 15117 ("too long").
pub const PASSWORD_MIN_LEN: usize = 8;
pub const PASSWORD_MAX_LEN: usize = 128;

/// 15116/15117/15118 wording: "Windows policy" on Windows hosts up to SQL Server 2019,
/// "operating system policy" on 2022 and on Linux (facts §3.1: 2022 table revision vs the
/// 2024 revision and the Linux capture).
pub fn policy_says_operating_system(major: u8, linux: bool) -> bool {
    linux || major >= 16
}

/// sys.key_encryptions shows no row for the service master key (it is protected by DPAPI,
/// which the view does not list). Facts §8 item 8 is open.
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const SMK_HAS_KEY_ENCRYPTION_ROWS: bool = false;

/// The service master key and database master keys are AES-256 on 2012+ (facts §4.1,
/// inferred).
pub const MASTER_KEY_ALGORITHM: (&str, &str, i32) = ("A3", "AES_256", 256);

/// Emulator certificates are real X.509 with ECDSA P-256 keys: `ring`, our only crypto
/// backend, cannot generate RSA keys. sys.certificates.key_length reports what SQL Server
/// would have generated: 2048 bits (2016-2019), 3072 bits (2022, "RSA-3072 minimum").
pub fn certificate_key_length(major: u8) -> i32 {
    if major >= 16 {
        3072
    } else {
        2048
    }
}

/// Self-signed certificates are valid for a year by default (facts §1.8).
pub const CERT_DEFAULT_VALIDITY_DAYS: i64 = 365;

/// Creating a database encryption key puts the database in encryption_state 1 until ALTER
/// DATABASE ... SET ENCRYPTION ON; the scan then completes at once (state 3). Turning it
/// off goes straight to state 1. In-progress states (2, 5) are never shown.
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const TDE_SCAN_IS_INSTANT: bool = true;

/// Backup files are written in an emulator-specific format (never SQL Server's): the
/// header says so. PBKDF2-HMAC-SHA256 with this many iterations derives the key, and the
/// file records the number (`Instance::set_backup_kdf_iterations` changes it for the files
/// an instance writes next; the fleet benchmark lowers it so that a thousand emulated
/// servers' key derivation does not compete with the client for one machine's cores).
pub const BACKUP_KDF_ITERATIONS: u32 = 20_000;

/// A failed (injected) file write leaves no partial file behind.
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const FAILED_WRITE_LEAVES_NO_FILE: bool = true;

/// Error for an unsupported statement that parses as T-SQL but the emulator doesn't model
/// is the syntax error SQL Server would give for an unknown construct (102/156).
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const UNSUPPORTED_IS_SYNTAX_ERROR: bool = true;

/// ALTER MASTER KEY DROP ENCRYPTION BY ... that would leave the key with no encryption.
/// The number is not in the facts; 15555 is our placeholder.
pub const LAST_ENCRYPTION_ERROR: (i32, u8) = (15555, 1);

/// CREATE MASTER KEY without ENCRYPTION BY PASSWORD: SQL Server (box) requires a password.
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const MASTER_KEY_REQUIRES_PASSWORD: bool = true;

/// ALTER DATABASE ... SET ENCRYPTION that fails (5011 for a database the caller may not alter
/// or that does not exist, 33102/33106/33107/33108 from the 33000 table) is followed by 5069
/// "ALTER DATABASE statement failed." The docs' error table lists 5069; that it follows each
/// ALTER DATABASE failure, and its state, come from published captures.
pub const ALTER_DATABASE_FAILED: (i32, u8) = (5069, 1);

/// DROP CERTIFICATE of a certificate that encrypts a key (or a database encryption key):
/// 15352 "The %S_MSG cannot be dropped because one or more entities are either signed or
/// encrypted using it." (15000 table), %S_MSG = "certificate" as public reports quote it; the
/// state is ours.
pub const CERTIFICATE_IN_USE: (i32, u8) = (15352, 1);

/// The private key of a certificate protected by a password, backed up without DECRYPTION
/// BY PASSWORD: 15334 (documented at severity 10) raised as an error at Level 16, like the
/// other "doc says 10, server says 16" messages of facts §3.1.
pub const PASSWORD_PROTECTED_KEY_NEEDS_DECRYPTION_CLASS: u8 = 16;

/// Windows authentication over NTLM. When the domain does not accept the client's NTLM
/// response (unknown account, wrong password), SQL Server's SSPI handshake fails with
/// SEC_E_LOGON_DENIED and the client gets 18452 ("...untrusted domain..."), Level 14,
/// State 1 (the real state is only in the error log). A response the domain accepts for an
/// account that has no enabled login with CONNECT SQL is 18456 for DOMAIN\user.
pub const NTLM_REJECTED: (i32, u8) = (18452, 1);

/// Only NTLMv2 responses are accepted: Windows' default LAN Manager authentication level
/// since Windows Server 2008 (level 3 on clients, domain controllers refusing LM and
/// NTLMv1 at level 5 is the hardened setting we model). Kerberos (SPNEGO in LOGIN7) is not
/// emulated: it is answered like a rejected NTLM login.
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const NTLM_V2_ONLY: bool = true;

/// The packet type of the client's second SSPI message (the NTLM AUTHENTICATE). [MS-TDS]
/// 2.2.1.6 names SSPI (0x11), which FreeTDS sends; tiberius sends it as LOGIN7 (0x10) and logs
/// in to real servers that way, so SQL Server must accept both.
pub const SSPI_CONTINUATION_TYPES: [u8; 2] = [0x11, 0x10];

/// OPENROWSET(BULK) on a path it cannot read. sql-docs (the error reference and the bulk
/// import page) give 4860 "does not exist or you don't have file access rights" and 4861
/// "could not be opened. Operating system error code N(text)". We answer 4860 only when the
/// folder exists and the file does not, and 4861 with the Windows error otherwise: 3 for a
/// missing folder, 5 for a folder opened as a file, 123 for a path the OS rejects. SQL Server
/// on Linux reports the same Windows codes through its platform layer (assumed).
pub struct BulkOpenErrors {
    pub no_folder: (u32, &'static str),
    pub is_folder: (u32, &'static str),
    pub invalid_path: (u32, &'static str),
    pub denied: (u32, &'static str),
}
pub const BULK_OPEN_ERRORS: BulkOpenErrors = BulkOpenErrors {
    no_folder: (3, "The system cannot find the path specified."),
    is_folder: (5, "Access is denied."),
    invalid_path: (
        123,
        "The filename, directory name, or volume label syntax is incorrect.",
    ),
    denied: (5, "Access is denied."),
};

/// A database restored or attached from another server (scenario `protection = "migrated"`):
/// open-master-key-transact-sql.md says the SMK-encrypted copy of its master key "is not yet
/// stored in the server", so it must be opened with OPEN MASTER KEY, and ALTER MASTER KEY
/// (ADD ENCRYPTION BY SERVICE MASTER KEY, or REGENERATE) provisions this server's copy. We
/// keep `is_master_key_encrypted_by_server = 1` (the flag lives in the database and travels
/// with it; not documented either way) and answer anything that needs the key unopened as
/// for a password-only key: 15581 at DMK_NOT_OPEN_STATE.
pub const MIGRATED_MASTER_KEY_KEEPS_SERVER_FLAG: bool = true;

/// OPENROWSET(BULK) on Linux (sql-server-linux-bulk-operations.md): "Previously [before SQL
/// Server 2022 CU24 / 2025 CU3], only members of the sysadmin server role could run BULK
/// INSERT or OPENROWSET(BULK...) on Linux." The page gives no error numbers. We answer a
/// login that is not sysadmin with 4834 (the bulk permission error) before CU24, whatever it
/// was granted.
pub fn linux_bulk_needs_sysadmin(major: u8, cumulative_update: u16) -> bool {
    major < 16 || (major == 16 && cumulative_update < 24) || (major == 17 && cumulative_update < 3)
}

/// From 2022 CU24 on Linux, a login that is not sysadmin reads only files whose folder (or a
/// folder above it) is in mssql-conf's bulkadmin.allowedpathslist; elsewhere we answer 4861
/// with operating system error 5 (access denied). sysadmin is not held to the list (it never
/// needed one). Neither the error nor the exemption is documented.
pub const LINUX_BULK_LIST_BINDS_SYSADMIN: bool = false;

/// A new Windows drive's root, as Windows setup leaves C:\ (icacls C:\ on Server 2022):
/// SYSTEM and Administrators full control, Users read and execute, Authenticated Users modify
/// on what is created below and "create folders" (AD) on the root itself, so any service can
/// make a folder there but not write a file into it. Not from Microsoft's SQL docs; common
/// knowledge, unverified here.
pub const DRIVE_ROOT_SDDL: &str =
    "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICIIO;0x1301bf;;;AU)(A;;0x4;;;AU)";

/// The instance's data and backup folders as SQL Server setup leaves them: explicit,
/// protected permissions for SYSTEM, Administrators, the per-service SID and CREATOR OWNER,
/// nobody else ("The Microsoft SQL Server install will set explicit folder security ... [it
/// allows] local Administrator access but [does] not allow access to the DBA groups",
/// SQL FineBuild's wiki; sql-docs' "Configure file system permissions" names the service SID).
pub const INSTANCE_FOLDER_SDDL: &str =
    "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{service})(A;OICIIO;FA;;;CO)";

/// The groups in a Windows service's token besides its own SID: Everyone, Authenticated
/// Users, Users, SERVICE (assumed; whoami /groups of a virtual account).
pub const SERVICE_TOKEN_GROUPS: &[&str] = &["S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-6"];

/// The groups of a Windows login's impersonation token besides the scenario's `groups`:
/// Everyone, Authenticated Users, Users (domain users are local Users).
pub const USER_TOKEN_GROUPS: &[&str] = &["S-1-1-0", "S-1-5-11", "S-1-5-32-545"];

/// BACKUP CERTIFICATE's files are "ACLd to the service account" (backup-certificate-
/// transact-sql.md): we give them a protected DACL with one entry, the service account's
/// full control. BACKUP (SERVICE) MASTER KEY files inherit their folder's permissions
/// (undocumented either way).
pub const CERTIFICATE_FILES_SERVICE_ONLY: bool = true;

/// A Windows login reading a UNC path through SQL Server: without Kerberos delegation the
/// second hop fails (the bulk import page); we answer 4861 with error 5. Every BACKUP and
/// xp_create_subdir act as the service account whoever calls them.
pub const UNC_NEEDS_DELEGATION: bool = true;

/// CERTENCODED / CERTPRIVATEKEY (certencoded-transact-sql.md, certprivatekey-transact-sql.md:
/// "publicly available"; "only users with access to the certificate private key can use
/// this function"): NULL, not an error, for a certificate the caller cannot see or a private
/// key it cannot open (master key not open, wrong or missing decryption password). The
/// private key comes in the emulator's private-key backup format, as BACKUP CERTIFICATE's
/// .pvk does (real servers: PVK), and CREATE CERTIFICATE ... FROM BINARY takes it back.
pub const CERT_FUNCTIONS_NULL_ON_NO_ACCESS: bool = true;

/// xp_fileexist looks as the caller's file-system identity: the service account for a SQL
/// login, the Windows account for a Windows login, which must be able to list (read) the
/// folder holding the path, else all three answers are 0 (undocumented; the reading
/// of the bulk-import security rule, applied to the extended procedure).
pub const XP_FILEEXIST_AS_CALLER: bool = true;

/// IF ... ELSE: the branch not taken is not run, and a view it names that this version lacks
/// (sys.dm_os_host_info before 2017) is no error: deferred name resolution
/// (deferred-name-resolution docs: objects are resolved when the statement runs). The
/// condition follows three-valued logic: UNKNOWN takes the ELSE branch (if-else docs).
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const UNTAKEN_BRANCH_IS_NOT_RESOLVED: bool = true;

/// HAS_DBACCESS (has-dbaccess-transact-sql.md): 1 for a database the caller may enter, 0 for
/// one it may not, NULL for a name that is no database. "May enter" is what a three-part
/// name to it checks here: the system databases always; others through a user (CONNECT),
/// ownership or CONTROL SERVER.
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const HAS_DBACCESS_AS_THREE_PART_NAMES: bool = true;

/// BACKUP DATABASE's media file: the emulator writes its own format (JSON naming this
/// format, one entry per backup set, no data pages), not Microsoft Tape Format. What
/// RESTORE HEADERONLY / FILELISTONLY / VERIFYONLY report from it is modelled; RESTORE
/// DATABASE is not. A file in any other format is "incorrectly formed" (3241).
pub const BACKUP_MEDIA_FORMAT: &str = "mssql-emulator-backup/1";

/// 3201 "Cannot open backup device": the state is not documented; 2 is what published
/// captures show for a missing file.
pub const BACKUP_DEVICE_OPEN_STATE: u8 = 2;

/// Appending an encrypted backup set to a file that already holds backup sets
/// (backup-encryption.md: "Appending to an existing backup set option is not supported for
/// encrypted backups"), or a compressed set to an uncompressed media set
/// (backup-compression: "Compressed and uncompressed backups can't coexist in a media set"):
/// 3098 state 2 (errors table 3000-3999; Microsoft's support article quotes it for
/// 'COMPRESSION' / 'NO_COMPRESSION'). For encryption the option pair is ours: 'ENCRYPTION' /
/// 'NO_ENCRYPTION', BACKUP's own names for them.
pub const INCOMPATIBLE_MEDIA: (i32, u8) = (3098, 2);

/// RESTORE ... WITH FILE = n past the last backup set on the device: 4038 "Cannot find file
/// ID n on device '...'." (number and text in the errors table 4000-4999; state ours).
pub const BACKUP_SET_MISSING: (i32, u8) = (4038, 1);

/// RESTORE VERIFYONLY's success line "The backup set on file n is valid.": 3262 at severity
/// 10 (errors table 3000-3999); the state is ours.
pub const BACKUP_SET_VALID: (i32, u8) = (3262, 1);

/// RESTORE FILELISTONLY and VERIFYONLY of a TDE-encrypted backup, or one made WITH
/// ENCRYPTION, need the certificate (with its private key) in master, like a restore: 33111
/// "Cannot find server certificate with thumbprint '0x...'." then 3013 (facts: observed for
/// RESTORE DATABASE; that the two information statements check it too is inferred from
/// their reading the encrypted backup). RESTORE HEADERONLY reads only the unencrypted header
/// and needs no certificate.
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const INFO_RESTORES_NEED_THE_CERTIFICATE: bool = true;

/// msdb.dbo.backupset and backupmediafamily: readable by logins with CONTROL SERVER (sysadmin
/// included) or a user in msdb in db_owner or db_datareader, or granted SELECT on msdb
/// (undocumented; the strict reading: msdb's history is not public), else 229.
#[allow(dead_code)] // a record of what the code does unconditionally: nothing reads it
pub const MSDB_HISTORY_READERS: bool = true;

/// A (max) value the emulator builds (REPLICATE) is capped at 16 Mi characters instead of
/// SQL Server's 2 GB, so a runaway expression cannot take the test machine's memory.
pub const MAX_VALUE_CHARS: usize = 16 << 20;

/// sp_prepexec / sp_prepare send the new handle's RETURNVALUE before the statement's
/// results (the handle exists before the statement runs; MS-TDS does not fix the order
/// of an RPC's output parameters relative to its result sets). ODBC Driver 18 reads it
/// either way (interop/test_odbc.py runs sp_prepexec then sp_execute).
#[allow(dead_code)] // a record of what exec/rpc.rs does
pub const PREPARED_HANDLE_FIRST: bool = true;

/// sp_execute / sp_unprepare with a handle this session never prepared: 8179 "Could not
/// find prepared statement with handle N." (the number SQL Server's sys.messages holds for
/// that text), state 4 (not confirmed).
pub const PREPARED_HANDLE_UNKNOWN: (i32, u8) = (8179, 4);

/// KILL's refusals: (number, level, state) as sys.messages words them; the levels and
/// states are not confirmed by a capture.
pub struct KillErrors {
    pub no_permission: (i32, u8, u8),
    pub own_process: (i32, u8, u8),
    pub not_active: (i32, u8, u8),
    pub system_process: (i32, u8, u8),
}
pub const KILL_ERRORS: KillErrors = KillErrors {
    no_permission: (6102, 14, 1),
    own_process: (6104, 16, 1),
    not_active: (6106, 16, 2),
    system_process: (6107, 14, 1),
};

/// TDS 8.0: the PRELOGIN that travels inside TLS is answered with ENCRYPT_REQ whatever the
/// client's ENCRYPTION option says (tiberius sends REQ; the tds-8 page says only that the
/// handshake precedes PRELOGIN), and no second handshake follows. A client that offers no
/// ALPN protocol is served too: the page names `tds/8.0` but not a refusal without it.
#[allow(dead_code)] // a record of what server/connection.rs does
pub const STRICT_PRELOGIN_ENCRYPTION: u8 = 3;

/// CREATE SYMMETRIC KEY with an algorithm other than AES_128/192/256 (deprecated since 2016;
/// the emulator refuses them): 15314, the message SQL Server gives for an algorithm it
/// cannot provide (state not confirmed).
pub const SYMMETRIC_ALGORITHM_REFUSED: (i32, u8) = (15314, 1);

/// A symmetric key encrypted by a certificate is sealed with a key derived from the
/// certificate (the emulator's certificates are ECDSA and cannot encrypt); only the catalog
/// (sys.key_encryptions' crypt_type, thumbprint) is what SQL Server shows. C256 ("ENCRYPTION
/// BY CERTIFICATE OAEP256") from compatibility level 170 (SQL Server 2025), EPUC before.
#[allow(dead_code)] // a record of what exec/symmetric.rs does
pub const SYMMETRIC_KEY_BY_CERTIFICATE: &str = "derived from the certificate";

/// SQL Server 2025 (17.x) is emulated at its release build, 17.0.1000.7 (RTM, no CU), its
/// @@VERSION without a KB in parentheses as release builds print it; the build date is not
/// confirmed. Databases report compatibility level 170 (the version's default).
#[allow(dead_code)] // a record of what server_info.rs does
pub const SQL2025_BUILD: &str = "17.0.1000.7";

/// Time zones. Documented: msdb.dbo.backupset's start and finish dates are the server's
/// local time with `time_zone` (the offset in 15-minute intervals) beside them;
/// sys.dm_database_encryption_keys' dates are UTC; CREATE CERTIFICATE's START_DATE and
/// EXPIRY_DATE are UTC. Not documented, our choice: the other catalog dates
/// (sys.databases.create_date, sys.symmetric_keys' create and modify dates,
/// sys.certificates.pvt_key_last_backup_date) are local time, as GETDATE() gives. The host's
/// offset is fixed (a scenario's `time_zone`, or TZ's current offset on Linux): no daylight
/// saving changes inside one run.
#[allow(dead_code)] // a record of what the catalog views do
pub const CATALOG_DATES_LOCAL: bool = true;

/// CLOSE MASTER KEY needs no permission (close-master-key.md). The page says it "only
/// succeeds when the database master key was opened in the current session"; what it does
/// otherwise is not documented, and scripts close defensively: a key this session did not open
/// is closed without a message.
#[allow(dead_code)] // a record of what exec/keys.rs does
pub const CLOSE_UNOPENED_MASTER_KEY: &str = "no message";

/// Choices recorded from the emulator's audit against the docs (2026-12), where the docs
/// give no number, level or value. Each names what the code does.
///
/// - A database master key statement from a login that cannot see the database's metadata:
///   15151 "Cannot find the symmetric key '##MS_DatabaseMasterKey##'" (metadata visibility
///   hides the key), not 15247; DROP MASTER KEY with no key gives the same 15151.
/// - CREATE MASTER KEY in tempdb: 15276 "Cannot provision master key passwords for system
///   databases." (the text is sp_control_dbmasterkey_password's; the number is a guess).
/// - OPEN MASTER KEY with a wrong password: 15313 raised at Level 16 (the table lists
///   severity 10), like PASSWORD_PROTECTED_KEY_NEEDS_DECRYPTION_CLASS.
/// - BACKUP SERVICE MASTER KEY with no key: 15581; an SMK that cannot be decrypted: 15448.
/// - CREATE CERTIFICATE ... FORMAT = 'PFX' without DECRYPTION BY PASSWORD: 15465; BACKUP
///   CERTIFICATE ... FORMAT = 'PFX' with FILE inside PRIVATE KEY: 102.
/// - BACKUP CERTIFICATE, CREATE/ALTER/DROP DATABASE ENCRYPTION KEY and DROP CERTIFICATE
///   without their permission: 15247 (the docs name the permission, not the error).
/// - sys.certificates.pvt_key_last_backup_date is set by BACKUP CERTIFICATE WITH PRIVATE KEY
///   (either format), not by CERTPRIVATEKEY ("last exported" in the docs is ambiguous).
/// - xp_fileexist answers 0/0/0 to a login without CONTROL SERVER; xp_create_subdir creates
///   as the service account, which needs write access to the deepest folder that exists, and
///   fails with 22048 "xp_create_subdir() returned error 5, 'Access is denied.'" (or error 3,
///   'The system cannot find the path specified.', for a drive that is not there); both
///   procedures are undocumented, the text from published captures.
/// - KILL of a session id up to 50 is a system process (6107); the docs only say system
///   processes cannot be ended.
/// - GRANT/DENY/REVOKE of a permission or class the emulator does not model: 102.
/// - RESTORE HEADERONLY/FILELISTONLY/VERIFYONLY without CREATE DATABASE: 262 "CREATE DATABASE
///   permission denied in database 'master'." then 3013.
/// - RESTORE HEADERONLY's DeviceType for TO DISK = 'path' is 2 (the docs list 2 = logical
///   disk, 102 = physical disk device; which a bare path shows is unverified).
/// - sys.certificates.is_active_for_begin_dialog is 1 and attested_by 'N/A' for every
///   certificate.
/// - tempdb's database encryption key row (present while any database is encrypted) shows
///   encryptor_thumbprint NULL and encryptor_type 'ASYMMETRIC KEY'.
#[allow(dead_code)] // a record of choices the code makes
pub const AUDIT_2026_12_CHOICES: &str = "see the comment";

/// msdb.dbo.backupset's and RESTORE HEADERONLY's key_algorithm for a backup that is not
/// encrypted: "NO_Encryption" (both pages: "NO_Encryption value indicated that the backup was
/// not encrypted"), spelled as documented; the case a real server stores is not confirmed.
pub const NOT_ENCRYPTED_KEY_ALGORITHM: &str = "NO_Encryption";

/// The backup-history tables and RESTORE HEADERONLY carry every documented column in the
/// documented order (backupset 63 + last_valid_restore_time and compression_algorithm from
/// SQL Server 2022; backupmediaset 12; backupmediafamily 9; HEADERONLY 56 + LastValidRestoreTime,
/// TimeZone and CompressionAlgorithm from 2022). What the emulator does not model is NULL:
/// LSNs, database_version, flags, recovery fork and database GUIDs, description,
/// expiration_date, last_valid_restore_time, HEADERONLY's TimeZone (its nvarchar format is
/// undocumented). Modelled from what it knows: one family and one medium per media set (sets
/// appended to a file this instance wrote share its media_set_id), device type 2 (disk),
/// physical_block_size 512, mirror 0, software vendor 4608 (0x1200, documented), the
/// collation's sort order, code page, locale and comparison style, MTF major version 1,
/// begins_log_chain for a database's first log backup. The emulator does not compress:
/// compressed_backup_size equals backup_size, and compression_algorithm is MS_XPRESS (the
/// documented default) for a set made WITH COMPRESSION, NULL otherwise (undocumented).
/// BackupTypeDescription uses the documented upper-case strings.
#[allow(dead_code)] // a record of what catalog/msdb.rs and exec/backups.rs do
pub const UNMODELLED_BACKUP_COLUMNS: &str = "NULL";

/// sys.dm_database_encryption_keys (its page): modify_date is "the date (in UTC) the
/// encryption key was modified", set_date "the date (in UTC) the encryption key was applied
/// to the database"; which statements move them is not documented. ALTER DATABASE ENCRYPTION
/// KEY ENCRYPTION BY SERVER CERTIFICATE (a new encryptor) sets both to now, as ALTER DATABASE
/// ... SET ENCRYPTION ON/OFF does; create_date stays. All four stay in UTC whatever the
/// server's time zone (CATALOG_DATES_LOCAL does not apply to this view).
#[allow(dead_code)] // a record of what exec/certs.rs does
pub const DEK_ENCRYPTOR_CHANGE_SETS_DATE: bool = true;

/// RESTORE FILELISTONLY / VERIFYONLY of a backup made WITH ENCRYPTION by a login that passes
/// CREATE DATABASE but has no VIEW DEFINITION on the encrypting certificate in master:
/// backup-encryption.md names the permission ("VIEW DEFINITION permission on the certificate or
/// asymmetric key that is used to encrypt the database backup"), not the error. We answer as
/// for a certificate the server does not have: 33111 "Cannot find server certificate with
/// thumbprint '0x...'." (state 3) then 3013, metadata visibility hiding the certificate from
/// the login. What grants the sight is perms::has_object's VIEW DEFINITION: on the certificate
/// (or CONTROL, ALTER, REFERENCES on it), VIEW DEFINITION or CONTROL on master, master's owner
/// or sysadmin; a DENY on the certificate wins except over CONTROL SERVER.
#[allow(dead_code)] // a record of what exec/backups.rs does (its no_certificate)
pub const ENCRYPTED_BACKUP_UNSEEN_CERTIFICATE: (i32, u8) = (33111, 3);

/// RESTORE FILELISTONLY returns the documented 22 columns in the documented order
/// (restore-statements-filelistonly-transact-sql.md) and two rows per backup set, the data
/// file (Type D, FileID 1, filegroup PRIMARY, FileGroupID 1) and the log (Type L, FileID 2,
/// FileGroupName NULL, FileGroupID 0), named after the database and placed in the default
/// data folder. What the emulator cannot model is NULL: DropLSN, ReadOnlyLSN, ReadWriteLSN
/// (no file was dropped and no filegroup changed, so NULL is also what the docs give),
/// LogGroupGUID (documented as NULL), DifferentialBaseLSN and DifferentialBaseGUID (NULL even
/// for a differential backup, where the docs give values), SnapshotURL (no FILE_SNAPSHOT
/// backups). Values made up: CreateLSN 0, Size 8 MB for both files, MaxSize about 32 TB
/// (data) and 2 TB (log), SourceBlockSize 512, UniqueID derived from the database name and
/// FileID, BackupSizeInBytes the set's size for the data file and 0 for the log. TDEThumbprint
/// is the database encryption key's certificate thumbprint on both rows, NULL without TDE.
#[allow(dead_code)] // a record of what exec/backups.rs does
pub const UNMODELLED_FILELIST_COLUMNS: &str = "NULL";

/// RESTORE HEADERONLY's DatabaseCreationDate, BackupStartDate and BackupFinishDate are in the
/// server's local time (its time zone when RESTORE runs), like msdb.dbo.backupset's dates,
/// which the backupset page documents as local. The HEADERONLY page says only "Date and time";
/// its TimeZone column (2022 and later) is NULL here (UNMODELLED_BACKUP_COLUMNS). A backup file
/// read on a server in another zone shows that server's local time (undocumented; a real
/// server may keep the writer's local time).
#[allow(dead_code)] // a record of what exec/backups.rs does
pub const HEADERONLY_DATES_LOCAL: bool = true;

/// Availability groups (CREATE AVAILABILITY GROUP, its page; sys.availability_groups,
/// sys.availability_replicas, sys.availability_databases_cluster and
/// sys.dm_hadr_availability_replica_states, their pages). Modelled: the instance that runs
/// CREATE AVAILABILITY GROUP keeps the group and is its primary replica (the statement's
/// docs: "execute it on the instance you intend to use as the initial primary"); every
/// replica named is listed, with the local one found by its name against @@SERVERNAME; the
/// feature is taken as enabled (no WSFC, no endpoints, no seeding: the secondaries' own
/// catalogs are not reached, and no data moves). CREATE needs sysadmin (its Permissions:
/// "membership in the sysadmin fixed server role and ..."), else 15247. Not modelled, so
/// not refused: a name already in use, a database that does not exist or is not in FULL
/// recovery, a replica list without the local server. Visibility: the catalog views show a
/// group to a login with VIEW ANY DEFINITION (or CONTROL SERVER), none to others, as
/// metadata visibility of a server-level securable is documented; the DMV needs VIEW SERVER
/// STATE (297 otherwise, as every DMV here). is_contained exists from SQL Server 2022 (16).
/// True: only a login with VIEW ANY DEFINITION sees the groups.
pub const AVAILABILITY_GROUPS_NEED_VIEW_ANY_DEFINITION: bool = true;

/// A TDE database's log after its protector changes (ALTER DATABASE ENCRYPTION KEY
/// ENCRYPTION BY SERVER CERTIFICATE): the log written before stays encrypted by the old
/// certificate until a log backup takes it, so the first log backup after the change needs
/// both certificates to be restored (33111 for either missing; KB4534430 and Microsoft's
/// TDE page: "keep the encrypting certificate"). Modelled: the active log's encryptors are
/// kept per database, a log backup records them all and leaves only the current one, and
/// sys.dm_db_log_info (2016 SP2+, needs VIEW SERVER STATE here) lists one active VLF per
/// encryptor with vlf_encryptor_thumbprint (2019+). A full or differential backup records
/// only the current protector. The refusal of a third change without a log backup is
/// `DEK_CHANGES_NEED_LOG_BACKUP`.
pub const LOG_KEEPS_OLD_ENCRYPTOR: bool = true;

/// ALTER DATABASE ENCRYPTION KEY's Remarks: "After a database encryption key has been
/// modified twice, a log backup must be performed before the database encryption key can be
/// modified again." The page names no error. Modelled: each ALTER DATABASE ENCRYPTION KEY
/// counts (CREATE and SET ENCRYPTION ON/OFF do not); a log backup sets the count to zero; a
/// third ALTER with two pending is refused with 33122, the message SQL Server has for a key
/// change pending a log backup ("... the database has changes from previous encryption scans
/// that are pending log backup. Take a log backup and retry the command."), level 16. The
/// number and text are this model's choice: a client should not rely on them, and Keysafe
/// checks before it changes a key instead.
pub const DEK_CHANGES_NEED_LOG_BACKUP: u8 = 2;

/// sys.dm_database_encryption_keys' dates, from its column descriptions: create_date "the
/// date the encryption key was created", modify_date "the date the encryption key was
/// modified", set_date "the date the encryption key was applied to the database". Modelled:
/// CREATE sets all of them to one instant; ALTER DATABASE ENCRYPTION KEY sets modify_date and
/// set_date; SET ENCRYPTION ON/OFF sets set_date only (the key is applied, not changed).
/// Whether a real server also moves modify_date on SET ENCRYPTION is not documented.
pub const DEK_DATES: bool = true;

/// Contained availability groups (SQL Server 2022; "What is a contained availability group?"):
/// each has its own master and msdb, named `<group>_master` and `<group>_msdb` at instance
/// level, created empty with the group; TDE "checks both master databases for the DMK, the
/// master database for the instance, and the contained master database" to decrypt a
/// database. Modelled: CREATE AVAILABILITY GROUP ... WITH (CONTAINED) creates both as
/// databases of the instance (REUSE_SYSTEM_DATABASES keeps existing ones); a certificate a
/// TDE or encrypted backup needs is found in master, then in each contained group's master
/// (opened by that database's own master key), for RESTORE, VERIFYONLY and ENCRYPTION BY
/// SERVER CERTIFICATE alike. Sessions: `CONTAINED_AG_SESSIONS`.
pub const CONTAINED_AG_SYSTEM_DATABASES: bool = true;

/// A session in a contained availability group's environment ("The only way to access the
/// environment of the contained AG is to connect to the contained AG listener, or to connect
/// to a database that is in the contained AG"): modelled as a login whose initial database
/// is one of the group's (or its own master or msdb); USE does not change the environment.
/// There, msdb is the group's: its backups are recorded in `<group>_msdb`, which the
/// session reads as msdb and an instance-level session reads by that name; the instance's
/// msdb does not list them. Not modelled: master redirected to the group's master (names
/// resolve as at instance level), logins created in the group, the listener itself.
pub const CONTAINED_AG_SESSIONS: bool = true;
