//! Replacing a file durably, for the files people approve or edit through a command
//! (plans, journals, approvals, a cosigner's config after a re-pin).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Replace `path` with `bytes` durably: a temporary file, flushed, renamed over it, and
/// the directory flushed. A crash leaves the old file or the new one, never a mix.
pub fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_durable_mode(path, bytes, 0o666)
}

/// [`write_durable`] for a file only its owner may read (keys, sign states): mode 0600.
pub fn write_private_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_durable_mode(path, bytes, 0o600)
}

fn write_durable_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
