//! Applying and reading back the backup folder's protected DACL with the Win32 security
//! API, and resolving account names to SIDs.

use super::sddl::{self, backup_folder_dacl};
use super::sid::{self, ADMINISTRATORS, LOCAL_SYSTEM};
use crate::protection::{FolderProtection, ProtectionOutcome};
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW, ConvertSidToStringSidW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW,
    SetNamedSecurityInfoW, SDDL_REVISION_1, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    GetSecurityDescriptorDacl, LookupAccountNameW, ACL, DACL_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SID_NAME_USE,
};

fn wide(s: &std::ffi::OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

unsafe fn from_pwstr(p: *const u16) -> String {
    let mut n = 0;
    while *p.add(n) != 0 {
        n += 1;
    }
    String::from_utf16_lossy(std::slice::from_raw_parts(p, n))
}

/// LookupAccountNameW, as a string SID.
pub fn lookup_sid(account: &str) -> Option<String> {
    let name = wide(std::ffi::OsStr::new(account));
    let (mut sid_len, mut dom_len, mut use_) = (0u32, 0u32, 0 as SID_NAME_USE);
    unsafe {
        LookupAccountNameW(
            std::ptr::null(),
            name.as_ptr(),
            std::ptr::null_mut(),
            &mut sid_len,
            std::ptr::null_mut(),
            &mut dom_len,
            &mut use_,
        );
        if sid_len == 0 {
            return None;
        }
        let mut sid = vec![0u8; sid_len as usize];
        let mut dom = vec![0u16; dom_len.max(1) as usize];
        if LookupAccountNameW(
            std::ptr::null(),
            name.as_ptr(),
            sid.as_mut_ptr().cast(),
            &mut sid_len,
            dom.as_mut_ptr(),
            &mut dom_len,
            &mut use_,
        ) == 0
        {
            return None;
        }
        let mut s: *mut u16 = std::ptr::null_mut();
        if ConvertSidToStringSidW(sid.as_mut_ptr().cast(), &mut s) == 0 {
            return None;
        }
        let out = from_pwstr(s);
        LocalFree(s.cast());
        Some(out)
    }
}

/// The service's SID: asked of Windows, or derived when the lookup fails (another
/// machine's service, or a service not installed here).
pub fn service_account_sid(account: &str) -> Option<String> {
    lookup_sid(account).or_else(|| sid::service_name(account).map(sid::service_sid))
}

pub fn apply(folder: &Path, sddl_text: &str) -> Result<(), String> {
    let s = wide(std::ffi::OsStr::new(sddl_text));
    let path = wide(folder.as_os_str());
    unsafe {
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        if ConvertStringSecurityDescriptorToSecurityDescriptorW(
            s.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        ) == 0
        {
            return Err(format!("invalid SDDL: {}", std::io::Error::last_os_error()));
        }
        let (mut present, mut defaulted) = (0, 0);
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let ok = GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted);
        let r = if ok == 0 || present == 0 {
            Err("the SDDL has no DACL".to_string())
        } else {
            match SetNamedSecurityInfoW(
                path.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                dacl,
                std::ptr::null(),
            ) {
                0 => Ok(()),
                e => Err(format!(
                    "SetNamedSecurityInfoW failed: {}",
                    std::io::Error::from_raw_os_error(e as i32)
                )),
            }
        };
        LocalFree(sd.cast());
        r
    }
}

/// The folder's DACL as SDDL, read from the file system.
pub fn read(folder: &Path) -> Result<String, String> {
    let path = wide(folder.as_os_str());
    unsafe {
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let e = GetNamedSecurityInfoW(
            path.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        );
        if e != 0 {
            return Err(format!(
                "GetNamedSecurityInfoW failed: {}",
                std::io::Error::from_raw_os_error(e as i32)
            ));
        }
        let mut s: *mut u16 = std::ptr::null_mut();
        let ok = ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &mut s,
            std::ptr::null_mut(),
        );
        let out = if ok == 0 {
            Err(std::io::Error::last_os_error().to_string())
        } else {
            Ok(from_pwstr(s))
        };
        if !s.is_null() {
            LocalFree(s.cast());
        }
        LocalFree(sd.cast());
        out
    }
}

