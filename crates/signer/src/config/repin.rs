//! Re-pin one share id in a cosigner's config: the `[[threshold.peer]]` with that id
//! takes a new link public key (and name and address), for the replacement of that
//! cosigner by another host of the same share. The rest of the file, comments
//! included, stays as it was. The new file is checked like any config before it
//! replaces the old one, durably; the old one is kept beside it.

use std::path::{Path, PathBuf};
use threshold::link::LinkPublic;

/// What a re-pin changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Repinned {
    /// The config.
    pub config: PathBuf,
    /// The previous file, kept.
    pub previous: PathBuf,
    /// The share id.
    pub id: u16,
    /// The link key pinned before.
    pub before: String,
    /// The link key pinned now.
    pub after: String,
    /// The peer's name now.
    pub name: String,
    /// The peer's address now.
    pub addr: String,
}

/// In the config at `path`, pin share `id` to `key`, with `name` and `addr` when given.
/// `Err` says what is wrong; the file is then unchanged.
pub fn repin(
    path: &Path,
    id: u16,
    key: LinkPublic,
    name: Option<&str>,
    addr: Option<&str>,
) -> Result<Repinned, String> {
    let at = |what: String| format!("{}: {what}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(format!("cannot read: {e}")))?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| at(format!("not TOML: {e}")))?;
    let peers = doc
        .get_mut("threshold")
        .and_then(|t| t.get_mut("peer"))
        .and_then(|p| p.as_array_of_tables_mut())
        .ok_or_else(|| at("no [[threshold.peer]]: this is not a cosigner's config".into()))?;
    let mut ids = Vec::new();
    let peer = peers
        .iter_mut()
        .find(|p| {
            let pid = p.get("id").and_then(|v| v.as_integer());
            ids.extend(pid);
            pid == Some(i64::from(id))
        })
        .ok_or_else(|| {
            at(format!(
                "no [[threshold.peer]] with id = {id} (it pins {ids:?}); a re-pin replaces a peer, it does not add one"
            ))
        })?;
    let before = peer
        .get("link_public_key")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    peer["link_public_key"] = toml_edit::value(key.to_string());
    if let Some(n) = name {
        peer["name"] = toml_edit::value(n);
    }
    if let Some(a) = addr {
        peer["addr"] = toml_edit::value(a);
    }
    let get = |k: &str| {
        peer.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (name, addr) = (get("name"), get("addr"));
    let new = doc.to_string();
    // The result must be a config the signer starts with (e.g. not the key of another
    // peer, not a bad address).
    let config: super::TextConfig =
        toml::from_str(&new).map_err(|e| at(format!("after the change: {e}")))?;
    config
        .parse()
        .map_err(|p| at(format!("after the change: {}", p.join("; "))))?;
    let mut previous = path.as_os_str().to_owned();
    previous.push(".before-repin");
    let previous = PathBuf::from(previous);
    confkit::file::write_durable(&previous, text.as_bytes())
        .map_err(|e| format!("{}: {e}", previous.display()))?;
    confkit::file::write_durable(path, new.as_bytes()).map_err(|e| at(e.to_string()))?;
    Ok(Repinned {
        config: path.to_path_buf(),
        previous,
        id,
        before,
        after: key.to_string(),
        name,
        addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"# cosigner 1
[threshold]
id = 1
listen = "127.0.0.1:7400"
link_key = "/k"

[[threshold.peer]]
id = 2
name = "cosigner-2"   # the host being replaced
addr = "127.0.0.1:7401"
link_public_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

[[threshold.peer]]
id = 3
name = "cosigner-3"
addr = "127.0.0.1:7402"
link_public_key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

[[chain]]
id = "c"
share = "/s"
state = "/st"
protocol = "v0.38"
[[chain.node]]
name = "n"
addr = "tcp://127.0.0.1:1"
"#;

    fn key(b: u8) -> LinkPublic {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode([b; 32])
            .parse()
            .unwrap()
    }

    #[test]
    fn one_peer_changes_and_the_rest_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signer.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let r = repin(
            &path,
            2,
            key(7),
            Some("cosigner-2b"),
            Some("127.0.0.1:7409"),
        )
        .unwrap();
        assert_eq!(r.before, key(0).to_string());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# cosigner 1\n"), "{text}");
        assert!(text.contains(&format!("link_public_key = \"{}\"", key(7))));
        assert!(text.contains("name = \"cosigner-2b\""));
        assert!(text.contains(&key(1).to_string()), "peer 3 kept");
        assert_eq!(std::fs::read_to_string(&r.previous).unwrap(), CONFIG);
        crate::Config::load(&path).unwrap();
    }

    #[test]
    fn a_missing_id_or_a_duplicate_key_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signer.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let e = repin(&path, 4, key(7), None, None).unwrap_err();
        assert!(e.contains("no [[threshold.peer]] with id = 4"), "{e}");
        // Peer 3's key for peer 2 as well: the config would not load.
        let e = repin(&path, 2, key(1), None, None).unwrap_err();
        assert!(e.contains("same link_public_key"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), CONFIG);
        assert!(!dir.path().join("signer.toml.before-repin").exists());
    }
}
