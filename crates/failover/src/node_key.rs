//! A validator that signs with its node's own key file (CometBFT's FilePV): where the
//! node keeps its key and sign state, reading and writing that state, fencing the key
//! on the old node and installing it on the new one.
//!
//! A CometBFT node whose key file is missing makes a new key at start, so an old node
//! whose key was moved aside comes back as a node that is not a validator and signs
//! nothing for the validator.

use crate::observe::Hrs;
use std::path::{Path, PathBuf};

/// The node's key and state files.
#[derive(Debug, Clone)]
pub struct NodeFiles {
    /// `priv_validator_key_file`.
    pub key: PathBuf,
    /// `priv_validator_state_file`.
    pub state: PathBuf,
}

/// Where the node at `home` keeps its key and state (its `config/config.toml`, with
/// CometBFT's defaults).
pub fn files(home: &Path) -> Result<NodeFiles, String> {
    let path = home.join("config/config.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let c: toml::Value = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let get = |k: &str, default: &str| {
        let rel = c.get(k).and_then(|v| v.as_str()).unwrap_or(default);
        let p = Path::new(rel);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            home.join(p)
        }
    };
    if let Some(laddr) = c
        .get("priv_validator_laddr")
        .and_then(|v| v.as_str())
        .filter(|l| !l.is_empty())
    {
        return Err(format!(
            "the node at {} takes a remote signer (priv_validator_laddr = {laddr:?}); use `config` for that side",
            home.display()
        ));
    }
    Ok(NodeFiles {
        key: get("priv_validator_key_file", "config/priv_validator_key.json"),
        state: get(
            "priv_validator_state_file",
            "data/priv_validator_state.json",
        ),
    })
}

/// The node's sign state; None when there is no file.
pub fn read_state(path: &Path, chain_id: &str) -> Result<Option<Hrs>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let s = guard::import::import_cometbft_state(&bytes, chain_id)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(Hrs {
        height: s.height,
        round: s.round,
        step: s.step as u8,
    }))
}

/// Write `hrs` as the node's sign state (no signature: at exactly that height, round
/// and step the node signs nothing), durably: a new file, flushed, renamed over the
/// old one, the directory flushed.
pub fn write_state(path: &Path, hrs: Hrs) -> Result<(), String> {
    let body = serde_json::json!({
        "height": hrs.height.to_string(),
        "round": hrs.round,
        "step": hrs.step,
    });
    write_durably(path, format!("{body:#}\n").as_bytes())
}

/// Move the key file of the node at `home` aside (`<key>.fenced-<plan>`) when it holds
/// the validator's key (`public`, hex; unknown: whatever key is there), so that the
/// node, if it comes back, makes a new key and is no longer the validator. The path it
/// went to, or None when there was no validator key there (already fenced, or the
/// node's own key).
pub fn fence(home: &Path, public: Option<&str>, plan: &str) -> Result<Option<PathBuf>, String> {
    let f = files(home)?;
    if !f.key.exists() {
        return Ok(None);
    }
    let held = signer::keys::SoftKey::load(&f.key)
        .map(|k| hex::encode(signer::keys::KeyBackend::public_key(&k).bytes()));
    if held
        .as_deref()
        .is_ok_and(|h| public.is_some_and(|p| p != h))
    {
        return Ok(None);
    }
    let aside = PathBuf::from(format!("{}.fenced-{plan}", f.key.display()));
    match std::fs::rename(&f.key, &aside) {
        Ok(()) => {
            sync_dir(&f.key)?;
            Ok(Some(aside))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot move {} aside: {e}", f.key.display())),
    }
}

/// Install `staged` as the key of the node at `home`; the node's own key, if it is
/// another, is kept as `<key>.before-<plan>`. Returns whether anything changed.
pub fn install(home: &Path, staged: &Path, plan: &str) -> Result<bool, String> {
    let f = files(home)?;
    let key = std::fs::read(staged).map_err(|e| format!("{}: {e}", staged.display()))?;
    match std::fs::read(&f.key) {
        Ok(current) if current == key => return Ok(false),
        Ok(_) => {
            let before = PathBuf::from(format!("{}.before-{plan}", f.key.display()));
            std::fs::rename(&f.key, &before)
                .map_err(|e| format!("cannot move {} aside: {e}", f.key.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", f.key.display())),
    }
    write_durably(&f.key, &key)?;
    Ok(true)
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), String> {
    confkit::file::write_private_durable(path, bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn sync_dir(file: &Path) -> Result<(), String> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("config")).unwrap();
        std::fs::create_dir_all(t.path().join("data")).unwrap();
        std::fs::write(
            t.path().join("config/config.toml"),
            "priv_validator_laddr = \"\"\n",
        )
        .unwrap();
        t
    }

    #[test]
    fn a_state_written_reads_back_as_cometbft_reads_it() {
        let h = home();
        let f = files(h.path()).unwrap();
        assert_eq!(read_state(&f.state, "c").unwrap(), None);
        let hrs = Hrs {
            height: 120,
            round: 2,
            step: 3,
        };
        write_state(&f.state, hrs).unwrap();
        assert_eq!(read_state(&f.state, "c").unwrap(), Some(hrs));
        let text = std::fs::read_to_string(&f.state).unwrap();
        assert!(text.contains("\"height\": \"120\""), "{text}");
    }

    fn key_file(path: &Path, seed: u8) -> String {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let public = sk.verifying_key().to_bytes();
        let mut pair = sk.to_bytes().to_vec();
        pair.extend_from_slice(&public);
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let json = serde_json::json!({
            "address": "",
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64(&public)},
            "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": b64(&pair)},
        });
        std::fs::write(path, json.to_string()).unwrap();
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        hex::encode(public)
    }

    #[test]
    fn fence_and_install_move_keys_and_keep_what_they_replace() {
        let old = home();
        let new = home();
        let staged = new.path().join("staged.json");
        let validator = key_file(&staged, 7);
        key_file(&old.path().join("config/priv_validator_key.json"), 7);
        key_file(&new.path().join("config/priv_validator_key.json"), 8);
        let own = std::fs::read(new.path().join("config/priv_validator_key.json")).unwrap();
        // The new node's own key is not the validator's: nothing to fence there.
        assert_eq!(fence(new.path(), Some(&validator), "p1").unwrap(), None);
        let aside = fence(old.path(), Some(&validator), "p1").unwrap().unwrap();
        assert!(!old.path().join("config/priv_validator_key.json").exists());
        assert_eq!(
            std::fs::read(aside).unwrap(),
            std::fs::read(&staged).unwrap()
        );
        assert_eq!(fence(old.path(), Some(&validator), "p1").unwrap(), None);
        assert!(install(new.path(), &staged, "p1").unwrap());
        assert_eq!(
            std::fs::read(new.path().join("config/priv_validator_key.json")).unwrap(),
            std::fs::read(&staged).unwrap()
        );
        assert_eq!(
            std::fs::read(new.path().join("config/priv_validator_key.json.before-p1")).unwrap(),
            own
        );
        assert!(!install(new.path(), &staged, "p1").unwrap());
    }

    #[test]
    fn a_node_with_a_remote_signer_is_not_a_node_side() {
        let h = home();
        std::fs::write(
            h.path().join("config/config.toml"),
            "priv_validator_laddr = \"tcp://0.0.0.0:26659\"\n",
        )
        .unwrap();
        assert!(files(h.path()).unwrap_err().contains("remote signer"));
    }
}
