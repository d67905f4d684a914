//! SQL Server's built-in scalar functions that the emulator has, one file per family, and
//! the table that finds a function's family by its name. A name no family has is SQL
//! Server's own error for an unknown function (Msg 195).

use super::*;

mod crypto;
mod dates;
mod logic;
mod metadata;
mod security;
mod strings;

type Builtin = fn(&Ctx, &Scope, &str, &[Expr]) -> Res<TV>;

/// Each family: its name, the functions it has, and what evaluates them.
const FAMILIES: &[(&str, &[&str], Builtin)] = &[
    ("metadata", metadata::NAMES, metadata::call),
    ("security", security::NAMES, security::call),
    ("crypto", crypto::NAMES, crypto::call),
    ("strings", strings::NAMES, strings::call),
    ("logic", logic::NAMES, logic::call),
    ("dates", dates::NAMES, dates::call),
];

/// Evaluates a built-in function (`sys.` and `dbo.` prefixes allowed, any case).
pub(super) fn call(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    let upper = name.to_uppercase();
    let name = upper
        .strip_prefix("SYS.")
        .or_else(|| upper.strip_prefix("DBO."))
        .unwrap_or(&upper);
    match FAMILIES.iter().find(|(_, names, _)| names.contains(&name)) {
        Some((_, _, f)) => f(ctx, scope, name, args),
        None => Err(messages::unknown_function(&name.to_lowercase()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::FAMILIES;

    #[test]
    fn every_function_belongs_to_exactly_one_family() {
        let mut all: Vec<&str> = FAMILIES
            .iter()
            .flat_map(|(_, n, _)| n.iter().copied())
            .collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "a name is in two families");
        assert!(all.contains(&"HASHBYTES") && all.contains(&"CERTPRIVATEKEY"));
    }
}
