//! The unseal channel: a custodian opens a sealed signer (or a `vault rekey`) with
//! their share, from their own machine.
//!
//! The link is Noise (the threshold links' `IK`, with a fresh key on the custodian's
//! side) to the listener's pinned link key, so only the real signer can read the share.
//! The custodian is authenticated after the handshake:
//!
//! 1. custodian -> listener: `hello` with their name;
//! 2. listener -> custodian: their encrypted share from the vault, and a fresh nonce;
//! 3. custodian -> listener: the share decrypted with their own identity and, for an
//!    SSH custodian, an `sshsig` signature (namespace `bulwark-vault-unseal`) over the
//!    vault ID, the nonce, their name and the share's SHA-256, checked against their key
//!    in the vault;
//! 4. listener -> custodian: accepted or refused, and how many shares it has.
//!
//! A share is also checked against the custodian's commitment. The nonce is new for
//! every connection, so nothing recorded from one session is accepted in another.

use crate::open::{Opened, Opening};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use threshold::link::{self, LinkKey, LinkPublic};
use zeroize::Zeroizing;

/// The `sshsig` namespace of a custodian's unseal signature.
pub const NAMESPACE: &str = "bulwark-vault-unseal";
const HANDSHAKE: Duration = Duration::from_secs(10);
/// How long a custodian has between the challenge and their share (a passphrase).
const ANSWER: Duration = Duration::from_secs(120);
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Msg {
    Hello {
        custodian: String,
    },
    Challenge {
        vault: String,
        nonce: String,
        share: String,
        have: usize,
        need: usize,
    },
    Share {
        plain: String,
        sig: Option<String>,
    },
    Result(Reply),
    Refused {
        reason: String,
    },
}

/// The listener's answer to a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the share was taken.
    pub accepted: bool,
    /// Why not.
    pub reason: Option<String>,
    /// Shares taken so far.
    pub have: usize,
    /// Shares needed.
    pub need: usize,
    /// Whether it is still sealed.
    pub sealed: bool,
}

/// What one custodian's connection did, for logs, metrics and the audit trail.
#[derive(Debug)]
pub struct Outcome {
    /// Who they said they were.
    pub custodian: String,
    /// The answer they got.
    pub reply: Reply,
    /// The opened vault, when this share was the last one needed.
    pub opened: Option<Opened>,
}

/// The listener's side: a vault being opened by its custodians.
#[derive(Debug)]
pub struct Unsealer {
    key: LinkKey,
    opening: Mutex<Option<Opening>>,
    need: usize,
}

fn message(vault: &str, nonce: &str, name: &str, share: &[u8]) -> String {
    format!(
        "bulwark vault unseal\nvault: {vault}\nnonce: {nonce}\ncustodian: {name}\nshare: sha256:{}\n",
        hex::encode(Sha256::digest(share))
    )
}

impl Unsealer {
    /// Open `opening`'s vault with shares that arrive on links to `key`.
    pub fn new(key: LinkKey, opening: Opening) -> Unsealer {
        let need = opening.need();
        Unsealer {
            key,
            opening: Mutex::new(Some(opening)),
            need,
        }
    }

