//! Checks of a chain's Cosmos SDK settings (`rest`, `abci_query`, addresses).

use super::sections::ChainConfig;

/// Append every problem with a chain's Cosmos SDK settings to `p`.
pub(crate) fn validate_chain(c: &ChainConfig, p: &mut Vec<String>) {
    let what = format!("chain {:?}", c.id);
    for u in &c.rest {
        super::check_url(p, &format!("{what} rest"), u);
    }
    if c.sdk_interval.is_zero() {
        p.push(format!("{what}: sdk_interval must be above 0s"));
    }
    if c.sdk_slow_interval.is_zero() {
        p.push(format!("{what}: sdk_slow_interval must be above 0s"));
    }
    let mut prefix = None;
    if let Some(op) = &c.operator_address {
        match crate::bech32::decode(op) {
            Err(e) => p.push(format!(
                "{what}: operator_address {op:?} {e}; copy it from the chain (e.g. `query staking validators`)"
            )),
            Ok((hrp, data)) => match hrp.strip_suffix("valoper").filter(|x| !x.is_empty()) {
                None => p.push(format!(
                    "{what}: operator_address {op:?} is not a validator operator address (it should start with <prefix>valoper1, e.g. cosmosvaloper1...)"
                )),
                Some(x) => {
                    if data.len() != 20 && data.len() != 32 {
                        p.push(format!(
                            "{what}: operator_address {op:?} holds {} bytes, not 20 or 32",
                            data.len()
                        ));
                    }
                    prefix = Some(x.to_string());
                }
            },
        }
    }
    if let Some(b) = &c.bech32_prefix {
        let ok = !b.is_empty()
            && b.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit());
        if !ok {
            p.push(format!(
                "{what}: bech32_prefix {b:?} must be the lower-case account prefix, e.g. \"cosmos\""
            ));
        }
        if let Some(x) = &prefix {
            if x != b {
                p.push(format!(
                    "{what}: bech32_prefix {b:?} does not match operator_address, whose prefix is {x:?}"
                ));
            }
        }
        prefix.get_or_insert_with(|| b.clone());
    }
    if c.abci_query && !c.rest.is_empty() {
        p.push(format!(
            "{what}: set either rest (read the Cosmos SDK data over REST) or abci_query = true (read it through rpc), not both"
        ));
    }
    if c.rest.is_empty() && !c.abci_query {
        if c.operator_address.is_some() || c.bech32_prefix.is_some() {
            p.push(format!(
                "{what}: operator_address and bech32_prefix are used to read Cosmos SDK data: add rest = [\"http://...:1317\"], or abci_query = true to read it through rpc"
            ));
        }
    } else if c.validator_address.is_some() && prefix.is_none() {
        p.push(format!(
            "{what}: with Cosmos SDK data and validator_address, give operator_address (or bech32_prefix) so the consensus address can be written in bech32 for the slashing module"
        ));
    }
    if let Some(o) = &c.oracle {
        if c.rest.is_empty() || c.operator_address.is_none() {
            p.push(format!(
                "{what}: [chain.oracle] is read over REST for our validator: give rest = [\"http://...:1317\"] and operator_address (an ABCI query does not read it)"
            ));
        }
        if !o.prefix.starts_with('/')
            || o.prefix.ends_with('/')
            || o.prefix.contains(char::is_whitespace)
        {
            p.push(format!(
                "{what}: [chain.oracle] prefix {:?} must be a REST path such as \"/umee/oracle/v1\" (starting with /, not ending with one)",
                o.prefix
            ));
        }
    }
    let mut names = std::collections::HashSet::new();
    for w in &c.wallets {
        if !names.insert(w.name.as_str()) {
            p.push(format!("{what}: wallet {:?} is listed twice", w.name));
        }
        w.check(&c.id, prefix.as_deref(), p);
    }
    if !c.wallets.is_empty() && c.rest.is_empty() && !c.abci_query {
        p.push(format!(
            "{what}: wallet balances are read like the rest of the Cosmos SDK data: add rest = [\"http://...:1317\"], or abci_query = true to read them through rpc"
        ));
    }
}
