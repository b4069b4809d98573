//! A vault for tests: custodians whose keys come from `ssh-keygen`, the vault made by the
//! real `bulwark vault init`, the signer's `[vault]` section with its unseal key, and
//! `bulwark vault unseal` run as each custodian.

use crate::process::{json, text, Bulwark};
use crate::ssh::{keygen, public_key};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A vault and its custodians.
#[derive(Debug)]
pub struct TestVault {
    /// The vault file.
    pub file: PathBuf,
    /// Each custodian's name and SSH key.
    pub custodians: Vec<(String, PathBuf)>,
    /// The signer's `[vault]`, listening on a free loopback port.
    pub section: signer::config::VaultConfig,
    /// The public half of the signer's unseal key, which custodians pin.
    pub link_public: String,
}

impl TestVault {
    /// Custodians `names` (ed25519 keys in `dir`), a vault of `threshold` of them in
    /// `dir/vault.json`, and an unseal key for the signer.
    pub fn init(bulwark: &Bulwark, dir: &Path, names: &[&str], threshold: usize) -> TestVault {
        let mut toml = String::new();
        let mut custodians = Vec::new();
        for name in names {
            let k = keygen(dir, name, "ed25519");
            toml.push_str(&format!(
                "[[custodian]]\nname = \"{name}\"\nssh = \"{}\"\n\n",
                public_key(&k)
            ));
            custodians.push((name.to_string(), k));
        }
        let list = dir.join("custodians.toml");
        std::fs::write(&list, toml).unwrap();
        let file = dir.join("vault.json");
        let t = threshold.to_string();
        let o = bulwark.run(&[
            "vault",
            "init",
            "--custodians",
            list.to_str().unwrap(),
            "--threshold",
            &t,
            "--out",
            file.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let link_key = dir.join("unseal.key");
        let lk = json(&bulwark.run(&[
            "threshold",
            "link-key",
            "--out",
            link_key.to_str().unwrap(),
            "--json",
        ]));
        let listen = format!("127.0.0.1:{}", crate::port::free_port())
            .parse()
            .unwrap();
        TestVault {
            file: file.clone(),
            custodians,
            section: signer::config::VaultConfig {
                file,
                listen,
                link_key,
            },
            link_public: lk["public_key"].as_str().unwrap().to_string(),
        }
    }

    /// `bulwark vault ARGS --vault FILE`.
    pub fn run(&self, bulwark: &Bulwark, args: &[&str]) -> Output {
        let mut all = vec!["vault"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--vault", self.file.to_str().unwrap()]);
        bulwark.run(&all)
    }

    /// Custodian `name` unseals with their own key.
    pub fn unseal(&self, bulwark: &Bulwark, name: &str) -> Output {
        let key = &self
            .custodians
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no custodian {name}"))
            .1;
        self.unseal_as(bulwark, name, key)
    }

    /// `bulwark vault unseal` as `name` with the key `identity`.
    pub fn unseal_as(&self, bulwark: &Bulwark, name: &str, identity: &Path) -> Output {
        let addr = self.section.listen.to_string();
        bulwark.run(&[
            "vault",
            "unseal",
            "--signer",
            &addr,
            "--signer-key",
            &self.link_public,
            "--as",
            name,
            "--identity",
            identity.to_str().unwrap(),
        ])
    }
}
