//! The T-SQL lexer and parser on arbitrary text: errors are fine, panics are not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for version in [13u8, 16] {
            let _ = mssql_emulator::sql::parse_batch(text, version);
        }
        let _ = mssql_emulator::sql::parser::parse_expression(text);
    }
});
