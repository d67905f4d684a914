//! Steps 8 and 9 of Microsoft's procedure: copy the backup to the medium and verify the
//! copy. Written as a temporary file, fsynced, renamed, the folder fsynced; read back past
//! the page cache and hashed. Nothing is ever overwritten.

use crate::error::{ErrorCode, KeysafeError, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct VerifiedCopy {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

fn medium_error(e: std::io::Error, what: &str, dest: &Path) -> KeysafeError {
    let gone = matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::EIO) | Some(libc::ENODEV) | Some(libc::ENXIO)
    ) || !dest.exists();
    if gone {
        KeysafeError::new(ErrorCode::MediumRemoved, format!("The backup medium went away while {what} ({e})."))
            .next("Reinsert the medium and run the copy again: the backup on the server is untouched and nothing half-written is kept.")
    } else if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC)
    {
        KeysafeError::new(ErrorCode::Io, format!("The backup medium is full ({e})."))
    } else {
        KeysafeError::new(
            ErrorCode::Io,
            format!("Cannot write to the backup medium while {what}: {e}"),
        )
    }
}

/// Writes `bytes` as `dir/name`, refusing to replace anything.
pub fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    if name.contains(['/', '\\']) || name.is_empty() || name == "." || name == ".." {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            format!("'{name}' is not a file name"),
        ));
    }
    let final_path = dir.join(name);
    if final_path.exists() {
        return Err(KeysafeError::new(ErrorCode::FileExists, format!("{} already exists on the medium.", final_path.display()))
            .next("Keysafe never overwrites a copy: choose another folder or keep both by renaming the old one."));
    }
    let tmp = dir.join(format!(".{name}.keysafe-partial"));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        // rename would replace a file created meanwhile: link+unlink never does.
        std::fs::hard_link(&tmp, &final_path)?;
        std::fs::remove_file(&tmp)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists && final_path.exists() {
            return Err(KeysafeError::new(
                ErrorCode::FileExists,
                format!(
                    "{} appeared on the medium during the copy.",
                    final_path.display()
                ),
            ));
        }
        return Err(medium_error(e, "copying", dir));
    }
    Ok(final_path)
}

/// Reads a file back, bypassing the page cache where the platform allows, and hashes it.
pub fn read_back(path: &Path) -> Result<VerifiedCopy> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| medium_error(e, "reading the copy back", path.parent().unwrap_or(path)))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // Drop cached pages so the read comes from the device.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let k = f
            .read(&mut buf)
            .map_err(|e| medium_error(e, "reading the copy back", path.parent().unwrap_or(path)))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok(VerifiedCopy {
        path: path.to_path_buf(),
        bytes: n,
        sha256: hex::encode_upper(h.finalize()),
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_written_once_and_reads_back_identically() {
        let d = tempfile::tempdir().unwrap();
        let p = write_new(d.path(), "smk.key", b"key bytes").unwrap();
        let v = read_back(&p).unwrap();
        assert_eq!(v.sha256, sha256_hex(b"key bytes"));
        assert_eq!(v.bytes, 9);
        let e = write_new(d.path(), "smk.key", b"other").unwrap_err();
        assert_eq!(e.code, ErrorCode::FileExists);
        assert_eq!(std::fs::read(&p).unwrap(), b"key bytes");
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no partial file left"
        );
    }

    #[test]
    fn a_missing_medium_is_named_as_such() {
        let d = tempfile::tempdir().unwrap();
        let gone = d.path().join("unplugged");
        let e = write_new(&gone, "smk.key", b"x").unwrap_err();
        assert_eq!(e.code, ErrorCode::MediumRemoved);
        assert!(write_new(d.path(), "../escape", b"x").is_err());
    }
}
