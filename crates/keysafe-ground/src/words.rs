//! How Keysafe says things, the same in the app, the CLI and the reports.

/// "1 key", "7 keys": a count with its noun, as every page Keysafe writes says it.
pub fn count(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}