/// The protected DACL on a folder this machine can reach (local or UNC).
pub struct WindowsAcl {
    /// Extra principals, as SIDs or account names (e.g. CONTOSO\SQL01$ for a share).
    pub extra: Vec<String>,
    /// SIDs given read access: the Windows account of a Windows-authenticated login, which
    /// SQL Server reads the backup files as.
    pub readers: Vec<String>,
}

impl FolderProtection for WindowsAcl {
    fn protect(&self, folder: &Path, service_account: Option<&str>) -> ProtectionOutcome {
        let fail = |note: String| ProtectionOutcome {
            applied: false,
            read_back: None,
            note,
        };
        let Some(svc) = service_account.and_then(service_account_sid) else {
            return fail("ACL not applied: the SQL Server service account is unknown (needs VIEW SERVER STATE).".into());
        };
        let mut extra = Vec::new();
        for e in &self.extra {
            match if sid::is_sid(e) {
                Some(e.clone())
            } else {
                lookup_sid(e)
            } {
                Some(s) => extra.push(s),
                None => return fail(format!("ACL not applied: cannot resolve {e} to a SID.")),
            }
        }
        let text = match backup_folder_dacl(&svc, &extra, &self.readers) {
            Ok(t) => t,
            Err(e) => return fail(format!("ACL not applied: {e}")),
        };
        if let Err(e) = std::fs::create_dir_all(folder)
            .map_err(|e| e.to_string())
            .and_then(|_| apply(folder, &text))
        {
            return fail(format!("ACL not applied: {e}"));
        }
        let back = match read(folder) {
            Ok(b) => b,
            Err(e) => return fail(format!("ACL applied but not verified: {e}")),
        };
        let mut expected = vec![LOCAL_SYSTEM.to_string(), ADMINISTRATORS.to_string(), svc];
        expected.extend(extra);
        let problems = sddl::parse(&back)
            .map(|d| sddl::verify(&d, &expected, &self.readers))
            .unwrap_or_else(|e| vec![e.to_string()]);
        let table = sddl::parse(&back)
            .map(|d| {
                sddl::table(&d)
                    .iter()
                    .map(|r| format!("{}: {}, {}", r.principal, r.access, r.applies_to))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        ProtectionOutcome {
            applied: problems.is_empty(),
            read_back: Some(format!("{back} [{table}]")),
            note: if problems.is_empty() {
                "Protected DACL applied and verified".into()
            } else {
                format!("ACL not verified: {}", problems.join("; "))
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_INSTANCE_SID: &str =
        "S-1-5-80-3880718306-3832830129-1677859214-2598158968-1052248003";

    #[test]
    fn the_service_sid_is_the_one_windows_uses_whether_looked_up_or_derived() {
        // Windows knows the service (or derives the same SID); Wine fails the lookup with 1332
        // and the SHA-1 derivation answers.
        assert_eq!(
            service_account_sid(r"NT SERVICE\MSSQLSERVER").as_deref(),
            Some(DEFAULT_INSTANCE_SID)
        );
    }

    #[test]
    fn well_known_accounts_resolve_through_lookup_account_name() {
        assert_eq!(lookup_sid("SYSTEM").as_deref(), Some(LOCAL_SYSTEM));
        assert_eq!(lookup_sid("NoSuchAccountKeysafe").as_deref(), None);
    }

    #[test]
    fn the_verifier_reports_the_dacl_the_file_system_kept_not_the_one_applied() {
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("Keysafe");
        let out = WindowsAcl {
            extra: vec![],
            readers: vec![],
        }
        .protect(&folder, Some(r"NT SERVICE\MSSQLSERVER"));
        let back = read(&folder).expect("the DACL reads back");
        let kept = sddl::parse(&back).expect("the read-back parses");
        assert!(
            out.read_back
                .as_deref()
                .is_some_and(|r| r.starts_with(&back)),
            "the outcome carries what was read back: {out:?}"
        );
        if crate::windows::under_wine() {
            // Wine returns success from SetNamedSecurityInfoW and keeps nothing: what reads
            // back is made up from the Unix mode bits, unprotected. The verifier must say so.
            assert!(
                !kept.protected,
                "Wine does not keep a protected DACL: {back}"
            );
            assert!(!out.applied, "{out:?}");
            assert!(out.note.starts_with("ACL not verified:"), "{}", out.note);
        } else {
            assert!(kept.protected, "{back}");
            assert!(out.applied, "{out:?}");
            assert_eq!(out.note, "Protected DACL applied and verified");
        }
    }
}
