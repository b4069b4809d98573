//! Distributed key generation: n cosigners make a new t-of-n validator key together,
//! over their pinned links, so that the whole key never exists anywhere.
//!
//! FROST's DKG (`frost_ed25519::keys::dkg`, the Pedersen DKG with proofs of knowledge)
//! in five steps, each message on the encrypted link of its pair (the lower id dials the
//! higher):
//!
//! 1. `hello`: id, threshold, the ids of all participants, a random nonce. The session id
//!    is the hash of the parameters and every nonce; every later message carries it, so a
//!    message of another run is refused.
//! 2. `round1`: each participant's commitment and proof of knowledge, to every other.
//! 3. `echo`: the hash of every round-1 package a participant holds. FROST's DKG is only
//!    safe when everyone saw the same round-1 packages; a participant that sent different
//!    ones to different peers is caught here and the run aborts, naming the peers whose
//!    view differs.
//! 4. `round2`: each participant's secret share for each other, only to its recipient.
//! 5. `done`: the group key and the hash of the public key package each ended with; any
//!    difference aborts.
//! 6. `kept`: each participant has the caller make its share durable (a pending file),
//!    then says so, and waits for every other's. Only a run in which every participant
//!    kept its share succeeds; a participant whose keeping fails aborts the run, and the
//!    others drop theirs. A run that fails after this participant kept its share, without
//!    an explicit abort (a peer gone silent), is [`DkgError::Unconfirmed`]: it is not
//!    known whether the others kept theirs, so the pending share is not thrown away.
//!
//! Nothing is written here: the caller's `keep` writes the share.

mod message;
mod net;
#[cfg(test)]
mod tests;

use crate::cosigner::Peer;
use crate::link::{LinkError, LinkKey};
use crate::share::{self, identifier, Share, ShareError};
use frost_ed25519::keys::dkg::{self as frost_dkg, round1, round2};
use frost_ed25519::Identifier;
use message::Message;
use rand_core::{OsRng, RngCore};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};
use zeroize::{Zeroize, Zeroizing};

/// What a participant needs.
#[derive(Debug)]
pub struct Settings {
    /// This participant's share id.
    pub id: u16,
    /// Shares needed to sign.
    pub threshold: u16,
    /// This participant's link key.
    pub key: LinkKey,
    /// The other participants, ids 1..=n without this one.
    pub peers: Vec<Peer>,
    /// How long to wait for the links, and for each message.
    pub timeout: Duration,
}

/// Why a DKG run failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum DkgError {
    /// Threshold, ids or peers are wrong.
    #[error("{0}")]
    Usage(String),
    /// A link failed, or its handshake was refused (a wrong pinned key).
    #[error("link with {peer}: {source}")]
    Link {
        /// The peer.
        peer: String,
        /// What failed.
        source: LinkError,
    },
    /// A peer with a higher id could not be reached.
    #[error(
        "could not reach {peer} at {addr} within {}: {last}. Check that its `bulwark \
         threshold dkg` is running and that its address is right",
        humanize(*after)
    )]
    Unreachable {
        /// The peer.
        peer: String,
        /// Its address.
        addr: SocketAddr,
        /// The timeout.
        after: Duration,
        /// The last error.
        last: String,
    },
    /// Peers with a lower id did not dial in.
    #[error(
        "{peers} did not connect within {}: start `bulwark threshold dkg` there, and check \
         that its config has this cosigner's address and link public key",
        humanize(*after)
    )]
    NotConnected {
        /// The peers' names.
        peers: String,
        /// The timeout.
        after: Duration,
    },
    /// A peer did not send a message in time.
    #[error("{peer} did not send its {what} within {}", humanize(*after))]
    Timeout {
        /// The peer.
        peer: String,
        /// The message.
        what: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// A peer closed its link before sending a message.
    #[error("{peer} closed its link before sending its {what}")]
    Closed {
        /// The peer.
        peer: String,
        /// The message.
        what: &'static str,
    },
    /// A peer gave up.
    #[error("{peer} aborted the DKG: {reason}")]
    Aborted {
        /// The peer.
        peer: String,
        /// Its reason.
        reason: String,
    },
    /// A peer broke the protocol.
    #[error("{peer} {reason}")]
    Protocol {
        /// The peer.
        peer: String,
        /// What it did.
        reason: String,
    },
    /// A peer sent a message of another run.
    #[error("{peer} sent a message of another DKG run (its session id differs); start every participant again")]
    Session {
        /// The peer.
        peer: String,
    },
    /// Participants hold different round-1 packages: one of them sent different
    /// packages to different peers.
    #[error(
        "round-1 echo mismatch with {peers}: they hold different round-1 packages than this \
         cosigner, so some participant sent different packages to different peers. The key \
         is not safe to make; nothing was written. Find out why and run the DKG again"
    )]
    EchoMismatch {
        /// The peers whose echo differs.
        peers: String,
    },
    /// Participants ended with different group keys or public key packages.
    #[error(
        "group key mismatch with {peers}: they ended with another group key or public key \
         package than this cosigner ({ours}); nothing was written. Run the DKG again"
    )]
    GroupKeyMismatch {
        /// The peers.
        peers: String,
        /// This cosigner's group key (hex).
        ours: String,
    },
    /// FROST refused a package.
    #[error("the DKG failed: {0}")]
    Frost(String),
    /// The result is not a usable share (a bug).
    #[error("the DKG made an unusable share: {0}")]
    Share(#[from] ShareError),
    /// Listening failed.
    #[error("DKG listener: {0}")]
    Io(#[from] std::io::Error),
    /// Making this participant's share durable failed.
    #[error("could not keep its share: {0}")]
    Keep(String),
    /// This participant kept its share, then the run failed without an abort: the others
    /// may or may not have kept theirs.
    #[error(
        "this cosigner kept its share of group key {group}, but the DKG did not finish: \
         {source}. It is not known whether every participant kept its share"
    )]
    Unconfirmed {
        /// The group key (hex).
        group: String,
        /// What failed.
        source: Box<DkgError>,
    },
    /// Another part of the run failed first.
    #[error("stopped")]
    Stopped,
}

