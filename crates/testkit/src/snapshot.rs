//! For the snapshot tests: a real S3-compatible server on loopback (`s3s-fs`, installed
//! by `scripts/install-deps`), a fresh full node that joins a devnet, and readers of a
//! directory store.

use crate::devnet::{node, Devnet};
use crate::port::free_port;
use crate::process::Proc;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The s3s-fs version `scripts/install-deps` installs.
pub const S3S_FS_VERSION: &str = "v0.14.1";

/// The `s3s-fs` binary: `$BULWARK_S3S_FS`, or `<dir>/<version>/s3s-fs` where `<dir>` is
/// `$BULWARK_S3S_FS_DIR` or `<cache>/s3s-fs`, as `scripts/install-deps` installs it.
/// Panics with what to do when it is missing.
pub fn s3s_fs_binary() -> PathBuf {
    let p = std::env::var_os("BULWARK_S3S_FS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("BULWARK_S3S_FS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| devnet::cometbft::cache_dir().join("s3s-fs"))
                .join(S3S_FS_VERSION)
                .join("s3s-fs")
        });
    assert!(
        p.is_file(),
        "{} is missing: run scripts/install-deps (it installs s3s-fs {S3S_FS_VERSION} with cargo install), or set BULWARK_S3S_FS",
        p.display()
    );
    p
}

/// An S3-compatible server on 127.0.0.1 over a temp directory, killed when dropped.
#[derive(Debug)]
pub struct S3Server {
    pub root: tempfile::TempDir,
    pub port: u16,
    pub access_key: String,
    pub secret_key: String,
    _proc: Proc,
}

impl S3Server {
    /// Start one with bucket `bucket`; returns once it answers.
    pub fn start(bucket: &str) -> S3Server {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(root.path().join(bucket)).unwrap();
        let port = free_port();
        let (access_key, secret_key) = (
            "bulwark-test".to_string(),
            "bulwark-test-secret".to_string(),
        );
        let child = Command::new(s3s_fs_binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", &access_key, "--secret-key", &secret_key])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        let proc = Proc(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        S3Server {
            root,
            port,
            access_key,
            secret_key,
            _proc: proc,
        }
    }

    /// The store URL of `bucket/prefix` on this server.
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        format!(
            "s3://{bucket}/{prefix}?endpoint=http://127.0.0.1:{}",
            self.port
        )
    }

    /// A credentials file (mode 0600) for this server in `dir`.
    pub fn credentials_file(&self, dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("s3-credentials.toml");
        std::fs::write(
            &p,
            format!(
                "access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
                self.access_key, self.secret_key
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    }
}

/// A new full node for a devnet's chain: `cometbft init` in its own home, the devnet's
/// genesis, the sentry as its peer, free ports. Killed when dropped.
#[derive(Debug)]
pub struct JoiningNode {
    pub home: PathBuf,
    pub rpc_url: String,
    bin: PathBuf,
    log: PathBuf,
    proc: Option<Proc>,
}

impl JoiningNode {
    /// Initialise one in `dir` for `net` (whose sentry0 must be running).
    pub fn init(net: &Devnet, dir: &Path) -> JoiningNode {
        let manifest = devnet::Manifest::load(&net.dir).expect("devnet manifest");
        let bin = devnet::up::binary_for(&manifest, &devnet::cometbft::install_dir())
            .unwrap_or_else(|e| panic!("{e} (run scripts/install-deps)"))
            .path;
        let home = dir.join("joining");
        crate::single_node::cometbft_init(&bin, &home);
        let sentry = manifest.node("sentry0").expect("a sentry");
        std::fs::copy(
            net.dir.join(&sentry.home).join("config/genesis.json"),
            home.join("config/genesis.json"),
        )
        .unwrap();
        let status = net.status();
        let peer = node(&status, "sentry0")["p2p_address"]
            .as_str()
            .unwrap()
            .to_string();
        let (rpc, p2p) = (free_port(), free_port());
        let path = home.join("config/config.toml");
        let mut doc: toml_edit::DocumentMut =
            std::fs::read_to_string(&path).unwrap().parse().unwrap();
        doc["moniker"] = toml_edit::value("joining");
        doc["proxy_app"] = toml_edit::value("persistent_kvstore");
        doc["rpc"]["laddr"] = toml_edit::value(format!("tcp://127.0.0.1:{rpc}"));
        doc["p2p"]["laddr"] = toml_edit::value(format!("tcp://127.0.0.1:{p2p}"));
        doc["p2p"]["persistent_peers"] = toml_edit::value(peer);
        doc["p2p"]["pex"] = toml_edit::value(false);
        doc["p2p"]["addr_book_strict"] = toml_edit::value(false);
        doc["p2p"]["allow_duplicate_ip"] = toml_edit::value(true);
        std::fs::write(&path, doc.to_string()).unwrap();
        JoiningNode {
            log: dir.join("joining.log"),
            home,
            rpc_url: format!("http://127.0.0.1:{rpc}"),
            bin,
            proc: None,
        }
    }

    /// Start it.
    pub fn start(&mut self) {
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Command::new(&self.bin)
            .args(["start", "--home"])
            .arg(&self.home)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("cometbft starts");
        self.proc = Some(Proc(child));
    }

    /// Stop it (SIGKILL) and wait.
    pub fn stop(&mut self) {
        self.proc = None;
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its `/status`, or `None` when it does not answer.
    pub fn status(&self) -> Option<Value> {
        let (code, body) = crate::http::get(&format!("{}/status", self.rpc_url))?;
        let v: Value = serde_json::from_str(&body).ok()?;
        (code == 200).then(|| v["result"].clone())
    }

    /// Its height and whether it is catching up.
    pub fn height(&self) -> Option<(u64, bool)> {
        let s = self.status()?;
        let h = s["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()?;
        Some((h, s["sync_info"]["catching_up"].as_bool().unwrap_or(true)))
    }
}

/// The chunk files of a directory store.
pub fn store_chunks(store: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let Ok(dirs) = std::fs::read_dir(store.join("chunks")) else {
        return out;
    };
    for d in dirs.flatten() {
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            // `<hash>#N` is a put in progress (or one a kill cut short), not a chunk.
            if f.path().is_file() && !f.file_name().to_string_lossy().contains('#') {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// The manifest of snapshot `id` in a directory store.
pub fn store_manifest(store: &Path, id: &str) -> Value {
    let p = store.join("snapshots").join(format!("{id}.json"));
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// The ids of the manifests in a directory store.
pub fn store_snapshots(store: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(store.join("snapshots"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_string)
        })
        .collect();
    v.sort();
    v
}
