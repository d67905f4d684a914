//! What the command files share.

pub(crate) use crate::args::*;
pub(crate) use crate::input::*;
pub(crate) use crate::term;
pub(crate) use keysafe_core::connection::ServerAddress;
pub(crate) use keysafe_core::profiles::{OsKeyring, Profile, Profiles};
pub(crate) use keysafe_core::report::Custody;
pub(crate) use keysafe_core::run::{self, Progress, RunSettings, Selection};
pub(crate) use keysafe_core::{history, inventory, ErrorCode, KeysafeError, Password};
pub(crate) use std::io::IsTerminal;
pub(crate) use std::path::PathBuf;
