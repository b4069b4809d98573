//! After a Bulwark cost run: did the watch really read every replayed chain's Cosmos
//! SDK data? Read from its `/api/status`: the slashing, signing and staking data
//! (every `sdk_interval`), and the slow reads (governance proposals and our votes,
//! the wallet, our standing among the bonded validators, every `sdk_slow_interval`),
//! each against what the replay serves; and which alerts fire (only the `info`
//! reminders of the one proposal per chain our validator has not voted on should).

use super::cosmos;
use super::replay::chain_id;
use super::rest::{SdkChain, VOTED, VOTING, WALLET_AMOUNT};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What the check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SdkCheck {
    /// Chains whose slashing params, signing info and validator were read, current.
    pub chains_sdk_read: usize,
    /// Chains whose governance, wallet and standing were read as served.
    pub chains_slow_read: usize,
    /// Firing alerts by rule.
    pub alerts: BTreeMap<String, usize>,
    /// Firing alerts other than the expected governance reminders (keys, at most 10).
    pub unexpected_alerts: Vec<String>,
    /// The first few problems, one per chain.
    pub problems: Vec<String>,
}

impl SdkCheck {
    /// Whether every one of `chains` chains was read, and nothing else fires.
    pub fn complete(&self, chains: usize) -> bool {
        self.chains_sdk_read == chains
            && self.chains_slow_read == chains
            && self.unexpected_alerts.is_empty()
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

/// The data read every `sdk_interval`.
fn fast(sdk: &Value, want: &SdkChain) -> Result<(), String> {
    ensure(s(sdk, "/via") == Some("rest"), || {
        "not read over REST".into()
    })?;
    ensure(sdk["fresh"] == true, || {
        let errors: Vec<&str> = sdk["sources"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["error"].as_str()).collect())
            .unwrap_or_default();
        format!("SDK data not current: {errors:?}")
    })?;
    ensure(
        s(sdk, "/signing_info/address") == Some(&want.valcons),
        || format!("signing info {:?}", sdk["signing_info"]),
    )?;
    ensure(
        s(sdk, "/validator/operator_address") == Some(&want.operator),
        || format!("validator {:?}", sdk["validator"]),
    )?;
    ensure(
        sdk.pointer("/slashing_params/signed_blocks_window")
            .and_then(Value::as_u64)
            == Some(cosmos::SIGNED_BLOCKS_WINDOW),
        || format!("slashing params {:?}", sdk["slashing_params"]),
    )?;
    for k in ["unavailable", "not_found"] {
        ensure(sdk[k].as_array().is_none_or(|a| a.is_empty()), || {
            format!("{k}: {}", sdk[k])
        })?;
    }
    Ok(())
}

/// The data read every `sdk_slow_interval`.
fn slow(sdk: &Value, want: &SdkChain) -> Result<(), String> {
    let slow = &sdk["slow"];
    ensure(slow["error"].is_null(), || {
        format!("slow read: {}", slow["error"])
    })?;
    let gov = &slow["gov"];
    ensure(s(gov, "/api") == Some(want.gov_api()), || {
        format!("gov {:?}, not {}", gov["api"], want.gov_api())
    })?;
    ensure(s(gov, "/voter") == Some(&want.account), || {
        format!("gov voter {}", gov["voter"])
    })?;
    let proposals: Vec<(u64, bool)> = gov["proposals"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p["id"].as_u64()?, p["voted"].as_bool()?)))
                .collect()
        })
        .unwrap_or_default();
    let expected: Vec<(u64, bool)> = VOTING.iter().map(|id| (*id, *id == VOTED)).collect();
    ensure(proposals == expected, || {
        format!("proposals (id, voted) {proposals:?}, not {expected:?}")
    })?;
    let w = &slow["wallets"][0];
    let amount = WALLET_AMOUNT.to_string();
    ensure(
        w["error"].is_null() && s(w, "/amount") == Some(&amount),
        || format!("wallet {w}"),
    )?;
    let st = &slow["standing"];
    ensure(
        st["bonded_validators"].as_u64() == Some(want.bonded_count() as u64)
            && st["rank"].as_u64().is_some(),
        || format!("standing {st}"),
    )?;
    Ok(())
}

