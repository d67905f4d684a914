//! The engine's floors, enforced. The ground floor is a crate of its own (`keysafe-ground`),
//! so the compiler refuses any import from it upwards; above it, each module of
//! keysafe-core has a floor here and may import only from floors below its own: never from
//! its own floor, never from above. A new module fails this test until it is given a floor
//! (docs/architecture.md says which).

use std::collections::BTreeMap;

/// Floor by floor, bottom up (the ground crate is below all of them).
const FLOORS: &[&[&str]] = &[
    // What a key and its backup are, the custody of its password, the saved connections.
    &["backup", "custody", "profiles"],
    // The history, the proof a backup restores, the medium's check and certificate copies.
    &["history", "restore_check", "recovery"],
    // What a run leaves and what the keys' states are.
    &["report", "status"],
    // Reading the records: coverage, the evidence pack; a restore; a schedule.
    &["coverage", "evidence", "restore", "schedule"],
    // The workflows: a backup run, the recovery drill, key parity and coverage across a group.
    &["run", "drill", "parity"],
    // The self-test, which exercises everything; a certificate's rotation across a group
    // (parity, a backup run, copies).
    &["rotation", "selftest"],
];

/// The ground floor's modules, re-exported by keysafe-core (always below).
const GROUND: &[&str] = &[
    "connection",
    "copy",
    "error",
    "host",
    "inventory",
    "key_encryption",
    "logging",
    "master_key",
    "password",
    "private_fs",
    "protection",
    "query",
    "secret",
    "tsql",
    "volumes",
    "windows",
    "words",
];

fn floor_of() -> BTreeMap<&'static str, usize> {
    FLOORS
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.iter().map(move |m| (*m, i)))
        .collect()
}

/// The `crate::NAME` modules a source file names (its imports and its paths alike, grouped
/// imports `crate::{a, b::c}` too).
fn imports(source: &str) -> Vec<String> {
    let word = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out: Vec<String> = source
        .match_indices("crate::")
        .flat_map(|(i, _)| {
            let rest = &source[i + 7..];
            match rest.strip_prefix('{') {
                // Each item of the group, up to its closing brace (nested groups are rare
                // enough at the top: their first word is still the module).
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(word)
                    .collect::<Vec<_>>(),
                None => vec![word(rest)],
            }
        })
        .filter(|m| m.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn every_module_imports_only_from_the_floors_below_it() {
    let floors = floor_of();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        seen += 1;
        let Some(&mine) = floors.get(name.as_str()) else {
            problems.push(format!(
                "{name} has no floor: add it to FLOORS (and docs/architecture.md)"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        for dep in imports(&text) {
            if dep == name || GROUND.contains(&dep.as_str()) {
                continue;
            }
            match floors.get(dep.as_str()) {
                Some(&theirs) if theirs < mine => {}
                Some(&theirs) => problems.push(format!(
                    "{name} (floor {mine}) imports {dep} (floor {theirs}): a module imports only from floors below its own"
                )),
                None => problems.push(format!("{name} imports {dep}, which has no floor")),
            }
        }
    }
    assert_eq!(
        seen,
        floors.len(),
        "every module of FLOORS is a file of src/"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check itself sees an upward import: a report that imported the run would be caught.
#[test]
fn an_upward_import_is_caught() {
    let found = imports("use crate::run::execute;\nlet x = crate::history::read(p);\nuse crate::{Password, Result};");
    assert_eq!(found, ["history", "run"]);
    let grouped = imports("use crate::{report::count, status, Password};");
    assert_eq!(grouped, ["report", "status"]);
    let floors = floor_of();
    assert!(floors["run"] > floors["report"]);
}
