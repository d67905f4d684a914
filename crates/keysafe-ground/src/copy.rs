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
    let gone = device_gone(e.raw_os_error()) || !dest.exists();
    if gone {
        KeysafeError::new(ErrorCode::MediumRemoved, format!("The backup medium went away while {what} ({e})."))
            .next("Reinsert the medium and run the copy again: the backup on the server is untouched and nothing half-written is kept.")
    } else if e.kind() == std::io::ErrorKind::StorageFull || disk_full(e.raw_os_error()) {
        KeysafeError::new(ErrorCode::Io, format!("The backup medium is full ({e})."))
    } else {
        KeysafeError::new(
            ErrorCode::Io,
            format!("Cannot write to the backup medium while {what}: {e}"),
        )
    }
}

/// The OS error codes that mean the medium is no longer there (pulled out, unmounted).
#[cfg(not(windows))]
fn device_gone(code: Option<i32>) -> bool {
    matches!(
        code,
        Some(libc::ENOENT | libc::EIO | libc::ENODEV | libc::ENXIO)
    )
}

/// ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND, ERROR_NOT_READY (no medium in the drive),
/// ERROR_DEV_NOT_EXIST, ERROR_DEVICE_NOT_CONNECTED, ERROR_NO_SUCH_DEVICE.
#[cfg(windows)]
fn device_gone(code: Option<i32>) -> bool {
    matches!(code, Some(2 | 3 | 21 | 55 | 1167 | 433))
}

#[cfg(not(windows))]
fn disk_full(code: Option<i32>) -> bool {
    code == Some(libc::ENOSPC)
}

/// ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL.
#[cfg(windows)]
fn disk_full(code: Option<i32>) -> bool {
    matches!(code, Some(39 | 112))
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
        let mut f = crate::private_fs::new_file()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        // rename would replace a file created meanwhile: link+unlink never does.
        std::fs::hard_link(&tmp, &final_path)?;
        std::fs::remove_file(&tmp)?;
        sync_dir(dir)
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

/// Makes the new name durable. NTFS journals the link itself and Windows cannot open a
/// folder as a file without backup semantics, so only POSIX systems sync the folder.
#[cfg(not(windows))]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(windows)]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// One read of the read-back, sector-aligned in address and length: unbuffered I/O on
/// Windows (FILE_FLAG_NO_BUFFERING) demands both, for any sector size up to 4 KiB.
#[repr(C, align(4096))]
struct Sector([u8; 4096]);

const READ_SECTORS: usize = 16;

/// A 64 KiB buffer whose address and length are multiples of 4096.
struct AlignedBuffer(Vec<Sector>);

impl AlignedBuffer {
    fn new() -> Self {
        AlignedBuffer((0..READ_SECTORS).map(|_| Sector([0; 4096])).collect())
    }
    fn bytes(&mut self) -> &mut [u8] {
        let n = self.0.len() * std::mem::size_of::<Sector>();
        // SAFETY: Sector is repr(C) around a byte array with no padding (4096 is a multiple of
        // its alignment), so the Vec's storage is n initialised, contiguous bytes.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), n) }
    }
}

/// Opens the copy so that reads come from the device, not from a cache.
#[cfg(target_os = "linux")]
fn open_uncached(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path)?;
    // Drop cached pages so the read comes from the device.
    unsafe {
        libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
    Ok(f)
}

#[cfg(windows)]
fn open_uncached(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_FLAG_NO_BUFFERING: u32 = 0x2000_0000;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(FILE_FLAG_NO_BUFFERING)
        .open(path)
}

#[cfg(not(any(target_os = "linux", windows)))]
fn open_uncached(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// Reads a file back, bypassing the page cache where the platform allows, and hashes it.
pub fn read_back(path: &Path) -> Result<VerifiedCopy> {
    let err = |e| medium_error(e, "reading the copy back", path.parent().unwrap_or(path));
    let mut f = open_uncached(path).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = AlignedBuffer::new();
    let buf = buf.bytes();
    // Stop at the length rather than at a zero-length read: after the short read of the
    // last sector the file offset is no longer aligned, and an unbuffered read there fails.
    let len = f.metadata().map_err(err)?.len();
    let mut n = 0u64;
    while n < len {
        let k = f.read(buf).map_err(err)?;
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
    fn the_read_back_buffer_is_sector_aligned_in_address_and_length() {
        let mut b = AlignedBuffer::new();
        let bytes = b.bytes();
        assert_eq!(bytes.as_ptr() as usize % 4096, 0);
        assert_eq!(bytes.len(), 64 * 1024);
    }

    #[test]
    fn a_copy_longer_than_the_buffer_with_a_partial_last_sector_reads_back_whole() {
        let d = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_003u32).map(|i| (i * 7 % 251) as u8).collect();
        let p = write_new(d.path(), "big.key", &data).unwrap();
        let v = read_back(&p).unwrap();
        assert_eq!(v.bytes, data.len() as u64);
        assert_eq!(v.sha256, sha256_hex(&data));
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
