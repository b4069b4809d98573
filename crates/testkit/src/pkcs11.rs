//! PKCS#11 tokens for tests: a SoftHSM2 token in a test's own directory, which a test can
//! take away (its slot gone, as when a token is unplugged) and bring back.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// SoftHSM2's module (Debian package softhsm2).
pub const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token.
pub const PIN: &str = "val0-pin-5193";

/// A SoftHSM2 token.
#[derive(Debug)]
pub struct Token {
    /// Its label.
    pub label: String,
    /// A file holding the user PIN, mode 0600.
    pub pin_file: PathBuf,
    /// Its `SOFTHSM2_CONF`.
    pub conf: PathBuf,
    store: PathBuf,
    away_name: std::sync::Mutex<Option<PathBuf>>,
}

/// A new token `label` whose store is under `dir`. SoftHSM2 finds the store through
/// `SOFTHSM2_CONF`, which is set for this process and every child it starts.
pub fn softhsm_token(dir: &Path, label: &str) -> Token {
    crate::process::tool(
        SOFTHSM,
        "run scripts/install-deps (Debian package softhsm2)",
    );
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let o = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label])
        .args(["--so-pin", "1234", "--pin", PIN])
        .output()
        .expect("softhsm2-util runs (softhsm2)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pin_file = dir.join(format!("{label}.pin"));
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    Token {
        label: label.into(),
        pin_file,
        conf,
        store: tokens,
        away_name: Default::default(),
    }
}

impl Token {
    /// The token's own directory in the store (SoftHSM2 keeps each token in one).
    fn dir(&self) -> PathBuf {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&self.store)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        assert_eq!(dirs.len(), 1, "one token in {}", self.store.display());
        dirs.pop().unwrap()
    }

    /// Take the token away, as when it is unplugged or its slot is gone: every session
    /// on it fails, and the module no longer shows it.
    pub fn take_away(&self) {
        let dir = self.dir();
        std::fs::rename(&dir, self.away()).unwrap();
        *self.away_name.lock().unwrap() = Some(dir);
    }

    /// Put it back where it was: a module initialized again shows it.
    pub fn bring_back(&self) {
        let dir = self
            .away_name
            .lock()
            .unwrap()
            .take()
            .expect("taken away first");
        std::fs::rename(self.away(), dir).unwrap();
    }

    fn away(&self) -> PathBuf {
        self.store.with_extension("away")
    }
}
