//! ROW (MS-TDS 2.2.7.19): one row of values, in the types COLMETADATA declared.

use super::{Column, Encode, TokenType};
use crate::tds::types::put_value;
use crate::value::Value;

#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub cols: &'a [Column],
    pub values: &'a [Value],
}

impl Encode for Row<'_> {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.push(TokenType::Row as u8);
        for (c, v) in self.cols.iter().zip(self.values) {
            put_value(buf, &c.ty, v);
        }
    }
}
