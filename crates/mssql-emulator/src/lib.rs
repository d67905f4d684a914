//! mssql-emulator: see the crate README.
pub mod engine;
pub mod sql;
pub mod tds;
pub mod value;
