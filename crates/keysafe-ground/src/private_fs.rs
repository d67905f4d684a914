//! Files and folders only this account may read: KEYSAFE_HOME (profiles, history, logs,
//! reports) and the copies on a medium. On Unix, folders Keysafe creates are 0700 and files
//! 0600 whatever the umask; on Windows they inherit the folder's DACL (a medium folder's
//! protection is the run's own step).

use std::io;
use std::path::Path;

/// `create_dir_all`, with every folder it creates private to this account on Unix. Folders
/// that exist already are left as they are (a medium's root is the administrator's).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Options for a new file private to this account on Unix (0600).
pub fn new_file() -> std::fs::OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut o = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Replaces `path` with `bytes` as a whole: written to a private file beside it (its folder
/// created private if missing), then renamed over it, so a reader never sees half a file.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir_all(d)?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    {
        let mut f = new_file()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
    }
    std::fs::rename(&tmp, path)
}

/// A folder Keysafe names in its reports and history must be text those can hold: a path
/// that is not valid Unicode is refused before anything is sent or written.
pub fn require_unicode(path: &Path, what: &str) -> crate::Result<()> {
    if path.to_str().is_some() {
        return Ok(());
    }
    Err(crate::KeysafeError::new(
        crate::ErrorCode::InvalidInput,
        format!(
            "The {what} {} is not valid Unicode: its name cannot be written into the report and the history.",
            path.display()
        ),
    )
    .next(format!("Choose a {what} whose name is valid text (rename the folder, or use another).")))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn new_folders_and_files_are_this_accounts_only_whatever_the_umask() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("a").join("b");
        super::create_dir_all(&dir).unwrap();
        for p in [d.path().join("a"), dir.clone()] {
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o700,
                "{p:?}"
            );
        }
        let f = dir.join("f");
        super::new_file()
            .write(true)
            .create_new(true)
            .open(&f)
            .unwrap();
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