    /// Shares taken so far, and needed (have = need once open).
    pub fn progress(&self) -> (usize, usize) {
        match &*self.opening.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(o) => (o.have(), self.need),
            None => (self.need, self.need),
        }
    }

    /// Serve one connection: a custodian's share, checked.
    pub fn serve(&self, stream: TcpStream) -> Result<Outcome, String> {
        let (link, _) =
            link::accept_any(stream, &self.key, HANDSHAKE).map_err(|e| e.to_string())?;
        let (mut w, mut r) = link.split();
        r.set_read_timeout(Some(ANSWER))
            .map_err(|e| e.to_string())?;
        let mut send = |m: &Msg| {
            w.send(&serde_json::to_vec(m).expect("a message serializes"))
                .map_err(|e| e.to_string())
        };
        let recv = |r: &mut link::LinkReader| -> Result<Msg, String> {
            let b = r
                .recv()
                .map_err(|e| format!("the custodian's connection: {e}"))?;
            serde_json::from_slice(&b).map_err(|e| format!("not an unseal message: {e}"))
        };
        let Msg::Hello { custodian } = recv(&mut r)? else {
            return Err("the custodian did not say hello".into());
        };
        let refuse =
            |send: &mut dyn FnMut(&Msg) -> Result<(), String>, reason: String, have: usize| {
                let reply = Reply {
                    accepted: false,
                    reason: Some(reason),
                    have,
                    need: self.need,
                    sealed: true,
                };
                let _ = send(&Msg::Result(reply.clone()));
                Ok(Outcome {
                    custodian: custodian.clone(),
                    reply,
                    opened: None,
                })
            };
        let (vault_id, share, have) = {
            let g = self.opening.lock().unwrap_or_else(|p| p.into_inner());
            let Some(o) = g.as_ref() else {
                let reply = Reply {
                    accepted: false,
                    reason: Some("already open".into()),
                    have: self.need,
                    need: self.need,
                    sealed: false,
                };
                let _ = send(&Msg::Result(reply.clone()));
                return Ok(Outcome {
                    custodian,
                    reply,
                    opened: None,
                });
            };
            match o.vault().custodian(&custodian) {
                None => {
                    let have = o.have();
                    drop(g);
                    let _ = send(&Msg::Refused {
                        reason: format!("{custodian} is not a custodian of this vault"),
                    });
                    let reply = Reply {
                        accepted: false,
                        reason: Some(format!("{custodian} is not a custodian of this vault")),
                        have,
                        need: self.need,
                        sealed: true,
                    };
                    return Ok(Outcome {
                        custodian,
                        reply,
                        opened: None,
                    });
                }
                Some(c) => (o.vault().id.clone(), c.clone(), o.have()),
            }
        };
        let nonce = hex::encode(rand::random::<[u8; 32]>());
        send(&Msg::Challenge {
            vault: vault_id.clone(),
            nonce: nonce.clone(),
            share: share.share.clone(),
            have,
            need: self.need,
        })?;
        let Msg::Share { plain, sig } = recv(&mut r)? else {
            return refuse(&mut send, "expected the share".into(), have);
        };
        let plain = Zeroizing::new(
            B64.decode(plain)
                .map_err(|e| format!("the share is not base64: {e}"))?,
        );
        if share.kind == "ssh" {
            let key = match audit::sshsig::PublicKey::from_openssh(&share.recipient) {
                Ok(k) => k,
                Err(e) => {
                    return refuse(
                        &mut send,
                        format!("{custodian}'s key in the vault does not parse: {e}"),
                        have,
                    )
                }
            };
            let msg = message(&vault_id, &nonce, &custodian, &plain);
            let ok = sig
                .as_deref()
                .map(|s| audit::sshsig::verify(&key, NAMESPACE, msg.as_bytes(), s));
            match ok {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    return refuse(
                        &mut send,
                        format!("the signature is not {custodian}'s: {e}"),
                        have,
                    )
                }
                None => {
                    return refuse(
                        &mut send,
                        format!("{custodian} is an SSH custodian and must sign the unseal"),
                        have,
                    )
                }
            }
        }
        let mut g = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        let Some(o) = g.as_mut() else {
            return refuse(&mut send, "already open".into(), self.need);
        };
        match o.add(&custodian, plain) {
            Err(e) => {
                let have = o.have();
                drop(g);
                refuse(&mut send, e.to_string(), have)
            }
            Ok(None) => {
                let reply = Reply {
                    accepted: true,
                    reason: None,
                    have: o.have(),
                    need: self.need,
                    sealed: true,
                };
                drop(g);
                let _ = send(&Msg::Result(reply.clone()));
                Ok(Outcome {
                    custodian,
                    reply,
                    opened: None,
                })
            }
            Ok(Some(opened)) => {
                *g = None;
                drop(g);
                let reply = Reply {
                    accepted: true,
                    reason: None,
                    have: self.need,
                    need: self.need,
                    sealed: false,
                };
                let _ = send(&Msg::Result(reply.clone()));
                Ok(Outcome {
                    custodian,
                    reply,
                    opened: Some(opened),
                })
            }
        }
    }
}

