//! RETURNVALUE (MS-TDS 2.2.7.18): an output parameter's value, such as the handle
//! sp_prepexec and sp_prepare hand back.

use super::{Encode, TokenType};
use crate::tds::put_b_varchar;
use crate::tds::types::{put_type_info, put_value};
use crate::value::{SqlType, Value};

#[derive(Debug, Clone)]
pub struct ReturnValue<'a> {
    pub ordinal: u16,
    /// The parameter's name with its '@'.
    pub name: &'a str,
    pub ty: &'a SqlType,
    pub value: &'a Value,
}

impl Encode for ReturnValue<'_> {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.push(TokenType::ReturnValue as u8);
        buf.extend_from_slice(&self.ordinal.to_le_bytes());
        put_b_varchar(buf, self.name);
        buf.push(0x01); // Status: an output parameter
        buf.extend_from_slice(&0u32.to_le_bytes()); // UserType
        buf.extend_from_slice(&0x0001u16.to_le_bytes()); // Flags: nullable
        put_type_info(buf, self.ty);
        put_value(buf, self.ty, self.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_int_handle_is_encoded_as_the_spec_lays_it_out() {
        let mut buf = Vec::new();
        ReturnValue {
            ordinal: 0,
            name: "@handle",
            ty: &SqlType::Int,
            value: &Value::Int(7),
        }
        .encode(&mut buf);
        let mut want = vec![0xAC, 0, 0, 7];
        want.extend("@handle".encode_utf16().flat_map(|u| u.to_le_bytes()));
        want.extend([1, 0, 0, 0, 0, 1, 0]);
        // INTN(4) and its value, as put_type_info and put_value write an int
        let mut tail = Vec::new();
        put_type_info(&mut tail, &SqlType::Int);
        put_value(&mut tail, &SqlType::Int, &Value::Int(7));
        want.extend(tail);
        assert_eq!(buf, want);
    }
}
