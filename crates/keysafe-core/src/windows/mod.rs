//! The Windows layer: protected NTFS ACLs on the backup folder, service SIDs, removable
//! media. The logic (SID derivation, SDDL building and parsing, paths, icacls commands) is
//! plain Rust, tested everywhere; only the system calls live behind `cfg(windows)`.

pub mod paths;
pub mod sddl;
pub mod sid;

#[cfg(windows)]
pub mod acl;
