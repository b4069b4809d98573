//! Which file systems are network file systems, where a state file must not
//! live: `flock` is not reliable there (two signers on two hosts may both
//! hold the lock) and a flush may not be durable when it returns.
//!
//! The classification is pure ([`network_filesystem`], [`mount_fstype`]);
//! [`check_file`] and [`check_dir`] read the kernel's view of a path.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sys::stat::{major, minor};
use nix::sys::statfs::{fstatfs, statfs, Statfs};

/// `f_type` of FUSE file systems; what is behind them is in `mountinfo`.
pub const FUSE_MAGIC: u64 = 0x6573_5546;

/// `statfs` `f_type` values of network file systems, with their names.
pub const NETWORK_MAGICS: &[(u64, &str)] = &[
    (0x6969, "NFS"),
    (0x517B, "SMB"),
    (0xFF53_4D42, "CIFS"),
    (0xFE53_4D42, "SMB2"),
    (0x00C3_6400, "Ceph"),
    (0x5346_414F, "AFS"),
    (0x6B41_4653, "AFS"),
    (0x0102_1997, "9p"),
    (0x0BD0_0BD0, "Lustre"),
];

/// FUSE subtypes (`fuse.<subtype>` in `mountinfo`) that reach over the
/// network.
pub const NETWORK_FUSE_SUBTYPES: &[&str] = &[
    "sshfs",
    "glusterfs",
    "s3fs",
    "rclone",
    "gcsfuse",
    "cephfs",
    "ceph-fuse",
    "ceph",
    "davfs",
    "davfs2",
    "curlftpfs",
    "goofys",
    "juicefs",
    "moosefs",
    "mfs",
    "lizardfs",
    "blobfuse",
    "blobfuse2",
    "seaweedfs",
    "geesefs",
    "mountpoint-s3",
];

/// The name of the network file system with `statfs` type `f_type`, or None
/// for a local one. `fuse_fstype` is the mount's type from `mountinfo`
/// (for example `fuse.sshfs`); a FUSE mount counts as network only when
/// that names a known network subtype.
pub fn network_filesystem(f_type: u64, fuse_fstype: Option<&str>) -> Option<String> {
    let f_type = f_type & 0xFFFF_FFFF;
    if let Some((_, name)) = NETWORK_MAGICS.iter().find(|(magic, _)| *magic == f_type) {
        return Some((*name).to_owned());
    }
    if f_type != FUSE_MAGIC {
        return None;
    }
    let fstype = fuse_fstype?;
    let subtype = fstype
        .strip_prefix("fuseblk.")
        .or_else(|| fstype.strip_prefix("fuse."))?;
    NETWORK_FUSE_SUBTYPES
        .contains(&subtype)
        .then(|| format!("FUSE {subtype}"))
}

/// The file system type (`fuse.sshfs`, `ext4`, ...) of the mount with device
/// number `major:minor` in the text of `/proc/self/mountinfo`.
pub fn mount_fstype(mountinfo: &str, major: u64, minor: u64) -> Option<String> {
    let dev = format!("{major}:{minor}");
    mountinfo.lines().rev().find_map(|line| {
        let mut fields = line.split(' ');
        if fields.nth(2)? != dev {
            return None;
        }
        let (_, after) = line.split_once(" - ")?;
        after.split(' ').next().map(str::to_owned)
    })
}

/// Why a path is not on a local file system.
#[derive(Debug)]
pub enum Remote {
    /// A network file system, by name.
    Network(String),
    /// The kernel could not be asked.
    Unknown(std::io::Error),
}

/// Checks the file system holding the open `file`.
pub fn check_file(file: &File) -> Result<(), Remote> {
    let fs = fstatfs(file).map_err(|e| Remote::Unknown(e.into()))?;
    let dev = file.metadata().map_err(Remote::Unknown)?.dev();
    classify(&fs, dev)
}

