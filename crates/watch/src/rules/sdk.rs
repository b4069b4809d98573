//! Cosmos SDK rules: share of the slashing window used, projected time until jail,
//! jailed, tombstoned, out of the active set, unknown validator, scheduled upgrade,
//! and unhealthy SDK endpoints (REST, or RPC for ABCI queries).
//!
//! Data rules speak only while the SDK data is current (`fresh`, and not more than 20
//! blocks behind the chain's RPC height): when every endpoint fails, `source_unhealthy`
//! says so, when the data lags `sdk_behind` does, and the other alerts stay as they were.

use crate::config::Severity;
use crate::config::{Levels, RulesConfig};
use crate::rules::{level_down, level_up, push, push_held, About, Condition, Outcome};
use crate::state::{assess, SdkState};
use crate::state::{ChainState, Observed, Ts};
use crate::time::human;
use std::time::Duration;

/// SDK data this many blocks behind the chain's RPC height is not used (warning).
const SDK_LAG_WARNING: u64 = 20;
/// ... and this far behind it is critical.
const SDK_LAG_CRITICAL: u64 = 200;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for c in &obs.chains {
        let cfg = levels.chain(&c.id);
        let Some(s) = &c.sdk else {
            continue;
        };
        sources(cfg, c, s, now, out);
        if !s.fresh {
            continue;
        }
        // SDK data from a node that is stuck or syncing is old: say so, and judge
        // nothing by it.
        let lag = match (c.height, s.height) {
            (Some(chain), Some(sdk)) => chain.saturating_sub(sdk),
            _ => 0,
        };
        let about = About::chain(&c.id);
        let key = format!("sdk_behind/{}", c.id);
        let sev = if lag > SDK_LAG_CRITICAL {
            Some(Severity::Critical)
        } else if lag > SDK_LAG_WARNING {
            Some(Severity::Warning)
        } else {
            None
        };
        let summary = format!(
            "{}: the Cosmos SDK data is at height {}, {lag} blocks behind the chain (at {}): the node of its {} is stuck or syncing, so slashing, jail and upgrade data are NOT current; fix it or add an endpoint",
            c.id,
            s.height.unwrap_or(0),
            c.height.unwrap_or(0),
            s.via.endpoints()
        );
        push(out, key.clone(), sev, |sev| {
            about.condition("sdk_behind", key, sev, summary, Duration::ZERO)
        });
        if lag > SDK_LAG_WARNING {
            continue;
        }
        let Some(a) = assess(c) else {
            continue;
        };
        let id = &c.id;
        let who = who(s);
        let tell = |blocks: u64, secs: Option<f64>| {
            let unit = if blocks == 1 { "block" } else { "blocks" };
            match secs {
                Some(t) => format!("~{blocks} {unit} (~{})", human(t)),
                None => format!("~{blocks} {unit}"),
            }
        };

        // The chain does not know our validator: a wrong address in watch.toml.
        let key = format!("validator_unknown/{id}");
        let unknown: Vec<&String> = s
            .not_found
            .iter()
            .filter(|m| !m.starts_with("signing info") || a.bonded != Some(false))
            .collect();
        let sev = (!unknown.is_empty()).then_some(Severity::Warning);
        push(out, key.clone(), sev, |sev| {
            let list: Vec<&str> = unknown.iter().map(|m| m.as_str()).collect();
            about.condition("validator_unknown", key, sev, format!(
                "{id}: the chain does not know our validator {who} ({}); check operator_address and validator_address in watch.toml, or whether the validator was ever created",
                list.join("; ")
            ), Duration::ZERO)
        });

        // Tombstoned.
        if let Some(t) = a.tombstoned {
            let key = format!("validator_tombstoned/{id}");
            push(out, key.clone(), t.then_some(Severity::Critical), |sev| {
                about.condition("validator_tombstoned", key, sev, format!(
                    "{id}: our validator {who} is TOMBSTONED: the chain committed double-sign evidence against its key, slashed its stake and jailed it for good; make sure no second signer runs with that key and plan a new validator"
                ), Duration::ZERO)
            });
        }

        // Jailed.
        if let Some(j) = a.jailed {
            let key = format!("validator_jailed/{id}");
            push(out, key.clone(), j.then_some(Severity::Critical), |sev| {
                let until = s.signing_info.as_ref().and_then(|i| i.jailed_until);
                let unjail = if a.tombstoned == Some(true) {
                    "it is tombstoned and can never be unjailed".to_string()
                } else {
                    match until {
                        Some(u) if u > now => format!(
                            "fix the cause (node, signer, missed blocks), then send `tx slashing unjail` from the operator key after {} (in {})",
                            crate::time::rfc3339(u),
                            human(u - now)
                        ),
                        _ => "the jail time is over: fix the cause (node, signer, missed blocks) and send `tx slashing unjail` from the operator key now".into(),
                    }
                };
                let status = s
                    .validator
                    .as_ref()
                    .map_or(String::new(), |v| format!(" (status {})", v.status));
                about.condition("validator_jailed", key, sev, format!(
                    "{id}: our validator {who} is JAILED{status}: it signs no blocks and earns no rewards; {unjail}"
                ), Duration::ZERO)
            });
        }

        // Out of the active set while not jailed.
        if let Some(v) = &s.validator {
            let key = format!("validator_inactive/{id}");
            match s.inactive_since {
                None => out.push(Outcome::Clear(key)),
                Some(since) => {
                    let r = cfg.validator_inactive;
                    let age = now - since;
                    let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
                    push_held(out, sev, |sev| {
                        about.condition("validator_inactive", key, sev, format!(
                            "{id}: our validator {who} has been out of the active set for {} ({}, not jailed): it signs no blocks and earns no rewards; its stake ({} tokens) is below the active set's cutoff: check its delegations and the chain's max_validators",
                            human(age), v.status, v.tokens
                        ), Duration::ZERO)
                    });
                }
            }
        }

        let rate_text = || {
            let pct = a.miss_rate.unwrap_or(0.0) * 100.0;
            match a.miss_rate_blocks {
                Some(0) | None => {
                    format!("{pct:.0}% of recent blocks, from the chain's missed-blocks counter")
                }
                Some(n) => format!("{pct:.0}% of the last {n} blocks"),
            }
        };
        let out_of_play = a.jailed == Some(true) || a.tombstoned == Some(true);
        // Share of the slashing window used.
        if let (Some(ratio), Some(missed), Some(allowed), Some(p)) = (
            a.window_missed_ratio,
            a.missed_in_window,
            a.allowed_missed,
            &s.slashing_params,
        ) {
            let r = cfg.window_missed;
            let key = format!("window_missed/{id}");
            let pct = ratio * 100.0;
            let sev = if out_of_play {
                None
            } else {
                level_up(pct, r.warning, r.critical)
            };
            push(out, key.clone(), sev, |sev| {
                let worst = a.jail_in_blocks_if_down.map_or(String::new(), |b| {
                    format!(
                        "; missing every block from now, it would be jailed in {}",
                        tell(b, a.jail_in_seconds_if_down)
                    )
                });
                let outlook = match (a.jail_in_blocks, a.miss_rate) {
                    (Some(b), _) => format!(
                        "at the current miss rate it is jailed in {}",
                        tell(b, a.jail_in_seconds)
                    ),
                    (None, Some(rate)) if rate > 0.0 => format!(
                        "at its recent miss rate ({}) it stays below the limit{worst}",
                        rate_text()
                    ),
                    _ => format!(
                        "it signs now and the misses leave the window as new blocks come{worst}"
                    ),
                };
                about.condition("window_missed", key, sev, format!(
                    "{id}: our validator {who} missed {missed} of the last {} blocks, {pct:.0}% of the {allowed} the chain allows before jailing; {outlook}; check the validator node and its signer",
                    p.signed_blocks_window
                ), r.for_)
            });
        }

        // Projected time until jail.
        if a.window_missed_ratio.is_some() {
            let r = cfg.jail_in;
            let key = format!("jail_in/{id}");
            match (a.jail_in_blocks.filter(|_| !out_of_play), a.jail_in_seconds) {
                (None, _) => out.push(Outcome::Clear(key)),
                // No block time yet: no projection in time, and no resolve either.
                (Some(_), None) => {}
                (Some(blocks), Some(secs)) => {
                    let sev = level_down(secs, r.warning.as_secs_f64(), r.critical.as_secs_f64());
                    push(out, key.clone(), sev, |sev| {
                        about.condition("jail_in", key, sev, format!(
                            "{id}: our validator {who} is jailed in {} at its current miss rate ({}): {} of the {} misses the chain allows are used; get it signing now (validator node, signer, the connection between them)",
                            tell(blocks, Some(secs)),
                            rate_text(),
                            a.missed_in_window.unwrap_or(0),
                            a.allowed_missed.unwrap_or(0)
                        ), Duration::ZERO)
                    });
                }
            }
        }

        // Scheduled upgrade.
        if !s.unavailable.iter().any(|m| m == "upgrade") {
            let key = format!("upgrade_in/{id}");
            match (&s.upgrade_plan, a.upgrade_in_blocks) {
                (Some(plan), Some(left)) if left <= 0 => {
                    out.push(Outcome::Firing(about.condition("upgrade_in", key, Severity::Critical, format!(
                        "{id}: the height {} of software upgrade {:?} is reached: the chain halts there until nodes run the new binary; switch our nodes to it now (cosmovisor does it when the binary is in place)",
                        plan.height, plan.name
                    ), Duration::ZERO)));
                }
                (Some(plan), Some(left)) => {
                    if let Some(secs) = a.upgrade_in_seconds {
                        let r = cfg.upgrade_in;
                        let sev =
                            level_down(secs, r.warning.as_secs_f64(), r.critical.as_secs_f64());
                        let bt = s.block_time_seconds.unwrap_or(0.0);
                        push(out, key.clone(), sev, |sev| {
                            about.condition("upgrade_in", key, sev, format!(
                                "{id}: software upgrade {:?} is scheduled at height {}, {left} blocks from now: about {} at the current {bt:.1}s block time (around {}); the chain halts there until nodes run the new binary: have it ready on every node (cosmovisor upgrades directory, or by hand at that height)",
                                plan.name, plan.height, human(secs), crate::time::rfc3339(now + secs)
                            ), Duration::ZERO)
                        });
                    }
                }
                (None, _) => out.push(Outcome::Clear(key)),
                _ => {}
            }
        }
    }
}

