//! The statements and expressions the emulator understands.

use crate::value::{SqlType, Value};

/// A statement with the line it starts on (for `Line N` in messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub line: u32,
    pub stmt: Statement,
}

/// A string literal: these statements accept nothing else where a path or password goes.
pub type Lit = String;

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Use(String),
    Select(Box<Select>),
    BackupServiceMasterKey {
        file: Lit,
        password: Lit,
    },
    RestoreServiceMasterKey {
        file: Lit,
        password: Lit,
        force: bool,
    },
    AlterServiceMasterKey {
        force: bool,
    },
    CreateMasterKey {
        password: Option<Lit>,
    },
    OpenMasterKey {
        password: Lit,
    },
    CloseMasterKey,
    BackupMasterKey {
        file: Lit,
        password: Lit,
    },
    RestoreMasterKey {
        file: Lit,
        decryption: Lit,
        encryption: Lit,
        force: bool,
    },
    AlterMasterKey(AlterMasterKey),
    DropMasterKey,
    CreateCertificate(CreateCertificate),
    /// CREATE SYMMETRIC KEY name WITH ALGORITHM = a ENCRYPTION BY CERTIFICATE c | PASSWORD = p [, ...]
    CreateSymmetricKey {
        name: String,
        algorithm: String,
        by: Vec<SymmetricKeyEncryption>,
    },
    DropSymmetricKey(String),
    BackupCertificate(BackupCertificate),
    DropCertificate(String),
    CreateDatabaseEncryptionKey {
        algorithm: String,
        certificate: String,
    },
    DropDatabaseEncryptionKey,
    AlterDatabaseEncryption {
        database: String,
        on: bool,
    },
    CreateDatabase(String),
    CreateAvailabilityGroup(CreateAvailabilityGroup),
    BackupDatabase(BackupDatabase),
    /// RESTORE HEADERONLY | FILELISTONLY | VERIFYONLY FROM DISK = '...' [WITH FILE = n]
    RestoreInfo {
        what: RestoreInfo,
        file: Lit,
        position: Option<i64>,
    },
    /// ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE name (the current
    /// database's DEK re-encrypted by another certificate: TDE's protector rotation).
    AlterDatabaseEncryptionKey {
        certificate: String,
    },
    DropDatabase(Vec<String>),
    CreateLogin {
        name: String,
        password: Lit,
        check_policy: Option<bool>,
        default_database: Option<String>,
    },
    AlterLogin {
        name: String,
        action: AlterLogin,
    },
    DropLogin(String),
    CreateUser {
        name: String,
        login: Option<String>,
    },
    DropUser(String),
    Permission(PermissionStatement),
    AlterServerRole {
        role: String,
        add: bool,
        member: String,
    },
    AlterRole {
        role: String,
        add: bool,
        member: String,
    },
    Exec(Exec),
    SetOption {
        option: String,
        value: String,
    },
    SetVariable {
        name: String,
        expr: Expr,
    },
    Declare(Vec<(String, SqlType, Option<Expr>)>),
    Print(Expr),
    /// IF condition statement [ELSE statement]; a statement may be a BEGIN ... END block.
    If {
        condition: Expr,
        then: Vec<Located>,
        otherwise: Vec<Located>,
    },
    /// BEGIN ... END
    Block(Vec<Located>),
    BeginTransaction,
    Commit,
    Rollback,
    WaitFor(Expr),
    /// KILL session_id
    Kill(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterMasterKey {
    AddServiceMasterKey,
    DropServiceMasterKey,
    AddPassword(Lit),
    DropPassword(Lit),
    Regenerate { password: Lit, force: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterLogin {
    Enable,
    Disable,
    Password(Lit),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrivateKeyOptions {
    pub file: Option<Lit>,
    /// BINARY = 0x...: the private key as CERTPRIVATEKEY returned it.
    pub binary: Option<Vec<u8>>,
    pub encryption_password: Option<Lit>,
    pub decryption_password: Option<Lit>,
    pub algorithm: Option<Lit>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CertificateSource {
    /// WITH SUBJECT = ...: a new self-signed certificate and key pair.
    Generate {
        subject: Lit,
        start_date: Option<Lit>,
        expiry_date: Option<Lit>,
    },
    File {
        file: Lit,
        pfx: bool,
        private_key: Option<PrivateKeyOptions>,
    },
    /// FROM BINARY = 0x...: the certificate as CERTENCODED returned it.
    Binary {
        der: Vec<u8>,
        private_key: Option<PrivateKeyOptions>,
    },
}

/// CREATE AVAILABILITY GROUP name [WITH (options)] FOR [DATABASE a [, ...]] REPLICA ON
/// 'server' WITH (ENDPOINT_URL = ..., AVAILABILITY_MODE = ..., FAILOVER_MODE = ..., ...) [, ...]
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAvailabilityGroup {
    pub name: String,
    /// WITH (CONTAINED): SQL Server 2022's contained availability group.
    pub contained: bool,
    pub databases: Vec<String>,
    pub replicas: Vec<AgReplicaSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgReplicaSpec {
    pub server: String,
    /// Each option as written (upper-cased name, value as text): ENDPOINT_URL,
    /// AVAILABILITY_MODE, FAILOVER_MODE and the rest.
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateCertificate {
    pub name: String,
    pub authorization: Option<String>,
    pub source: CertificateSource,
    /// ENCRYPTION BY PASSWORD for a generated certificate: the private key is protected
    /// by this password instead of the database master key.
    pub encryption_password: Option<Lit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreInfo {
    Header,
    FileList,
    Verify,
}

/// BACKUP DATABASE | LOG name TO DISK = '...' [WITH ...]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackupDatabase {
    pub database: String,
    pub log: bool,
    pub file: Lit,
    pub differential: bool,
    pub copy_only: bool,
    /// INIT or FORMAT: the backup set replaces what the file held.
    pub overwrite: bool,
    pub compression: bool,
    pub name: Option<Lit>,
    /// ENCRYPTION (ALGORITHM = ..., SERVER CERTIFICATE = name)
    pub encryption: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackupCertificate {
    pub name: String,
    pub file: Lit,
    pub pfx: bool,
    pub private_key: Option<PrivateKeyOptions>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PermissionKind {
    Grant,
    Revoke,
    Deny,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionStatement {
    pub kind: PermissionKind,
    /// Upper-case permission names, e.g. "CONTROL SERVER", "VIEW SERVER STATE".
    pub permissions: Vec<String>,
    /// None = the server or the current database, depending on the permission.
    pub on: Option<(String, String)>,
    pub principals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exec {
    pub procedure: Vec<String>,
    pub args: Vec<ExecArg>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExecArg {
    pub name: Option<String>,
    pub value: Expr,
    pub output: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    pub distinct: bool,
    pub top: Option<Expr>,
    pub items: Vec<SelectItem>,
    pub from: Option<TableRef>,
    pub joins: Vec<Join>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub order_by: Vec<(Expr, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Star(Option<String>),
    Expr { expr: Expr, alias: Option<String> },
    Assign { variable: String, expr: Expr },
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableRef {
    Named {
        name: Vec<String>,
        alias: Option<String>,
    },
    Function {
        name: Vec<String>,
        args: Vec<Expr>,
        alias: Option<String>,
    },
    OpenRowsetBulk {
        path: Lit,
        mode: String,
        alias: Option<String>,
    },
    Subquery {
        query: Box<Select>,
        alias: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub left: bool,
    pub table: TableRef,
    pub on: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value, SqlType),
    Column(Vec<String>),
    Variable(String),
    Global(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Function {
        name: String,
        args: Vec<Expr>,
        star: bool,
        distinct: bool,
    },
    Cast {
        expr: Box<Expr>,
        ty: SqlType,
    },
    Convert {
        ty: SqlType,
        expr: Box<Expr>,
        style: Option<Box<Expr>>,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        negated: bool,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Exists(Box<Select>),
    Subquery(Box<Select>),
}

impl Expr {
    /// Whether the expression contains an aggregate (COUNT, MIN, MAX, SUM, AVG).
    pub fn has_aggregate(&self) -> bool {
        match self {
            Expr::Function { name, args, .. } => {
                is_aggregate(name) || args.iter().any(Expr::has_aggregate)
            }
            Expr::Neg(e) | Expr::Not(e) => e.has_aggregate(),
            Expr::Binary(_, a, b) => a.has_aggregate() || b.has_aggregate(),
            Expr::Cast { expr, .. } | Expr::Convert { expr, .. } => expr.has_aggregate(),
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                operand.as_ref().is_some_and(|e| e.has_aggregate())
                    || whens
                        .iter()
                        .any(|(a, b)| a.has_aggregate() || b.has_aggregate())
                    || otherwise.as_ref().is_some_and(|e| e.has_aggregate())
            }
            Expr::IsNull { expr, .. } => expr.has_aggregate(),
            Expr::Like { expr, pattern, .. } => expr.has_aggregate() || pattern.has_aggregate(),
            Expr::In { expr, list, .. } => {
                expr.has_aggregate() || list.iter().any(Expr::has_aggregate)
            }
            Expr::Between {
                expr, low, high, ..
            } => expr.has_aggregate() || low.has_aggregate() || high.has_aggregate(),
            _ => false,
        }
    }
}

pub fn is_aggregate(name: &str) -> bool {
    ["COUNT", "COUNT_BIG", "MIN", "MAX", "SUM", "AVG"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(name))
}

/// One ENCRYPTION BY of CREATE SYMMETRIC KEY.
#[derive(Debug, Clone, PartialEq)]
pub enum SymmetricKeyEncryption {
    Certificate(String),
    Password(Lit),
}
