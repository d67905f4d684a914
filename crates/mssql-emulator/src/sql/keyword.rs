//! The words of T-SQL the parser recognises, as one closed set: a keyword the parser asks
//! for is a `Kw`, so a misspelt one does not compile. Words are matched case-insensitively,
//! as SQL Server does; which of them are reserved is the lexer's `is_reserved`.

macro_rules! keywords {
    ($($v:ident = $s:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kw {
            $($v,)*
        }

        impl Kw {
            /// The keyword as SQL Server spells it in messages.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kw::$v => $s,)*
                }
            }

            /// The keyword a word is, in any case.
            pub fn parse(word: &str) -> Option<Kw> {
                match word.to_ascii_uppercase().as_str() {
                    $($s => Some(Kw::$v),)*
                    _ => None,
                }
            }
        }
    };
}

keywords! {
    Active = "ACTIVE",
    Add = "ADD",
    Algorithm = "ALGORITHM",
    All = "ALL",
    Alter = "ALTER",
    And = "AND",
    As = "AS",
    Asc = "ASC",
    Authorization = "AUTHORIZATION",
    Availability = "AVAILABILITY",
    Backup = "BACKUP",
    Begin = "BEGIN",
    BeginDialog = "BEGIN_DIALOG",
    Between = "BETWEEN",
    Binary = "BINARY",
    Bulk = "BULK",
    By = "BY",
    Cascade = "CASCADE",
    Case = "CASE",
    Cast = "CAST",
    Certificate = "CERTIFICATE",
    CheckExpiration = "CHECK_EXPIRATION",
    CheckPolicy = "CHECK_POLICY",
    Checksum = "CHECKSUM",
    Close = "CLOSE",
    Contained = "CONTAINED",
    Commit = "COMMIT",
    Compression = "COMPRESSION",
    Convert = "CONVERT",
    CopyOnly = "COPY_ONLY",
    Create = "CREATE",
    Cross = "CROSS",
    Current = "CURRENT",
    CurrentTimestamp = "CURRENT_TIMESTAMP",
    CurrentUser = "CURRENT_USER",
    Database = "DATABASE",
    Declare = "DECLARE",
    Decryption = "DECRYPTION",
    Default = "DEFAULT",
    DefaultDatabase = "DEFAULT_DATABASE",
    DefaultLanguage = "DEFAULT_LANGUAGE",
    Delay = "DELAY",
    Delete = "DELETE",
    Deny = "DENY",
    Desc = "DESC",
    Description = "DESCRIPTION",
    Differential = "DIFFERENTIAL",
    Disable = "DISABLE",
    Disk = "DISK",
    Distinct = "DISTINCT",
    Drop = "DROP",
    Else = "ELSE",
    Enable = "ENABLE",
    Encryption = "ENCRYPTION",
    End = "END",
    Escape = "ESCAPE",
    Exec = "EXEC",
    Executable = "EXECUTABLE",
    Execute = "EXECUTE",
    Exists = "EXISTS",
    ExpiryDate = "EXPIRY_DATE",
    File = "FILE",
    Filelistonly = "FILELISTONLY",
    For = "FOR",
    Force = "FORCE",
    Format = "FORMAT",
    From = "FROM",
    Grant = "GRANT",
    Group = "GROUP",
    Having = "HAVING",
    Headeronly = "HEADERONLY",
    If = "IF",
    In = "IN",
    Init = "INIT",
    Inner = "INNER",
    Insert = "INSERT",
    Is = "IS",
    Join = "JOIN",
    Key = "KEY",
    Kill = "KILL",
    Left = "LEFT",
    Like = "LIKE",
    Log = "LOG",
    Login = "LOGIN",
    Master = "MASTER",
    Max = "MAX",
    Member = "MEMBER",
    MustChange = "MUST_CHANGE",
    Name = "NAME",
    NoChecksum = "NO_CHECKSUM",
    NoCompression = "NO_COMPRESSION",
    NoFormat = "NOFORMAT",
    NoInit = "NOINIT",
    Not = "NOT",
    Null = "NULL",
    Off = "OFF",
    On = "ON",
    Open = "OPEN",
    Openrowset = "OPENROWSET",
    Option = "OPTION",
    Or = "OR",
    Order = "ORDER",
    Out = "OUT",
    Outer = "OUTER",
    Output = "OUTPUT",
    Password = "PASSWORD",
    Print = "PRINT",
    Private = "PRIVATE",
    Regenerate = "REGENERATE",
    Replica = "REPLICA",
    Restore = "RESTORE",
    Return = "RETURN",
    Revoke = "REVOKE",
    Role = "ROLE",
    Rollback = "ROLLBACK",
    Select = "SELECT",
    Server = "SERVER",
    Service = "SERVICE",
    SessionUser = "SESSION_USER",
    Set = "SET",
    Sid = "SID",
    StartDate = "START_DATE",
    Stats = "STATS",
    Subject = "SUBJECT",
    Symmetric = "SYMMETRIC",
    SystemUser = "SYSTEM_USER",
    Then = "THEN",
    To = "TO",
    Top = "TOP",
    Tran = "TRAN",
    Transaction = "TRANSACTION",
    TryCast = "TRY_CAST",
    TryConvert = "TRY_CONVERT",
    Update = "UPDATE",
    Use = "USE",
    User = "USER",
    Verifyonly = "VERIFYONLY",
    Waitfor = "WAITFOR",
    When = "WHEN",
    Where = "WHERE",
    While = "WHILE",
    Windows = "WINDOWS",
    With = "WITH",
    Without = "WITHOUT",
    Work = "WORK",
}

#[cfg(test)]
mod tests {
    use super::Kw;

    #[test]
    fn a_keyword_is_found_in_any_case_and_spelt_as_sql_server_does() {
        assert_eq!(Kw::parse("backup"), Some(Kw::Backup));
        assert_eq!(Kw::parse("Check_Policy"), Some(Kw::CheckPolicy));
        assert_eq!(Kw::Backup.as_str(), "BACKUP");
        assert_eq!(Kw::parse("BACKUPS"), None);
    }
}