impl DkgError {
    /// True for wrong parameters (exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, DkgError::Usage(_))
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Refuse a threshold of n/2 or less, and ids other than 1..=n.
pub fn check(settings: &Settings) -> Result<(), DkgError> {
    let total = u16::try_from(settings.peers.len() + 1)
        .map_err(|_| DkgError::Usage("too many peers".into()))?;
    if let Some(reason) = share::parameter_problem(settings.threshold, total) {
        return Err(DkgError::Usage(reason));
    }
    let mut ids: Vec<u16> = settings.peers.iter().map(|p| p.id).collect();
    ids.push(settings.id);
    ids.sort_unstable();
    if ids != (1..=total).collect::<Vec<_>>() {
        return Err(DkgError::Usage(format!(
            "the DKG needs the cosigners' ids to be 1..={total} (this one and its peers), \
             but they are {ids:?}"
        )));
    }
    if settings.timeout.is_zero() {
        return Err(DkgError::Usage("the timeout must be more than 0".into()));
    }
    Ok(())
}

/// What makes a participant's share durable before it tells the others (step 6).
pub type Keep<'a> = &'a mut dyn FnMut(&Share) -> Result<(), String>;

/// Run the DKG as participant `settings.id`, the peers' links arriving on `listener`;
/// `keep` makes the share durable. Returns this participant's share of the new key once
/// every participant has kept its own.
pub fn run(listener: &TcpListener, settings: &Settings, keep: Keep<'_>) -> Result<Share, DkgError> {
    run_with(listener, settings, keep, &Tamper::default())
}

/// Misbehaviour for the tests: round-1 packages sent to some peers instead of the real
/// one.
#[derive(Default)]
pub(crate) struct Tamper {
    #[cfg_attr(not(test), allow(dead_code))]
    pub round1_to: BTreeMap<u16, round1::Package>,
    /// Close the links after keeping the share, without saying so (a crash).
    #[cfg_attr(not(test), allow(dead_code))]
    pub vanish_after_keep: bool,
}

pub(crate) fn run_with(
    listener: &TcpListener,
    settings: &Settings,
    keep: Keep<'_>,
    tamper: &Tamper,
) -> Result<Share, DkgError> {
    check(settings)?;
    let mut links = net::connect(
        listener,
        settings.id,
        &settings.key,
        &settings.peers,
        settings.timeout,
    )?;
    tracing::info!(peers = settings.peers.len(), "DKG links up");
    ceremony(&mut links, settings, keep, tamper).inspect_err(|e| match e {
        // A peer's own abort or silence after the shares were kept: telling the others
        // to give up would make them drop shares that may be the key's.
        DkgError::Unconfirmed { .. } => links.close_all(),
        _ => links.abort_all(&e.to_string()),
    })
}

/// A frost error, naming the culprit when there is one.
fn frost_error(links: &net::Links, e: frost_ed25519::Error) -> DkgError {
    let culprits = e.culprits();
    let by = culprits
        .iter()
        .filter_map(|c| links.ids().into_iter().find(|i| identifier(*i) == *c))
        .map(|i| links.name(i))
        .collect::<Vec<_>>();
    if by.is_empty() {
        DkgError::Frost(e.to_string())
    } else {
        DkgError::Protocol {
            peer: by.join(", "),
            reason: format!("sent a package that does not verify: {e}"),
        }
    }
}

fn ceremony(
    links: &mut net::Links,
    settings: &Settings,
    keep: Keep<'_>,
    tamper: &Tamper,
) -> Result<Share, DkgError> {
    let me = settings.id;
    let t = settings.threshold;
    let peers = links.ids();
    let total = peers.len() as u16 + 1;
    let mut all_ids: Vec<u16> = peers.clone();
    all_ids.push(me);
    all_ids.sort_unstable();

    // 1. Hello and the session id.
    let mut nonce = [0u8; 32];
    OsRng.fill_bytes(&mut nonce);
    let hello = Message::Hello {
        version: message::VERSION,
        id: me,
        threshold: t,
        ids: all_ids.clone(),
        nonce: hex::encode(nonce),
    };
    for &p in &peers {
        links.send(p, &hello)?;
    }
    let since = Instant::now();
    let mut nonces = BTreeMap::from([(me, nonce)]);
    for &p in &peers {
        let Message::Hello {
            version,
            id,
            threshold,
            ids,
            nonce,
        } = links.recv(p, "hello", None, since)?
        else {
            unreachable!("recv checks the kind")
        };
        let bad = |reason: String| DkgError::Protocol {
            peer: links.name(p),
            reason,
        };
        if version != message::VERSION {
            return Err(bad(format!(
                "speaks DKG version {version}, this cosigner {}; run the same Bulwark release \
                 everywhere",
                message::VERSION
            )));
        }
        if id != p {
            return Err(bad(format!(
                "says it is share id {id}, but this cosigner's config has id {p} for it"
            )));
        }
        if threshold != t {
            return Err(bad(format!(
                "was given threshold {threshold}, this cosigner {t}; give every participant \
                 the same --threshold"
            )));
        }
        if ids != all_ids {
            return Err(bad(format!(
                "has the participants {ids:?} in its config, this cosigner {all_ids:?}"
            )));
        }
        let nonce = hex::decode(&nonce)
            .ok()
            .and_then(|n| <[u8; 32]>::try_from(n).ok())
            .ok_or_else(|| bad("sent a hello nonce that is not 32 bytes of hex".into()))?;
        nonces.insert(p, nonce);
    }
    let session = hex::encode(message::session_id(t, &nonces));
    tracing::info!(%session, "DKG session agreed");

    // 2. Round 1, broadcast.
    let (secret1, own1) = frost_dkg::part1(identifier(me), total, t, OsRng)
        .map_err(|e| DkgError::Frost(e.to_string()))?;
    for &p in &peers {
        let package = tamper.round1_to.get(&p).unwrap_or(&own1).clone();
        links.send(
            p,
            &Message::Round1 {
                session: session.clone(),
                package,
            },
        )?;
    }
    let since = Instant::now();
    let mut round1_in: BTreeMap<u16, round1::Package> = BTreeMap::new();
    for &p in &peers {
        let Message::Round1 { package, .. } =
            links.recv(p, "round-1 package", Some(&session), since)?
        else {
            unreachable!("recv checks the kind")
        };
        round1_in.insert(p, package);
    }

    // 3. Echo: everyone must hold the same round-1 packages.
    let mut held = round1_in.clone();
    held.insert(me, own1);
    let session_bytes: [u8; 32] = hex::decode(&session)
        .expect("our own hex")
        .try_into()
        .expect("32 bytes");
    let digest = hex::encode(
        message::echo_digest(&session_bytes, &held).map_err(|e| DkgError::Frost(e.to_string()))?,
    );
    for &p in &peers {
        links.send(
            p,
            &Message::Echo {
                session: session.clone(),
                digest: digest.clone(),
            },
        )?;
    }
    let since = Instant::now();
    let mut differ = Vec::new();
    for &p in &peers {
        let Message::Echo { digest: theirs, .. } =
            links.recv(p, "round-1 echo", Some(&session), since)?
        else {
            unreachable!("recv checks the kind")
        };
        if theirs != digest {
            differ.push(links.name(p));
        }
    }
    if !differ.is_empty() {
        return Err(DkgError::EchoMismatch {
            peers: differ.join(", "),
        });
    }
    tracing::info!("DKG round 1 done, every participant holds the same packages");

    // 4. Round 2, each share only to its recipient.
    let by_ident: BTreeMap<Identifier, round1::Package> = round1_in
        .iter()
        .map(|(i, p)| (identifier(*i), p.clone()))
        .collect();
    let (secret2, round2_out) =
        frost_dkg::part2(secret1, &by_ident).map_err(|e| frost_error(links, e))?;
    for &p in &peers {
        let package = &round2_out[&identifier(p)];
        let bytes = Zeroizing::new(
            package
                .serialize()
                .map_err(|e| DkgError::Frost(e.to_string()))?,
        );
        let msg = Message::Round2 {
            session: session.clone(),
            package: hex::encode(&bytes[..]),
        };
        let sent = links.send(p, &msg);
        if let Message::Round2 { mut package, .. } = msg {
            package.zeroize();
        }
        sent?;
    }
    drop(round2_out);
    let since = Instant::now();
    let mut round2_in: BTreeMap<Identifier, round2::Package> = BTreeMap::new();
    for &p in &peers {
        let Message::Round2 { mut package, .. } =
            links.recv(p, "round-2 package", Some(&session), since)?
        else {
            unreachable!("recv checks the kind")
        };
        let bytes = Zeroizing::new(hex::decode(&package).unwrap_or_default());
        package.zeroize();
        let parsed = round2::Package::deserialize(&bytes).map_err(|_| DkgError::Protocol {
            peer: links.name(p),
            reason: "sent a round-2 package that does not decode".into(),
        })?;
        round2_in.insert(identifier(p), parsed);
    }

    // 5. The result, compared.
    let (key_package, public) =
        frost_dkg::part3(&secret2, &by_ident, &round2_in).map_err(|e| frost_error(links, e))?;
    drop(round2_in);
    let group = hex::encode(
        public
            .verifying_key()
            .serialize()
            .map_err(|e| DkgError::Frost(e.to_string()))?,
    );
    let public_digest =
        hex::encode(message::public_digest(&public).map_err(|e| DkgError::Frost(e.to_string()))?);
    for &p in &peers {
        links.send(
            p,
            &Message::Done {
                session: session.clone(),
                group_public_key: group.clone(),
                public_package: public_digest.clone(),
            },
        )?;
    }
    let since = Instant::now();
    let mut differ = Vec::new();
    for &p in &peers {
        let Message::Done {
            group_public_key,
            public_package,
            ..
        } = links.recv(p, "group key", Some(&session), since)?
        else {
            unreachable!("recv checks the kind")
        };
        if group_public_key != group || public_package != public_digest {
            differ.push(links.name(p));
        }
    }
    if !differ.is_empty() {
        return Err(DkgError::GroupKeyMismatch {
            peers: differ.join(", "),
            ours: group,
        });
    }
    tracing::info!(group_public_key = %group, "every participant has the same group key");

    // 6. Kept: every participant's share durable before any calls the run done.
    let share = Share::from_parts(key_package, public, total)?;
    keep(&share).map_err(DkgError::Keep)?;
    if tamper.vanish_after_keep {
        links.close_all();
        return Err(DkgError::Stopped);
    }
    let unconfirmed = |e: DkgError| match e {
        DkgError::Aborted { .. } => e,
        e => DkgError::Unconfirmed {
            group: group.clone(),
            source: Box::new(e),
        },
    };
    for &p in &peers {
        links
            .send(
                p,
                &Message::Kept {
                    session: session.clone(),
                },
            )
            .map_err(unconfirmed)?;
    }
    let since = Instant::now();
    for &p in &peers {
        links
            .recv(p, "kept share", Some(&session), since)
            .map_err(unconfirmed)?;
    }
    tracing::info!(group_public_key = %group, "DKG done, every participant kept its share");
    Ok(share)
}
