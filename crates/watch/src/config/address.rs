//! Our validator's consensus address on each chain: given in hex (as `/validators`
//! shows it), in bech32 (`<prefix>valcons1...`), or left out and derived from
//! `validator_pubkey` (the base64 Ed25519 key of `priv_validator_key.json`, or the JSON
//! that `<appd> tendermint show-validator` prints): the first 20 bytes of its SHA-256.

use super::{Config, ConfigError};
use base64::Engine as _;
use sha2::Digest;

impl Config {
    /// Resolve the addresses, then validate: every problem of both at once.
    pub fn check(&mut self) -> Result<(), ConfigError> {
        let mut p = match self.resolve_addresses() {
            Err(ConfigError::Invalid(p)) => p,
            _ => Vec::new(),
        };
        match self.validate() {
            Err(ConfigError::Invalid(q)) => p.extend(q),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p))
        }
    }

    /// Turn every chain's `validator_address` into hex, deriving it from
    /// `validator_pubkey` where it is left out; every problem at once.
    pub fn resolve_addresses(&mut self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        for c in &mut self.chains {
            let what = format!("chain {:?}", c.id);
            let given = match c.validator_address.as_deref().map(to_hex) {
                Some(Ok(hex)) => Some(hex),
                Some(Err(e)) => {
                    p.push(format!("{what}: validator_address {e}"));
                    continue;
                }
                None => None,
            };
            let derived = match c.validator_pubkey.as_deref().map(address_of_key) {
                Some(Ok(hex)) => Some(hex),
                Some(Err(e)) => {
                    p.push(format!("{what}: validator_pubkey {e}"));
                    continue;
                }
                None => None,
            };
            match (given, derived) {
                (Some(g), Some(d)) if g != d => p.push(format!(
                    "{what}: validator_address {g} is not the address of validator_pubkey ({d}): keep one of them, or fix the one that is wrong"
                )),
                (g, d) => c.validator_address = g.or(d),
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p))
        }
    }
}

/// Hex (any case) or bech32 `...valcons1...` as upper-case hex.
fn to_hex(a: &str) -> Result<String, String> {
    if a.len() == 40 && a.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return Ok(a.to_ascii_uppercase());
    }
    match crate::bech32::decode(a) {
        Ok((hrp, bytes)) if hrp.ends_with("valcons") && bytes.len() == 20 => {
            Ok(hex::encode_upper(bytes))
        }
        Ok((hrp, _)) => Err(format!(
            "{a:?} is a {hrp} address, not a consensus address (<prefix>valcons1...)"
        )),
        Err(_) => Err(format!(
            "{a:?} is neither 40 hex characters (as /validators shows it) nor a bech32 consensus address (<prefix>valcons1...)"
        )),
    }
}

/// The consensus address of an Ed25519 public key given as base64 or as
/// `{"@type": "/cosmos.crypto.ed25519.PubKey", "key": "..."}`.
fn address_of_key(k: &str) -> Result<String, String> {
    let b64 = match serde_json::from_str::<serde_json::Value>(k) {
        Ok(v) => {
            let kind = v["@type"].as_str().unwrap_or_default();
            if !kind.ends_with("ed25519.PubKey") {
                return Err(format!(
                    "is a {kind:?} key; only Ed25519 consensus keys are read here: give validator_address instead"
                ));
            }
            v["key"].as_str().unwrap_or_default().to_string()
        }
        Err(_) => k.trim().to_string(),
    };
    ed25519_address(&b64)
}

/// The consensus address of an Ed25519 public key in base64.
pub fn ed25519_address(b64: &str) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("{b64:?} is not base64 ({e})"))?;
    if bytes.len() != 32 {
        return Err(format!(
            "is {} bytes long; an Ed25519 public key is 32",
            bytes.len()
        ));
    }
    Ok(hex::encode_upper(&sha2::Sha256::digest(&bytes)[..20]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const ADDR: &str = "630DCD2966C4336691125448BBB25B4FF412A49C";

    fn resolve(chain: &str) -> Result<Option<String>, String> {
        let mut c = Config::parse(&format!(
            "state_path = \"w\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://a:1\"]\n{chain}\n"
        ))
        .map_err(|e| e.to_string())?;
        c.resolve_addresses().map_err(|e| e.to_string())?;
        Ok(c.chains[0].validator_address.clone())
    }

    #[test]
    fn the_address_comes_from_hex_bech32_or_the_public_key() {
        let lower = ADDR.to_ascii_lowercase();
        assert_eq!(
            resolve(&format!("validator_address = \"{lower}\"")),
            Ok(Some(ADDR.into()))
        );
        let valcons = crate::bech32::encode("cosmosvalcons", &hex::decode(ADDR).unwrap());
        assert_eq!(
            resolve(&format!("validator_address = \"{valcons}\"")),
            Ok(Some(ADDR.into()))
        );
        assert_eq!(
            resolve(&format!("validator_pubkey = \"{KEY}\"")),
            Ok(Some(ADDR.into()))
        );
        let json = format!(r#"{{"@type":"/cosmos.crypto.ed25519.PubKey","key":"{KEY}"}}"#);
        assert_eq!(
            resolve(&format!("validator_pubkey = '{json}'")),
            Ok(Some(ADDR.into()))
        );
        assert_eq!(
            resolve(&format!(
                "validator_pubkey = \"{KEY}\"\nvalidator_address = \"{ADDR}\""
            )),
            Ok(Some(ADDR.into()))
        );
        assert_eq!(resolve(""), Ok(None));
    }

    #[test]
    fn wrong_or_disagreeing_keys_and_addresses_are_refused() {
        let e = resolve(&format!(
            "validator_pubkey = \"{KEY}\"\nvalidator_address = \"{}\"",
            "A".repeat(40)
        ))
        .unwrap_err();
        assert!(
            e.contains("is not the address of validator_pubkey (630DCD"),
            "{e}"
        );
        let valoper = crate::bech32::encode("cosmosvaloper", &[1; 20]);
        let e = resolve(&format!("validator_address = \"{valoper}\"")).unwrap_err();
        assert!(
            e.contains("is a cosmosvaloper address, not a consensus address"),
            "{e}"
        );
        let e = resolve("validator_pubkey = \"AAEC\"").unwrap_err();
        assert!(
            e.contains("is 3 bytes long; an Ed25519 public key is 32"),
            "{e}"
        );
        let e = resolve(
            r#"validator_pubkey = '{"@type":"/cosmos.crypto.secp256k1.PubKey","key":"AAEC"}'"#,
        )
        .unwrap_err();
        assert!(e.contains("only Ed25519 consensus keys"), "{e}");
    }
}
