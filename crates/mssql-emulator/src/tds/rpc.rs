//! Client requests carried in SQL_BATCH and RPC messages (MS-TDS 2.2.6.6-2.2.6.7).

use super::types::{read_typed_value, TypedValue};
use super::{invalid, ProtocolError, Reader};

/// Skips ALL_HEADERS (TDS 7.2+) and returns the transaction descriptor if present.
fn skip_all_headers(r: &mut Reader) -> Result<Option<u64>, ProtocolError> {
    let start = r.pos();
    let total = r.u32()? as usize;
    if total < 4 || total - 4 > r.remaining() {
        return Err(invalid("ALL_HEADERS", format!("length {total}")));
    }
    let mut tx = None;
    while r.pos() - start < total {
        let len = r.u32()? as usize;
        if len < 6 || len - 4 > r.remaining() {
            return Err(invalid("ALL_HEADERS header", format!("length {len}")));
        }
        let ty = r.u16()?;
        let data = r.take(len - 6)?;
        if ty == 2 && data.len() >= 8 {
            tx = Some(u64::from_le_bytes(data[0..8].try_into().unwrap()));
        }
    }
    Ok(tx)
}

/// The text of a SQL_BATCH.
pub fn decode_batch(payload: &[u8]) -> Result<String, ProtocolError> {
    let mut r = Reader::new(payload, "SQL_BATCH");
    // ALL_HEADERS is mandatory from TDS 7.2; tolerate its absence as old clients do.
    let has_headers = payload.len() >= 4 && {
        let n = u32::from_le_bytes(payload[0..4].try_into().unwrap()) as usize;
        n >= 4 && n <= payload.len() && (n - 4).is_multiple_of(2) && n >= 18
    };
    if has_headers {
        skip_all_headers(&mut r)?;
    }
    super::decode_utf16(r.rest(), "SQL_BATCH text")
}

#[derive(Debug, Clone, PartialEq)]
pub struct RpcParam {
    pub name: String,
    pub output: bool,
    pub value: TypedValue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RpcCall {
    /// Either a well-known procedure id (10 = sp_executesql) or a name.
    pub proc_id: Option<u16>,
    pub proc_name: Option<String>,
    pub params: Vec<RpcParam>,
}

impl RpcCall {
    /// The procedure as SQL Server names it.
    pub fn name(&self) -> String {
        match (self.proc_id, &self.proc_name) {
            (_, Some(n)) => n.clone(),
            (Some(1), _) => "sp_cursor".into(),
            (Some(2), _) => "sp_cursoropen".into(),
            (Some(10), _) => "sp_executesql".into(),
            (Some(11), _) => "sp_prepare".into(),
            (Some(12), _) => "sp_execute".into(),
            (Some(13), _) => "sp_prepexec".into(),
            (Some(15), _) => "sp_unprepare".into(),
            (Some(id), _) => format!("procedure id {id}"),
            (None, None) => String::new(),
        }
    }
}

/// Decodes an RPC message. Only one call per message is supported (batched RPCs are rare
/// and none of our clients send them); trailing calls are an error, not silently dropped.
pub fn decode_rpc(payload: &[u8]) -> Result<RpcCall, ProtocolError> {
    let mut r = Reader::new(payload, "RPC");
    skip_all_headers(&mut r)?;
    let name_len = r.u16()?;
    let (proc_id, proc_name) = if name_len == 0xFFFF {
        (Some(r.u16()?), None)
    } else {
        (None, Some(r.utf16(name_len as usize)?))
    };
    let _flags = r.u16()?;
    let mut params = Vec::new();
    while r.remaining() > 0 {
        let b = r.rest()[0];
        if b == 0x80 || b == 0xFF || b == 0xFE {
            return Err(invalid("RPC", "batched RPC calls are not supported"));
        }
        let name = r.b_varchar()?;
        let status = r.u8()?;
        let value = read_typed_value(&mut r)?;
        params.push(RpcParam {
            name,
            output: status & 1 != 0,
            value,
        });
        if params.len() > 2100 {
            return Err(invalid("RPC", "more than 2100 parameters"));
        }
    }
    Ok(RpcCall {
        proc_id,
        proc_name,
        params,
    })
}
