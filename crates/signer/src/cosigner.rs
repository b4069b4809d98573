//! A threshold chain at start: its share checked against `[threshold]`, and the cosigner
//! links started with a coordinator for each threshold chain.

use crate::{config, Config, Opened, StartError};
use std::sync::Arc;

/// Load a chain's share and check it against `[threshold]`.
pub(crate) fn open_share(
    config: &Config,
    c: &config::ChainConfig,
    path: &std::path::Path,
) -> Result<threshold::share::Share, StartError> {
    let fail = |m: String| StartError::Threshold(format!("chain {}: {m}", c.id));
    let share = threshold::share::Share::load(path).map_err(|e| fail(e.to_string()))?;
    let t = config
        .threshold
        .as_ref()
        .ok_or_else(|| fail("a share needs a [threshold] section".into()))?;
    if share.id() != t.id {
        return Err(fail(format!(
            "share file {} is share {} but this cosigner is threshold.id = {}; give each cosigner its own share",
            path.display(),
            share.id(),
            t.id
        )));
    }
    if usize::from(share.total()) != t.peers.len() + 1 {
        return Err(fail(format!(
            "the key is split into {} shares but [threshold] names {} cosigners (this one and {} peers); configure every other cosigner as a [[threshold.peer]]",
            share.total(),
            t.peers.len() + 1,
            t.peers.len()
        )));
    }
    if let Some(p) = t.peers.iter().find(|p| p.id == 0 || p.id > share.total()) {
        return Err(fail(format!(
            "peer {} has share id {}, outside 1..={}",
            p.name,
            p.id,
            share.total()
        )));
    }
    Ok(share)
}

/// Start the cosigner links when `[threshold]` is set, and attach a coordinator to each
/// threshold chain.
pub(crate) fn start(
    config: &Config,
    chains: &[Opened],
    tmetrics: Option<threshold::metrics::Metrics>,
) -> Result<Option<threshold::cosigner::Cosigner>, StartError> {
    let (Some(t), Some(tmetrics)) = (&config.threshold, tmetrics) else {
        return Ok(None);
    };
    let fail = |m: String| StartError::Threshold(m);
    let key = threshold::link::LinkKey::load(&t.link_key)
        .map_err(|e| fail(format!("threshold.link_key: {e}")))?;
    let mut server = threshold::serve::Server::default();
    let mut ids = Vec::new();
    for (chain, share) in chains {
        if let Some(share) = share {
            let guard: Arc<dyn threshold::serve::ShareGuard> = chain.clone();
            let tips = chain.threshold().map(|t| t.tips()).unwrap_or_default();
            server.add(
                chain.chain_id(),
                threshold::serve::ServedChain {
                    key: share.key_package().clone(),
                    guard,
                    tips,
                },
            );
            ids.push(chain.chain_id().to_string());
        }
    }
    let settings = threshold::cosigner::Settings {
        id: t.id,
        listen: t.listen,
        key,
        peers: t
            .peers
            .iter()
            .map(|p| threshold::cosigner::Peer {
                id: p.id,
                name: p.name.clone(),
                addr: p.addr,
                public: p.link_public_key,
            })
            .collect(),
        chains: ids,
    };
    let cosigner =
        threshold::cosigner::Cosigner::start(settings, Arc::new(server), tmetrics.clone())
            .map_err(|e| {
                fail(format!(
                    "threshold.listen {}: {e}; pick a free address",
                    t.listen
                ))
            })?;
    for (chain, share) in chains {
        let (Some(share), Some(side)) = (share, chain.threshold()) else {
            continue;
        };
        let coordinator = threshold::coordinate::Coordinator::new(
            chain.chain_id(),
            share.key_package().clone(),
            share.public_key_package().clone(),
            cosigner.peers(),
            t.share_timeout,
        )
        .map_err(|e| fail(e.to_string()))?;
        side.attach(coordinator);
        tmetrics
            .threshold
            .get_or_create(&threshold::metrics::ChainLabels {
                chain: chain.chain_id().to_string(),
            })
            .set(i64::from(share.threshold()));
    }
    Ok(Some(cosigner))
}
