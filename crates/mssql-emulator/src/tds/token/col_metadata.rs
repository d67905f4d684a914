//! COLMETADATA (MS-TDS 2.2.7.4): a result set's columns, their flags and types.

use super::{Encode, TokenType};
use crate::tds::types::put_type_info;
use crate::tds::{put_b_varchar, utf16_len};
use crate::value::SqlType;

bitflags::bitflags! {
    /// A column's Flags (MS-TDS 2.2.7.4); the emulator sets NULLABLE only.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ColumnFlags: u16 {
        const NULLABLE = 0x0001;
        const CASE_SENSITIVE = 0x0002;
        const UPDATEABLE = 0x0008;
        const IDENTITY = 0x0010;
        const COMPUTED = 0x0020;
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

impl Column {
    pub fn flags(&self) -> ColumnFlags {
        if self.nullable {
            ColumnFlags::NULLABLE
        } else {
            ColumnFlags::empty()
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ColMetadata<'a>(pub &'a [Column]);

impl Encode for ColMetadata<'_> {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.push(TokenType::ColMetadata as u8);
        buf.extend_from_slice(&(self.0.len() as u16).to_le_bytes());
        for c in self.0 {
            buf.extend_from_slice(&0u32.to_le_bytes()); // user type
            buf.extend_from_slice(&c.flags().bits().to_le_bytes());
            put_type_info(buf, &c.ty);
            let name: String = c.name.chars().take(128).collect();
            debug_assert!(utf16_len(&name) <= 255);
            put_b_varchar(buf, &name);
        }
    }
}
