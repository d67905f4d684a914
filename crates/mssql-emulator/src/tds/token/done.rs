//! DONE, DONEPROC and DONEINPROC (MS-TDS 2.2.7.6-8): the end of a statement, a procedure, or a
//! statement inside one, with its status flags and row count.

use super::{Encode, TokenType};

bitflags::bitflags! {
    /// DONE's Status (MS-TDS 2.2.7.6); none set is DONE_FINAL.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DoneStatus: u16 {
        /// More results follow.
        const MORE = 0x0001;
        /// The statement failed.
        const ERROR = 0x0002;
        /// A transaction is in progress.
        const INXACT = 0x0004;
        /// The row count is valid.
        const COUNT = 0x0010;
        /// The acknowledgement of an attention (cancel).
        const ATTN = 0x0020;
        /// A server error made the rest of the batch meaningless.
        const SRVERROR = 0x0100;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneKind {
    Done,
    DoneProc,
    DoneInProc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub kind: DoneKind,
    pub status: DoneStatus,
    /// The token of the current command (0xC1 SELECT, 0xE0 EXECUTE, ...).
    pub curcmd: u16,
    pub rows: u64,
}

impl Done {
    pub fn new(kind: DoneKind, status: DoneStatus, curcmd: u16, rows: u64) -> Self {
        Done {
            kind,
            status,
            curcmd,
            rows,
        }
    }
}

impl Encode for Done {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.push(match self.kind {
            DoneKind::Done => TokenType::Done,
            DoneKind::DoneProc => TokenType::DoneProc,
            DoneKind::DoneInProc => TokenType::DoneInProc,
        } as u8);
        buf.extend_from_slice(&self.status.bits().to_le_bytes());
        buf.extend_from_slice(&self.curcmd.to_le_bytes());
        buf.extend_from_slice(&self.rows.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_done_is_thirteen_bytes_with_its_flags_little_endian() {
        let mut b = Vec::new();
        Done::new(
            DoneKind::DoneInProc,
            DoneStatus::MORE | DoneStatus::COUNT,
            0xC1,
            3,
        )
        .encode(&mut b);
        assert_eq!(b, [0xFF, 0x11, 0x00, 0xC1, 0x00, 3, 0, 0, 0, 0, 0, 0, 0]);
    }
}
