//! One file per command: each reads its arguments, calls the engine and prints what it decided.

pub(crate) mod backup;
pub(crate) mod check_medium;
pub(crate) mod copy_certificate;
pub(crate) mod coverage;
pub(crate) mod drill;
pub(crate) mod evidence;
pub(crate) mod group;
pub(crate) mod history;
pub(crate) mod inventory;
pub(crate) mod parity;
pub(crate) mod profile;
pub(crate) mod repair_master_key;
pub(crate) mod restore;
pub(crate) mod rotate;
pub(crate) mod schedule;
pub(crate) mod selftest;
pub(crate) mod status;
