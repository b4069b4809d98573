//! Node addresses: `tcp://host:port`, `noise://<node-peer-id>@ip:port`, `unix:///path`.

use std::fmt;
use std::path::PathBuf;

/// A node address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// TCP, with SecretConnection.
    Tcp(String),
    /// TCP with libp2p Noise (CometBFT v0.40), pinned to the node's peer ID.
    Noise {
        /// The node's libp2p peer ID (from its node key).
        peer: String,
        /// `ip:port`.
        hostport: String,
    },
    /// Unix socket, unencrypted.
    Unix(PathBuf),
}

impl Addr {
    /// Parse `tcp://host:port`, `noise://<node-peer-id>@ip:port` or `unix:///path`.
    pub fn parse(s: &str) -> Result<Addr, String> {
        if let Some(rest) = s.strip_prefix("noise://") {
            let (peer, hostport) = rest.rsplit_once('@').ok_or_else(|| {
                format!("{s:?} names no node; write noise://<node-peer-id>@ip:port")
            })?;
            privval::transport::parse_peer_id(peer)?;
            let ok = hostport
                .parse::<std::net::SocketAddr>()
                .is_ok_and(|a| a.port() != 0);
            if !ok {
                return Err(format!("{s:?}: the node's address must be ip:port"));
            }
            Ok(Addr::Noise {
                peer: peer.to_string(),
                hostport: hostport.to_string(),
            })
        } else if let Some(rest) = s.strip_prefix("tcp://") {
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| format!("{s:?} has no port; write tcp://host:port"))?;
            if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(format!("{s:?} is not tcp://host:port"));
            }
            // tcp://<node_id>@host:port is accepted by CometBFT; the ID is not used here.
            let rest = rest.rsplit_once('@').map_or(rest, |(_, hp)| hp);
            Ok(Addr::Tcp(rest.to_string()))
        } else if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!("{s:?} has no socket path"));
            }
            Ok(Addr::Unix(PathBuf::from(path)))
        } else {
            Err(format!(
                "{s:?}: node addresses start with tcp://, noise:// or unix://"
            ))
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(hostport) => write!(f, "tcp://{hostport}"),
            Addr::Noise { peer, hostport } => write!(f, "noise://{peer}@{hostport}"),
            Addr::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

impl serde::Serialize for Addr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Addr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Addr, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        Addr::parse(&s).map_err(serde::de::Error::custom)
    }
}
