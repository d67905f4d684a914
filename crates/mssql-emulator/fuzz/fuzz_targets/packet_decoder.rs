//! Everything a client's bytes go through before the SQL engine: packet framing,
//! PRELOGIN, LOGIN7, SQL_BATCH and RPC decoding. None of it may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mssql_emulator::tds::{login7, packet::MessageAssembler, prelogin, rpc};

fuzz_target!(|data: &[u8]| {
    let mut asm = MessageAssembler::new(1 << 20);
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let len = u16::from_be_bytes([data[pos + 2], data[pos + 3]]) as usize;
        let end = (pos + len.max(8)).min(data.len());
        match asm.push(&data[pos..end]) {
            Ok(Some(m)) => {
                let _ = prelogin::decode(&m.payload);
                let _ = login7::decode(&m.payload);
                let _ = rpc::decode_batch(&m.payload);
                let _ = rpc::decode_rpc(&m.payload);
            }
            Ok(None) => {}
            Err(_) => break,
        }
        pos = end;
    }
    let _ = prelogin::decode(data);
    let _ = login7::decode(data);
    let _ = rpc::decode_rpc(data);
});