/// Why a custodian's unseal did not go through.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    /// The channel failed.
    #[error("{0}")]
    Link(String),
    /// The listener refused before sending the share.
    #[error("refused: {0}")]
    Refused(String),
    /// The share could not be decrypted here.
    #[error(transparent)]
    Share(#[from] crate::custodian::ShareError),
    /// The signature could not be made.
    #[error(transparent)]
    Sign(#[from] audit::sshsig::SigError),
}

/// As custodian `name`, decrypt your share with `identity` and give it to the listener
/// at `addr` whose link key is `listener` (from its operator).
pub fn unseal(
    addr: SocketAddr,
    listener: &LinkPublic,
    name: &str,
    identity: &Path,
    passphrase: Option<age::secrecy::SecretString>,
) -> Result<Reply, UnsealError> {
    let l = |e: link::LinkError| UnsealError::Link(format!("{addr}: {e}"));
    let conn = link::dial(addr, &LinkKey::generate(), listener, HANDSHAKE).map_err(l)?;
    let (mut w, mut r) = conn.split();
    r.set_read_timeout(Some(ANSWER)).map_err(l)?;
    let send = |w: &mut link::LinkWriter, m: &Msg| {
        w.send(&serde_json::to_vec(m).expect("serializes"))
            .map_err(l)
    };
    let recv = |r: &mut link::LinkReader| -> Result<Msg, UnsealError> {
        let b = r.recv().map_err(l)?;
        serde_json::from_slice(&b)
            .map_err(|e| UnsealError::Link(format!("{addr} answered with something else: {e}")))
    };
    send(
        &mut w,
        &Msg::Hello {
            custodian: name.into(),
        },
    )?;
    let (vault, nonce, share) = match recv(&mut r)? {
        Msg::Challenge {
            vault,
            nonce,
            share,
            ..
        } => (vault, nonce, share),
        Msg::Refused { reason } => return Err(UnsealError::Refused(reason)),
        Msg::Result(reply) => return Ok(reply),
        _ => return Err(UnsealError::Link(format!("{addr} answered out of turn"))),
    };
    // The share's kind follows from the identity: an SSH key also signs.
    let is_ssh = std::fs::read_to_string(identity).is_ok_and(|t| t.contains("PRIVATE KEY-----"));
    let cs = crate::file::CustodianShare {
        name: name.into(),
        kind: if is_ssh { "ssh" } else { "age" }.into(),
        recipient: String::new(),
        share,
        commitment: String::new(),
    };
    let plain = crate::custodian::decrypt_share(&cs, identity, passphrase.clone())?;
    let sig = if is_ssh {
        let id = audit::Identity::load_with_passphrase(
            identity,
            passphrase.as_ref().map(|p| {
                use age::secrecy::ExposeSecret;
                p.expose_secret().as_bytes().to_vec()
            }),
        )?;
        Some(id.sign(NAMESPACE, message(&vault, &nonce, name, &plain).as_bytes())?)
    } else {
        None
    };
    send(
        &mut w,
        &Msg::Share {
            plain: B64.encode(&*plain),
            sig,
        },
    )?;
    match recv(&mut r)? {
        Msg::Result(reply) => Ok(reply),
        Msg::Refused { reason } => Err(UnsealError::Refused(reason)),
        _ => Err(UnsealError::Link(format!("{addr} answered out of turn"))),
    }
}
