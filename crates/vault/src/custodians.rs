//! `custodians.toml`: the people who together open a vault, each with the public key
//! their share is encrypted to: an SSH key (`ssh-ed25519`, `ssh-rsa`) or an age
//! recipient (`age1...`).
//!
//! ```toml
//! [[custodian]]
//! name = "alice"
//! ssh = "ssh-ed25519 AAAAC3Nza... alice@laptop"
//!
//! [[custodian]]
//! name = "bob"
//! age = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
//! ```

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::str::FromStr;

/// One custodian as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Custodian {
    /// Name (in logs, the audit trail and `vault unseal --as`).
    pub name: String,
    /// An OpenSSH public key line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<String>,
    /// An age recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "custodian", default)]
    custodians: Vec<Custodian>,
}

/// Read `custodians.toml`, reporting every problem at once.
pub fn load(path: &Path) -> Result<Vec<Custodian>, Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let f: File = toml::from_str(&text).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let mut problems = Vec::new();
    if f.custodians.is_empty() {
        problems.push("no [[custodian]]".to_string());
    }
    for c in &f.custodians {
        if let Err(e) = c.check() {
            problems.push(format!("custodian {:?}: {e}", c.name));
        }
        if f.custodians.iter().filter(|o| o.name == c.name).count() > 1 {
            problems.push(format!("two custodians are called {:?}", c.name));
        }
    }
    if problems.is_empty() {
        Ok(f.custodians)
    } else {
        Err(problems
            .into_iter()
            .map(|p| format!("{}: {p}", path.display()))
            .collect())
    }
}

impl Custodian {
    /// Exactly one key, and it parses.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c))
        {
            return Err("names use letters, digits and @ . _ -".into());
        }
        match (&self.ssh, &self.age) {
            (Some(_), Some(_)) => Err("give ssh or age, not both".into()),
            (None, None) => Err("give ssh = \"ssh-ed25519 ...\" or age = \"age1...\"".into()),
            _ => self.encrypt(b"check").map(|_| ()),
        }
    }

    /// `plaintext` encrypted to this custodian (age format).
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let out = match (&self.ssh, &self.age) {
            (Some(line), _) => {
                let r = age::ssh::Recipient::from_str(line.trim()).map_err(|e| {
                    format!("not an SSH key age can encrypt to (ssh-ed25519 or ssh-rsa): {e:?}")
                })?;
                age::encrypt(&r, plaintext)
            }
            (None, Some(a)) => {
                let r = age::x25519::Recipient::from_str(a.trim())
                    .map_err(|e| format!("not an age recipient: {e}"))?;
                age::encrypt(&r, plaintext)
            }
            (None, None) => return Err("no key".into()),
        };
        out.map_err(|e| e.to_string())
    }
}
