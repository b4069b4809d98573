//! The Cosmos SDK collector: reads a chain's slashing, staking and upgrade data over
//! REST ([`rest`]) or by ABCI query ([`abci`], with the protobuf in [`proto`]), with
//! failover between endpoints ([`source`]), into the chain's `state::SdkState`.

pub mod abci;
pub mod abci_slow;
pub mod collector;
pub mod oracle;
pub mod proto;
pub mod proto_slow;
pub mod rest;
pub mod rest_slow;
pub mod slow;
pub mod source;

use crate::config::ChainConfig;
use crate::sdk::Via;
use abci::Abci;
use rest::Rest;
use source::Source;

/// Where the chain's Cosmos SDK data is read from, if it is read: its `rest` endpoints,
/// or its `rpc` endpoints by ABCI query.
pub fn sources(
    c: &ChainConfig,
    http: &reqwest::Client,
    timeout: std::time::Duration,
) -> Option<(Via, Vec<Source>)> {
    if c.abci_query {
        let rpcs = c.rpc.iter().map(|u| {
            Source::Abci(Abci::new(crate::collect::rpc::Rpc::new(
                http.clone(),
                u,
                timeout,
            )))
        });
        Some((Via::Abci, rpcs.collect()))
    } else if !c.rest.is_empty() {
        let rests = c
            .rest
            .iter()
            .map(|u| Source::Rest(Rest::new(http.clone(), u, timeout)));
        Some((Via::Rest, rests.collect()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
