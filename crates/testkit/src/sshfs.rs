//! A local directory mounted over sshfs through an sshd on 127.0.0.1, for tests of state
//! files on a network file system. Needs the Debian packages sshfs and openssh-server
//! (scripts/install-deps).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// The mount; unmounted and sshd stopped on drop.
#[derive(Debug)]
pub struct Mount {
    _tmp: tempfile::TempDir,
    /// The local directory behind the mount.
    pub backing: PathBuf,
    /// The mount point.
    pub dir: PathBuf,
    sshd: Child,
}

fn have(tool: &str) -> bool {
    Path::new(tool).exists()
        || Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn ok(cmd: &mut Command) {
    let o = cmd.output().expect("runs");
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

impl Mount {
    /// None (after a loud message) when sshfs or sshd is missing outside CI; in CI
    /// (env CI set) a missing package fails the test.
    pub fn start() -> Option<Mount> {
        let missing: Vec<&str> = [("sshfs", "sshfs"), (SSHD, "openssh-server")]
            .into_iter()
            .filter(|(tool, _)| !have(tool))
            .map(|(_, package)| package)
            .collect();
        if !missing.is_empty() {
            let msg = format!(
                "SKIPPED: the network file system test needs the Debian packages {} \
                 (run scripts/install-deps)",
                missing.join(" ")
            );
            assert!(std::env::var_os("CI").is_none(), "{msg}");
            eprintln!("\n\n*** {msg} ***\n\n");
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let (backing, dir) = (t.join("backing"), t.join("mnt"));
        std::fs::create_dir(&backing).unwrap();
        std::fs::create_dir(&dir).unwrap();
        for key in ["host_key", "user_key"] {
            ok(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(t.join(key)));
        }
        std::fs::copy(t.join("user_key.pub"), t.join("authorized_keys")).unwrap();
        let port = crate::port::free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {t}/host_key\n\
             AuthorizedKeysFile {t}/authorized_keys\nPidFile {t}/sshd.pid\nStrictModes no\n\
             UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n",
            t = t.display()
        );
        std::fs::write(t.join("sshd_config"), config).unwrap();
        // sshd insists on its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let sshd = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(t.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(t.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen: {}",
                std::fs::read_to_string(t.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let mount = Mount {
            _tmp: tmp,
            backing,
            dir,
            sshd,
        };
        let user =
            String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        let opts = format!(
            "IdentityFile={}/user_key,StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes",
            mount._tmp.path().display()
        );
        ok(Command::new("sshfs")
            .args(["-p", &port.to_string(), "-o", &opts])
            .arg(format!(
                "{}@127.0.0.1:{}",
                user.trim(),
                mount.backing.display()
            ))
            .arg(&mount.dir));
        std::fs::write(mount.dir.join("probe"), "x").unwrap();
        assert!(
            mount.backing.join("probe").exists(),
            "the sshfs mount works"
        );
        std::fs::remove_file(mount.backing.join("probe")).unwrap();
        Some(mount)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let unmounted = ["fusermount3", "fusermount"].iter().any(|f| {
            Command::new(f)
                .arg("-u")
                .arg(&self.dir)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}
