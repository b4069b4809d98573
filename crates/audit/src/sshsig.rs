//! People's signatures in OpenSSH's `sshsig` format, so that `ssh-keygen -Y verify`
//! checks them and a key in an agent or on a hardware token can make them.
//!
//! A private key file is used in-process (RSA keys through `ssh-keygen`, see
//! [`Identity::sign`]). A public key file (`id_ed25519.pub`) means
//! "the private key is in the agent or on a token": OpenSSH's own `ssh-keygen -Y sign`
//! makes the signature through `SSH_AUTH_SOCK`, and it is checked here before use.

pub use ssh_key::PublicKey;
use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a key could not sign, or a signature is not valid.
#[derive(Debug, thiserror::Error)]
pub enum SigError {
    /// The key file cannot be read.
    #[error("cannot read SSH key {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A passphrase-protected private key was given.
    #[error(
        "SSH key {0} is protected by a passphrase; add it to your agent (`ssh-add {0}`) and \
         give its public key file ({0}.pub) instead"
    )]
    Encrypted(String),
    /// Signing failed.
    #[error("cannot sign with {path}: {reason}")]
    Sign {
        /// The key file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A signature does not parse.
    #[error("not an SSH signature (sshsig PEM): {0}")]
    Malformed(String),
    /// A signature does not verify.
    #[error("the SSH signature does not verify for this key and namespace {namespace}: {reason}")]
    Invalid {
        /// The namespace it was checked in.
        namespace: String,
        /// What failed.
        reason: String,
    },
}

/// Someone's signing key: a private key file, or a public key whose private half is in
/// the agent (or on a token).
#[derive(Debug)]
pub struct Identity {
    path: PathBuf,
    public: PublicKey,
    private: Option<PrivateKey>,
}

impl Identity {
    /// Load `path`: an OpenSSH private key (not passphrase-protected), or a public key
    /// (`.pub`) for a key in the agent.
    pub fn load(path: &Path) -> Result<Identity, SigError> {
        Self::load_with_passphrase(path, None)
    }

    /// Like [`Identity::load`]; `passphrase` opens a passphrase-protected private key.
    pub fn load_with_passphrase(
        path: &Path,
        passphrase: Option<Vec<u8>>,
    ) -> Result<Identity, SigError> {
        let err = |reason: String| SigError::Key {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        if let Ok(public) = PublicKey::from_openssh(text.trim()) {
            return Ok(Identity {
                path: path.to_path_buf(),
                public,
                private: None,
            });
        }
        let private = PrivateKey::from_openssh(&text).map_err(|e| {
            err(format!(
                "{e}; give an OpenSSH private key, or a public key file for a key in your agent"
            ))
        })?;
        let private = match (private.is_encrypted(), passphrase) {
            (false, _) => private,
            (true, None) => return Err(SigError::Encrypted(path.display().to_string())),
            (true, Some(p)) => private.decrypt(&p).map_err(|_| SigError::Key {
                path: path.display().to_string(),
                reason: "wrong passphrase for this key".into(),
            })?,
        };
        Ok(Identity {
            path: path.to_path_buf(),
            public: private.public_key().clone(),
            private: Some(private),
        })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Sign `msg` in `namespace`; returns the armored signature (`-----BEGIN SSH
    /// SIGNATURE-----`). The result is verified against the public key before it is
    /// returned.
    pub fn sign(&self, namespace: &str, msg: &[u8]) -> Result<String, SigError> {
        let fail = |reason: String| SigError::Sign {
            path: self.path.display().to_string(),
            reason,
        };
        let pem = match &self.private {
            // RSA through OpenSSH: ssh-key 0.6's RSA signing fails with current `rsa`
            // releases (RustCrypto/SSH#387); ssh-keygen signs with the same file.
            Some(key) if key.algorithm().is_rsa() => {
                agent_sign(&self.path, namespace, msg).map_err(fail)?
            }
            Some(key) => key
                .sign(namespace, HashAlg::Sha512, msg)
                .and_then(|s| s.to_pem(LineEnding::LF))
                .map_err(|e| fail(e.to_string()))?,
            None => agent_sign(&self.path, namespace, msg).map_err(fail)?,
        };
        verify(&self.public, namespace, msg, &pem)?;
        Ok(pem)
    }
}

/// `ssh-keygen -Y sign` with `key`: a public key file makes OpenSSH ask the agent (or
/// the token); a private key file is used directly.
fn agent_sign(key: &Path, namespace: &str, msg: &[u8]) -> Result<String, String> {
    let mut child = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", namespace, "-f"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ssh-keygen (OpenSSH 8.1 or newer is needed): {e}"))?;
    // ssh-keygen may exit before it reads the message (no agent, no such key): then the
    // write fails with a broken pipe, and what ssh-keygen said is the error to give.
    let written = child.stdin.take().expect("stdin is piped").write_all(msg);
    let out = child
        .wait_with_output()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    if let (Err(e), true) = (&written, out.status.success()) {
        return Err(format!("ssh-keygen: {e}"));
    }
    if !out.status.success() {
        return Err(format!(
            "ssh-keygen -Y sign failed (is the key in your agent? `ssh-add -l` lists them): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "ssh-keygen wrote a non-UTF-8 signature".into())
}

/// Parse an armored signature.
pub fn parse(pem: &str) -> Result<SshSig, SigError> {
    SshSig::from_pem(pem.trim()).map_err(|e| SigError::Malformed(e.to_string()))
}

/// Check that `pem` is `key`'s signature over `msg` in `namespace`.
pub fn verify(key: &PublicKey, namespace: &str, msg: &[u8], pem: &str) -> Result<(), SigError> {
    let sig = parse(pem)?;
    if sig.public_key() != key.key_data() {
        return Err(SigError::Invalid {
            namespace: namespace.into(),
            reason: format!(
                "it was made by another key ({})",
                PublicKey::from(sig.public_key().clone()).fingerprint(HashAlg::Sha256)
            ),
        });
    }
    key.verify(namespace, msg, &sig)
        .map_err(|e| SigError::Invalid {
            namespace: namespace.into(),
            reason: e.to_string(),
        })
}

/// The key that made `pem`, as found inside the signature.
pub fn signer_of(pem: &str) -> Result<PublicKey, SigError> {
    Ok(PublicKey::from(parse(pem)?.public_key().clone()))
}

/// `SHA256:...`, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The key as one `type base64` line, without its comment.
pub fn openssh_line(key: &PublicKey) -> String {
    let mut k = key.clone();
    k.set_comment("");
    k.to_openssh()
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