/// Checks the file system holding the directory `dir`.
pub fn check_dir(dir: &Path) -> Result<(), Remote> {
    let fs = statfs(dir).map_err(|e| Remote::Unknown(e.into()))?;
    let dev = std::fs::metadata(dir).map_err(Remote::Unknown)?.dev();
    classify(&fs, dev)
}

fn classify(fs: &Statfs, dev: u64) -> Result<(), Remote> {
    let f_type = fs.filesystem_type().0 as u64;
    let fstype = if f_type & 0xFFFF_FFFF == FUSE_MAGIC {
        std::fs::read_to_string("/proc/self/mountinfo")
            .ok()
            .and_then(|text| mount_fstype(&text, major(dev), minor(dev)))
    } else {
        None
    };
    match network_filesystem(f_type, fstype.as_deref()) {
        Some(name) => Err(Remote::Network(name)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
45 22 0:41 / /mnt/remote rw,nosuid,nodev,relatime shared:20 - fuse.sshfs me@host:/srv rw,user_id=0,group_id=0
46 22 0:42 / /mnt/local\\040fuse rw,relatime shared:21 - fuse.encfs encfs rw
47 22 0:43 / /var/lib/lxcfs rw shared:22 - fuse.lxcfs lxcfs rw
48 22 0:44 / /mnt/nfs rw shared:23 - nfs4 server:/export rw
";

    #[test]
    fn kernel_network_types_are_network() {
        for (magic, name) in NETWORK_MAGICS {
            assert_eq!(network_filesystem(*magic, None).as_deref(), Some(*name));
        }
        // Sign-extended values from a 32-bit f_type still match.
        assert_eq!(
            network_filesystem(0xFFFF_FFFF_FF53_4D42, None).as_deref(),
            Some("CIFS")
        );
    }

    #[test]
    fn local_types_are_local() {
        // ext4, xfs, btrfs, tmpfs, overlayfs, zfs.
        for magic in [
            0xEF53,
            0x5846_5342,
            0x9123_683E,
            0x0102_1994,
            0x794C_7630,
            0x2FC1_2FC1,
        ] {
            assert_eq!(network_filesystem(magic, None), None, "{magic:#x}");
        }
    }

    #[test]
    fn fuse_is_network_only_for_a_network_subtype() {
        for sub in ["sshfs", "glusterfs", "s3fs", "rclone", "gcsfuse", "cephfs"] {
            let fstype = format!("fuse.{sub}");
            assert_eq!(
                network_filesystem(FUSE_MAGIC, Some(&fstype)),
                Some(format!("FUSE {sub}"))
            );
        }
        assert_eq!(network_filesystem(FUSE_MAGIC, Some("fuse.encfs")), None);
        assert_eq!(network_filesystem(FUSE_MAGIC, Some("fuse.lxcfs")), None);
        assert_eq!(network_filesystem(FUSE_MAGIC, Some("fuse")), None);
        assert_eq!(network_filesystem(FUSE_MAGIC, None), None);
        // The subtype only counts on a FUSE mount.
        assert_eq!(network_filesystem(0xEF53, Some("fuse.sshfs")), None);
    }

    #[test]
    fn mountinfo_is_looked_up_by_device() {
        assert_eq!(
            mount_fstype(MOUNTINFO, 0, 41).as_deref(),
            Some("fuse.sshfs")
        );
        assert_eq!(
            mount_fstype(MOUNTINFO, 0, 42).as_deref(),
            Some("fuse.encfs")
        );
        assert_eq!(mount_fstype(MOUNTINFO, 8, 1).as_deref(), Some("ext4"));
        assert_eq!(mount_fstype(MOUNTINFO, 0, 44).as_deref(), Some("nfs4"));
        assert_eq!(mount_fstype(MOUNTINFO, 0, 99), None);
        assert_eq!(mount_fstype("garbage line\n\n", 0, 41), None);
    }

    #[test]
    fn a_local_temporary_directory_is_local() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_dir(dir.path()).is_ok());
        let file = File::create(dir.path().join("f")).unwrap();
        assert!(check_file(&file).is_ok());
    }
}
