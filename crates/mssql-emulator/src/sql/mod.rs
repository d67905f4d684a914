//! T-SQL: a real lexer and a recursive-descent parser for the statements Keysafe needs.
//! Anything else is answered with SQL Server's own error for it.

pub mod ast;
pub mod keyword;
pub mod lexer;
pub mod parser;

pub use parser::parse_batch;

/// A compile-time error: the whole batch is rejected before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub number: i32,
    pub state: u8,
    pub class: u8,
    pub text: String,
    pub line: u32,
}

impl SyntaxError {
    pub fn near(tok: &lexer::Token) -> Self {
        let (number, text) = match &tok.kind {
            lexer::TokenKind::Eof => (102, "Incorrect syntax near ''.".to_string()),
            lexer::TokenKind::Ident(w) if lexer::is_reserved(w) => (
                156,
                format!("Incorrect syntax near the keyword '{}'.", w.to_uppercase()),
            ),
            _ => (102, format!("Incorrect syntax near '{}'.", tok.text)),
        };
        SyntaxError {
            number,
            state: 1,
            class: 15,
            text,
            line: tok.line,
        }
    }

    pub fn custom(number: i32, text: impl Into<String>, line: u32) -> Self {
        SyntaxError {
            number,
            state: 1,
            class: 15,
            text: text.into(),
            line,
        }
    }
}