/// Check `status` (a watch's `/api/status`) against `chains`, the replay's, in order.
pub fn check(status: &Value, chains: &[&SdkChain]) -> SdkCheck {
    let mut c = SdkCheck::default();
    let listed = status["chains"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, want) in chains.iter().enumerate() {
        let id = chain_id(i);
        let Some(sdk) = listed
            .iter()
            .find(|x| s(x, "/id") == Some(&id))
            .map(|x| &x["sdk"])
        else {
            c.problems.push(format!("{id}: not in /api/status"));
            continue;
        };
        let f = fast(sdk, want);
        let sl = slow(sdk, want);
        c.chains_sdk_read += usize::from(f.is_ok());
        c.chains_slow_read += usize::from(sl.is_ok());
        if let Some(e) = f.err().or(sl.err()) {
            if c.problems.len() < 5 {
                c.problems.push(format!("{id}: {e}"));
            }
        }
    }
    for a in status["alerts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let rule = s(a, "/rule").unwrap_or("?");
        *c.alerts.entry(rule.to_string()).or_insert(0) += 1;
        let key = s(a, "/key").unwrap_or("?");
        let reminder = rule == "gov_unvoted"
            && s(a, "/severity") == Some("info")
            && key.ends_with(&format!("/{}", VOTING[0]));
        if !reminder && c.unexpected_alerts.len() < 10 {
            c.unexpected_alerts.push(key.to_string());
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, SystemTime};

    fn replay_chain(i: usize) -> SdkChain {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/fixtures/watch");
        let f = super::super::fixture::Fixture::load(&dir).unwrap();
        SdkChain::new(
            &chain_id(i),
            i,
            &f,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 30),
        )
    }

    fn status_of(w: &SdkChain, i: usize) -> Value {
        json!({
            "id": chain_id(i),
            "sdk": {
                "via": "rest", "fresh": true, "sources": [{ "healthy": true, "error": null }],
                "signing_info": { "address": w.valcons },
                "validator": { "operator_address": w.operator },
                "slashing_params": { "signed_blocks_window": 10_000 },
                "unavailable": [], "not_found": [],
                "slow": {
                    "error": null,
                    "gov": { "api": w.gov_api(), "voter": w.account, "proposals": [
                        { "id": 5, "voted": false }, { "id": 6, "voted": true }
                    ] },
                    "wallets": [{ "amount": WALLET_AMOUNT.to_string(), "error": null }],
                    "standing": { "bonded_validators": w.bonded_count(), "rank": 2 }
                }
            }
        })
    }

    #[test]
    fn every_chain_read_and_only_the_reminders_firing() {
        let (a, b) = (replay_chain(0), replay_chain(1));
        let doc = json!({
            "chains": [status_of(&a, 0), status_of(&b, 1)],
            "alerts": [
                { "rule": "gov_unvoted", "key": "gov_unvoted/replay-000/5", "severity": "info" },
                { "rule": "gov_unvoted", "key": "gov_unvoted/replay-001/5", "severity": "info" }
            ]
        });
        let c = check(&doc, &[&a, &b]);
        assert!(c.complete(2), "{c:?}");
        assert_eq!(c.alerts["gov_unvoted"], 2);
    }

    #[test]
    fn a_chain_not_read_is_named() {
        let a = replay_chain(0);
        let mut st = status_of(&a, 0);
        st["sdk"]["slow"]["gov"] = Value::Null;
        st["sdk"]["fresh"] = json!(false);
        let doc = json!({
            "chains": [st],
            "alerts": [{ "rule": "source_unhealthy", "key": "source_unhealthy/replay-000/rest", "severity": "warning" }]
        });
        let c = check(&doc, &[&a]);
        assert!(!c.complete(1));
        assert_eq!((c.chains_sdk_read, c.chains_slow_read), (0, 0));
        assert!(
            c.problems[0].starts_with("replay-000: SDK data not current"),
            "{c:?}"
        );
        assert_eq!(c.unexpected_alerts, ["source_unhealthy/replay-000/rest"]);
    }
}
