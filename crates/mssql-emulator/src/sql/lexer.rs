//! T-SQL tokens: N'...' and '...' with '' escapes, [bracketed]]] and "quoted" identifiers,
//! -- and nested /* */ comments, 0x binary literals, @variables and @@globals.

use super::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A word: keyword or regular identifier. Keywords are recognised by the parser,
    /// case-insensitively.
    Ident(String),
    /// [bracketed] or "double-quoted": never a keyword.
    QuotedIdent(String),
    Str {
        text: String,
        unicode: bool,
    },
    Number(String),
    Binary(Vec<u8>),
    /// @name (the @ included)
    Variable(String),
    Symbol(&'static str),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    /// The source text, for error messages.
    pub text: String,
    pub line: u32,
    /// Byte offset in the batch.
    pub offset: usize,
}

const SYMBOLS: [&str; 24] = [
    "::", "<>", "!=", "<=", ">=", "!<", "!>", "+=", "-=", "*=", "/=", "(", ")", ",", ".", ";", "=",
    "<", ">", "+", "-", "*", "/", "%",
];

pub fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let b: Vec<char> = src.chars().collect();
    // byte offsets for each char index
    let mut offs = Vec::with_capacity(b.len() + 1);
    let mut o = 0;
    for c in &b {
        offs.push(o);
        o += c.len_utf8();
    }
    offs.push(o);
    let mut i = 0;
    let mut line: u32 = 1;
    let mut out = Vec::new();
    let text_of = |s: usize, e: usize| -> String { b[s..e].iter().collect() };
    while i < b.len() {
        let c = b[i];
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() || c == '\u{feff}' {
            i += 1;
            continue;
        }
        let start = i;
        let start_line = line;
        // comments
        if c == '-' && b.get(i + 1) == Some(&'-') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && b.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            loop {
                if i >= b.len() {
                    return Err(SyntaxError::custom(
                        113,
                        "Missing end comment mark '*/'.",
                        start_line,
                    ));
                }
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            continue;
        }
        let kind;
        if c == '\'' || ((c == 'N' || c == 'n') && b.get(i + 1) == Some(&'\'')) {
            let unicode = c != '\'';
            i += if unicode { 2 } else { 1 };
            let mut s = String::new();
            loop {
                if i >= b.len() {
                    return Err(SyntaxError::custom(
                        105,
                        format!("Unclosed quotation mark after the character string '{s}'."),
                        line,
                    ));
                }
                if b[i] == '\'' {
                    if b.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                if b[i] == '\n' {
                    line += 1;
                }
                s.push(b[i]);
                i += 1;
            }
            kind = TokenKind::Str { text: s, unicode };
        } else if c == '[' {
            i += 1;
            let mut s = String::new();
            loop {
                if i >= b.len() {
                    return Err(SyntaxError::custom(
                        105,
                        format!("Unclosed quotation mark after the character string '{s}'."),
                        line,
                    ));
                }
                if b[i] == ']' {
                    if b.get(i + 1) == Some(&']') {
                        s.push(']');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                if b[i] == '\n' {
                    line += 1;
                }
                s.push(b[i]);
                i += 1;
            }
            if s.chars().count() > 128 {
                return Err(SyntaxError::custom(
                    103,
                    format!(
                        "The identifier that starts with '{}' is too long. Maximum length is 128.",
                        s.chars().take(128).collect::<String>()
                    ),
                    start_line,
                ));
            }
            kind = TokenKind::QuotedIdent(s);
        } else if c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                if i >= b.len() {
                    return Err(SyntaxError::custom(
                        105,
                        format!("Unclosed quotation mark after the character string '{s}'."),
                        line,
                    ));
                }
                if b[i] == '"' {
                    if b.get(i + 1) == Some(&'"') {
                        s.push('"');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                s.push(b[i]);
                i += 1;
            }
            kind = TokenKind::QuotedIdent(s);
        } else if c == '0' && matches!(b.get(i + 1), Some('x') | Some('X')) {
            i += 2;
            let hs = i;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            let mut hex: String = text_of(hs, i);
            if hex.len() % 2 == 1 {
                hex.insert(0, '0');
            }
            kind = TokenKind::Binary(hex::decode(&hex).unwrap_or_default());
        } else if c.is_ascii_digit()
            || (c == '.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == '.') {
                i += 1;
            }
            if i < b.len() && (b[i] == 'e' || b[i] == 'E') {
                i += 1;
                if i < b.len() && (b[i] == '+' || b[i] == '-') {
                    i += 1;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            kind = TokenKind::Number(text_of(start, i));
        } else if c == '@' || c == '#' || c.is_alphabetic() || c == '_' {
            i += 1;
            while i < b.len() && (b[i].is_alphanumeric() || matches!(b[i], '_' | '@' | '#' | '$')) {
                i += 1;
            }
            let w = text_of(start, i);
            if w.chars().count() > 128 {
                return Err(SyntaxError::custom(
                    103,
                    format!(
                        "The identifier that starts with '{}' is too long. Maximum length is 128.",
                        w.chars().take(128).collect::<String>()
                    ),
                    start_line,
                ));
            }
            kind = if c == '@' {
                TokenKind::Variable(w)
            } else {
                TokenKind::Ident(w)
            };
        } else {
            let rest: String = b[i..(i + 2).min(b.len())].iter().collect();
            let sym = SYMBOLS.iter().find(|s| rest.starts_with(**s));
            match sym {
                Some(s) => {
                    i += s.len();
                    kind = TokenKind::Symbol(s);
                }
                None => {
                    return Err(SyntaxError::custom(
                        102,
                        format!("Incorrect syntax near '{c}'."),
                        line,
                    ));
                }
            }
        }
        out.push(Token {
            kind,
            text: text_of(start, i),
            line: start_line,
            offset: offs[start],
        });
    }
    out.push(Token {
        kind: TokenKind::Eof,
        text: String::new(),
        line,
        offset: src.len(),
    });
    Ok(out)
}

/// SQL Server's reserved keywords (they need brackets to be used as names).
pub fn is_reserved(w: &str) -> bool {
    const R: &[&str] = &[
        "ADD",
        "ALL",
        "ALTER",
        "AND",
        "ANY",
        "AS",
        "ASC",
        "AUTHORIZATION",
        "BACKUP",
        "BEGIN",
        "BETWEEN",
        "BREAK",
        "BROWSE",
        "BULK",
        "BY",
        "CASCADE",
        "CASE",
        "CHECK",
        "CHECKPOINT",
        "CLOSE",
        "CLUSTERED",
        "COALESCE",
        "COLLATE",
        "COLUMN",
        "COMMIT",
        "COMPUTE",
        "CONSTRAINT",
        "CONTAINS",
        "CONTAINSTABLE",
        "CONTINUE",
        "CONVERT",
        "CREATE",
        "CROSS",
        "CURRENT",
        "CURRENT_DATE",
        "CURRENT_TIME",
        "CURRENT_TIMESTAMP",
        "CURRENT_USER",
        "CURSOR",
        "DATABASE",
        "DBCC",
        "DEALLOCATE",
        "DECLARE",
        "DEFAULT",
        "DELETE",
        "DENY",
        "DESC",
        "DISK",
        "DISTINCT",
        "DISTRIBUTED",
        "DOUBLE",
        "DROP",
        "DUMP",
        "ELSE",
        "END",
        "ERRLVL",
        "ESCAPE",
        "EXCEPT",
        "EXEC",
        "EXECUTE",
        "EXISTS",
        "EXIT",
        "EXTERNAL",
        "FETCH",
        "FILE",
        "FILLFACTOR",
        "FOR",
        "FOREIGN",
        "FREETEXT",
        "FREETEXTTABLE",
        "FROM",
        "FULL",
        "FUNCTION",
        "GOTO",
        "GRANT",
        "GROUP",
        "HAVING",
        "HOLDLOCK",
        "IDENTITY",
        "IDENTITY_INSERT",
        "IDENTITYCOL",
        "IF",
        "IN",
        "INDEX",
        "INNER",
        "INSERT",
        "INTERSECT",
        "INTO",
        "IS",
        "JOIN",
        "KEY",
        "KILL",
        "LEFT",
        "LIKE",
        "LINENO",
        "LOAD",
        "MERGE",
        "NATIONAL",
        "NOCHECK",
        "NONCLUSTERED",
        "NOT",
        "NULL",
        "NULLIF",
        "OF",
        "OFF",
        "OFFSETS",
        "ON",
        "OPEN",
        "OPENDATASOURCE",
        "OPENQUERY",
        "OPENROWSET",
        "OPENXML",
        "OPTION",
        "OR",
        "ORDER",
        "OUTER",
        "OVER",
        "PERCENT",
        "PIVOT",
        "PLAN",
        "PRECISION",
        "PRIMARY",
        "PRINT",
        "PROC",
        "PROCEDURE",
        "PUBLIC",
        "RAISERROR",
        "READ",
        "READTEXT",
        "RECONFIGURE",
        "REFERENCES",
        "REPLICATION",
        "RESTORE",
        "RESTRICT",
        "RETURN",
        "REVERT",
        "REVOKE",
        "RIGHT",
        "ROLLBACK",
        "ROWCOUNT",
        "ROWGUIDCOL",
        "RULE",
        "SAVE",
        "SCHEMA",
        "SECURITYAUDIT",
        "SELECT",
        "SESSION_USER",
        "SET",
        "SETUSER",
        "SHUTDOWN",
        "SOME",
        "STATISTICS",
        "SYSTEM_USER",
        "TABLE",
        "TABLESAMPLE",
        "TEXTSIZE",
        "THEN",
        "TO",
        "TOP",
        "TRAN",
        "TRANSACTION",
        "TRIGGER",
        "TRUNCATE",
        "TRY_CONVERT",
        "TSEQUAL",
        "UNION",
        "UNIQUE",
        "UNPIVOT",
        "UPDATE",
        "UPDATETEXT",
        "USE",
        "USER",
        "VALUES",
        "VARYING",
        "VIEW",
        "WAITFOR",
        "WHEN",
        "WHERE",
        "WHILE",
        "WITH",
        "WRITETEXT",
    ];
    R.iter().any(|r| r.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokenKind> {
        tokenize(s).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn strings_handle_doubled_quotes_and_the_n_prefix() {
        assert_eq!(
            kinds("N'it''s' 'a'"),
            vec![
                TokenKind::Str {
                    text: "it's".into(),
                    unicode: true
                },
                TokenKind::Str {
                    text: "a".into(),
                    unicode: false
                },
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn brackets_escape_closing_brackets() {
        assert_eq!(
            kinds("[a]]b] \"c\"\"d\""),
            vec![
                TokenKind::QuotedIdent("a]b".into()),
                TokenKind::QuotedIdent("c\"d".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn comments_nest_and_lines_are_counted() {
        let t = tokenize("/* a /* b */ c */ -- x\nSELECT\n  1").unwrap();
        assert_eq!(t[0].kind, TokenKind::Ident("SELECT".into()));
        assert_eq!(t[0].line, 2);
        assert_eq!(t[1].line, 3);
    }

    #[test]
    fn unclosed_things_are_sql_server_errors() {
        assert_eq!(tokenize("SELECT 'abc").unwrap_err().number, 105);
        assert_eq!(tokenize("/* /* */").unwrap_err().number, 113);
    }

    #[test]
    fn symbols_variables_and_binary() {
        assert_eq!(
            kinds("@p1<>@@VERSION 0xA1f"),
            vec![
                TokenKind::Variable("@p1".into()),
                TokenKind::Symbol("<>"),
                TokenKind::Variable("@@VERSION".into()),
                TokenKind::Binary(vec![0x0a, 0x1f]),
                TokenKind::Eof
            ]
        );
    }
}
