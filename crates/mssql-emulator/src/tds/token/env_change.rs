//! ENVCHANGE (MS-TDS 2.2.7.9): the session's environment changed.

use super::{with_len16, Encode, TokenType};
use crate::tds::put_b_varchar;
use crate::tds::types::COLLATION;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvChange {
    /// Type 1: USE.
    Database {
        new: String,
        old: String,
    },
    /// Type 2: SET LANGUAGE.
    Language {
        new: String,
    },
    /// Type 4: the negotiated packet size.
    PacketSize {
        new: usize,
        old: usize,
    },
    /// Type 7: the SQL collation.
    Collation,
    /// Types 8, 9, 10: a transaction began, committed or rolled back.
    BeginTransaction(u64),
    CommitTransaction(u64),
    RollbackTransaction(u64),
}

impl Encode for EnvChange {
    fn encode(&self, buf: &mut Vec<u8>) {
        with_len16(buf, TokenType::EnvChange, |b| match self {
            EnvChange::Database { new, old } => {
                b.push(1);
                put_b_varchar(b, new);
                put_b_varchar(b, old);
            }
            EnvChange::Language { new } => {
                b.push(2);
                put_b_varchar(b, new);
                put_b_varchar(b, "");
            }
            EnvChange::PacketSize { new, old } => {
                b.push(4);
                put_b_varchar(b, &new.to_string());
                put_b_varchar(b, &old.to_string());
            }
            EnvChange::Collation => {
                b.push(7);
                b.push(COLLATION.len() as u8);
                b.extend_from_slice(&COLLATION);
                b.push(0);
            }
            EnvChange::BeginTransaction(d) => {
                b.push(8);
                b.push(8);
                b.extend_from_slice(&d.to_le_bytes());
                b.push(0);
            }
            EnvChange::CommitTransaction(d) | EnvChange::RollbackTransaction(d) => {
                b.push(if matches!(self, EnvChange::CommitTransaction(_)) {
                    9
                } else {
                    10
                });
                b.push(0);
                b.push(8);
                b.extend_from_slice(&d.to_le_bytes());
            }
        });
    }
}
