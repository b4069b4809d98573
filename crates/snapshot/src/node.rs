//! What a snapshot needs to know about a node home: its chain, its sign state, whether
//! the node is running, and what its RPC says.

use crate::error::{Result, SnapshotError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The chain ID in `<home>/config/genesis.json`, when the home has one.
pub fn chain_id(home: &Path) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Genesis {
        chain_id: String,
    }
    let path = home.join("config/genesis.json");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SnapshotError::io(&path, e)),
    };
    let g: Genesis = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| SnapshotError::Home(format!("{}: not a genesis file: {e}", path.display())))?;
    Ok(Some(g.chain_id))
}

/// `config/config.toml`, parsed, when there is one.
fn config(home: &Path) -> Result<Option<toml::Table>> {
    let path = home.join("config/config.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .parse::<toml::Table>()
            .map(Some)
            .map_err(|e| SnapshotError::Home(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SnapshotError::io(&path, e)),
    }
}

/// Where the node keeps its sign state (`priv_validator_state_file`, relative to the
/// home; `data/priv_validator_state.json` by default).
pub fn sign_state_path(home: &Path) -> Result<PathBuf> {
    let rel = config(home)?
        .and_then(|c| {
            c.get("priv_validator_state_file")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "data/priv_validator_state.json".into());
    Ok(home.join(rel))
}

/// The height of the node's sign state, when it has one.
pub fn sign_state_height(path: &Path) -> Result<Option<u64>> {
    #[derive(Deserialize)]
    struct State {
        height: serde_json::Value,
    }
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SnapshotError::io(path, e)),
    };
    let s: State = serde_json::from_slice(&text).map_err(|e| {
        SnapshotError::Home(format!(
            "{}: not a CometBFT sign state ({e}); fix or move it before restoring",
            path.display()
        ))
    })?;
    let h = match &s.height {
        serde_json::Value::String(x) => x.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    };
    h.map(Some).ok_or_else(|| {
        SnapshotError::Home(format!(
            "{}: height {} is not a number",
            path.display(),
            s.height
        ))
    })
}

/// The node's RPC address from `rpc.laddr` (`tcp://0.0.0.0:26657` becomes
/// `http://127.0.0.1:26657`).
pub fn rpc_url(home: &Path) -> Result<Option<String>> {
    let Some(c) = config(home)? else {
        return Ok(None);
    };
    let laddr = c
        .get("rpc")
        .and_then(|r| r.get("laddr"))
        .and_then(|v| v.as_str())
        .unwrap_or("tcp://127.0.0.1:26657");
    let hostport = laddr.strip_prefix("tcp://").unwrap_or(laddr);
    if hostport.starts_with("unix:") || hostport.is_empty() {
        return Ok(None);
    }
    let hostport = hostport.replace("0.0.0.0", "127.0.0.1");
    Ok(Some(format!("http://{hostport}")))
}

/// Why the node at `home` looks like it is running, or `None`: a database whose `LOCK`
/// another process holds, or its RPC port answering.
pub fn running(home: &Path) -> Result<Option<String>> {
    use nix::fcntl::{Flock, FlockArg};
    let data = home.join("data");
    if let Ok(entries) = std::fs::read_dir(&data) {
        for e in entries.flatten() {
            let lock = e.path().join("LOCK");
            let Ok(f) = std::fs::File::open(&lock) else {
                continue;
            };
            if let Err((_, errno)) = Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                if errno == nix::errno::Errno::EWOULDBLOCK {
                    return Ok(Some(format!(
                        "{} is locked by a running process",
                        lock.display()
                    )));
                }
            }
        }
    }
    if let Some(url) = rpc_url(home)? {
        let hostport = url.trim_start_matches("http://");
        if let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(hostport) {
            for a in addrs {
                if std::net::TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok() {
                    return Ok(Some(format!("its RPC port {hostport} answers")));
                }
            }
        }
    }
    Ok(None)
}

/// What the node's RPC says about it.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    /// `node_info.network`.
    pub chain_id: String,
    /// `sync_info.latest_block_height`.
    pub height: u64,
    /// `node_info.version`.
    pub cometbft_version: Option<String>,
    /// `/abci_info` `response.version` (or `app_version`).
    pub app_version: Option<String>,
}

/// Read `/status` and `/abci_info` from the node's RPC at `url`.
pub async fn node_info(url: &str) -> Result<NodeInfo> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| SnapshotError::Node(e.to_string()))?;
    let get = |path: &'static str| {
        let client = client.clone();
        let u = format!("{}/{path}", url.trim_end_matches('/'));
        async move {
            let v: serde_json::Value = client
                .get(&u)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| SnapshotError::Node(format!("{u}: {e}; is the node running?")))?
                .json()
                .await
                .map_err(|e| SnapshotError::Node(format!("{u}: {e}")))?;
            Ok::<_, SnapshotError>(v.get("result").cloned().unwrap_or(v))
        }
    };
    let status = get("status").await?;
    let chain_id = status["node_info"]["network"]
        .as_str()
        .ok_or_else(|| SnapshotError::Node(format!("{url}/status has no node_info.network")))?
        .to_string();
    let height = status["sync_info"]["latest_block_height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| SnapshotError::Node(format!("{url}/status has no latest_block_height")))?;
    let cometbft_version = status["node_info"]["version"].as_str().map(str::to_string);
    let abci = get("abci_info").await.ok();
    let app_version = abci.and_then(|a| {
        let r = &a["response"];
        r["version"]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .or_else(|| r["app_version"].as_str().map(str::to_string))
    });
    Ok(NodeInfo {
        chain_id,
        height,
        cometbft_version,
        app_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chain_sign_state_and_rpc_from_a_home() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        assert_eq!(chain_id(home).unwrap(), None);
        std::fs::create_dir_all(home.join("config")).unwrap();
        std::fs::create_dir_all(home.join("data")).unwrap();
        std::fs::write(
            home.join("config/genesis.json"),
            r#"{"chain_id":"c-1","validators":[]}"#,
        )
        .unwrap();
        assert_eq!(chain_id(home).unwrap().as_deref(), Some("c-1"));
        let p = sign_state_path(home).unwrap();
        assert_eq!(p, home.join("data/priv_validator_state.json"));
        assert_eq!(sign_state_height(&p).unwrap(), None);
        std::fs::write(&p, r#"{"height":"812","round":0,"step":3}"#).unwrap();
        assert_eq!(sign_state_height(&p).unwrap(), Some(812));
        std::fs::write(
            home.join("config/config.toml"),
            "priv_validator_state_file = \"state/pv.json\"\n[rpc]\nladdr = \"tcp://0.0.0.0:1\"\n",
        )
        .unwrap();
        assert_eq!(sign_state_path(home).unwrap(), home.join("state/pv.json"));
        assert_eq!(
            rpc_url(home).unwrap().as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(running(home).unwrap(), None);
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        std::fs::write(
            home.join("config/config.toml"),
            format!("[rpc]\nladdr = \"tcp://127.0.0.1:{port}\"\n"),
        )
        .unwrap();
        assert!(running(home).unwrap().unwrap().contains("answers"));
    }
}
