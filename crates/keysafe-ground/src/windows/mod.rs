//! The Windows layer: protected NTFS ACLs on the backup folder, service SIDs, removable
//! media. The logic (SID derivation, SDDL building and parsing, paths, icacls commands) is
//! plain Rust, tested everywhere; only the system calls live behind `cfg(windows)`.

pub mod paths;
pub mod sddl;
pub mod sid;

#[cfg(windows)]
pub mod acl;

/// Whether this is a Windows program running under Wine, which answers
/// `ntdll.dll!wine_get_version` (Windows has no such export). Wine keeps no DACLs, and its
/// SChannel differs (see the README, "Windows"): reports and tests say so. Always false
/// off Windows.
pub fn under_wine() -> bool {
    #[cfg(windows)]
    {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
        // SAFETY: both names are NUL-terminated literals; GetProcAddress only reads them.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }
    #[cfg(not(windows))]
    false
}
