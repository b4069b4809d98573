//! `[vault]`: chains whose key is `key = "vault:NAME"` take it from a vault that t
//! custodians open at run time.
//!
//! ```toml
//! [vault]
//! file = "/etc/bulwark/vault.json"       # made by `bulwark vault init`
//! listen = "0.0.0.0:7500"                 # where custodians' `bulwark vault unseal` connect
//! link_key = "/etc/bulwark/unseal.key"    # `bulwark threshold link-key`; custodians pin its public key
//! ```

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The vault this signer's sealed keys come from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig<S = SocketAddr> {
    /// The vault file.
    pub file: PathBuf,
    /// Where custodians connect to unseal.
    pub listen: S,
    /// The unseal channel's key (Noise), whose public half custodians pin.
    pub link_key: PathBuf,
}

impl VaultConfig<String> {
    pub(crate) fn parse(self, p: &mut Vec<String>) -> Option<VaultConfig> {
        match self.listen.parse::<SocketAddr>() {
            Ok(listen) => Some(VaultConfig {
                file: self.file,
                listen,
                link_key: self.link_key,
            }),
            Err(_) => {
                p.push(format!(
                    "vault.listen {:?} is not host:port (e.g. 0.0.0.0:7500)",
                    self.listen
                ));
                None
            }
        }
    }
}

/// The vault entry a chain's `key` names (`vault:NAME`), if it does.
pub fn vault_entry(key: &std::path::Path) -> Option<&str> {
    key.to_str().and_then(|k| k.strip_prefix("vault:"))
}
