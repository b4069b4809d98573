//! What a node serves its users: how fast its RPC answers (`rpc_slow`) and how much
//! history it keeps (`rpc_history`, against its `[[node]] history`).

use crate::config::{History, Levels, Severity};
use crate::rules::{level_up, push, About, Outcome};
use crate::state::{Observed, Ts};

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, _now: Ts, out: &mut Vec<Outcome>) {
    for n in obs.nodes.iter().filter(|n| n.up) {
        let cfg = levels.node(&n.name, &n.chain);
        let about = About::node(&n.chain, &n.name);
        let who = format!("{} ({}, {})", n.name, n.role.as_str(), n.chain);
        if let Some(l) = n.latency_seconds {
            let r = cfg.rpc_slow;
            let key = format!("rpc_slow/{}", n.name);
            let sev = level_up(l, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            push(out, key.clone(), sev, |s| {
                about.condition(
                    "rpc_slow",
                    key,
                    s,
                    format!(
                        "{who}: its RPC took {:.1} s to answer /status; whoever uses it waits as long: check its load, disk and the requests it serves",
                        l
                    ),
                    std::time::Duration::ZERO,
                )
            });
        }
        if let (Some(want), Some(earliest), Some(height)) = (n.history, n.earliest_height, n.height)
        {
            let kept = height.saturating_sub(earliest) + 1;
            let short = match want {
                History::Archive => (earliest > 1).then(|| "every block (archive)".to_string()),
                History::Blocks(b) => {
                    (kept < b && height >= b).then(|| format!("the last {b} blocks"))
                }
            };
            let key = format!("rpc_history/{}", n.name);
            push(
                out,
                key.clone(),
                short.as_ref().map(|_| Severity::Warning),
                |s| {
                    about.condition(
                    "rpc_history",
                    key,
                    s,
                    format!(
                        "{who} serves blocks from height {earliest} only ({kept} blocks) but should serve {}: check its pruning and min-retain-blocks settings, or restore it from an archive snapshot",
                        short.clone().unwrap_or_default()
                    ),
                    cfg.rpc_history.for_,
                )
                },
            );
        }
    }
}