/// The SDK data's endpoints: like the RPC endpoints' `source_unhealthy`, critical only
/// when none is left.
fn sources(cfg: &RulesConfig, c: &ChainState, s: &SdkState, now: Ts, out: &mut Vec<Outcome>) {
    let healthy = s.sources.iter().filter(|x| x.healthy).count();
    for src in &s.sources {
        let key = format!("source_unhealthy/{}/{}/{}", c.id, s.via.name(), src.url);
        if src.healthy {
            out.push(Outcome::Clear(key));
            continue;
        }
        let Some(since) = src.unhealthy_since else {
            continue;
        };
        let r = cfg.source_unhealthy;
        let age = now - since;
        let mut sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
        if healthy > 0 && sev == Some(Severity::Critical) {
            sev = Some(Severity::Warning);
        }
        push_held(out, sev, |sev| Condition {
            key,
            rule: "source_unhealthy",
            severity: sev,
            chain: Some(c.id.clone()),
            node: None,
            host: None,
            summary: format!(
                "{}: {} {} has been unhealthy for {}: {}; {healthy} of {} {} healthy{}",
                c.id,
                s.via.endpoint(),
                src.url,
                human(age),
                src.error.as_deref().unwrap_or("unknown error"),
                s.sources.len(),
                s.via.endpoints(),
                if healthy == 0 {
                    ", so slashing, jail and upgrade data are NOT being checked: fix or add an endpoint"
                } else {
                    ""
                }
            ),
            hold: Duration::ZERO,
        });
    }
}

/// How our validator is named in summaries: moniker and operator address, or the
/// consensus address.
pub(super) fn who(s: &SdkState) -> String {
    match (&s.validator, &s.operator_address, &s.consensus_address) {
        (Some(v), _, _) if !v.moniker.is_empty() => {
            format!("{} ({})", v.moniker, v.operator_address)
        }
        (_, Some(op), _) => op.clone(),
        (_, None, Some(cons)) => cons.clone(),
        _ => "(no address configured)".into(),
    }
}
