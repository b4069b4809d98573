//! Rule levels per chain, role, node, host and signer: what overrides what, durations
//! in blocks, and the errors for levels set where they cannot apply.

use std::time::Duration;
use watch::config::Levels;
use watch::{Config, ConfigError};

/// Lines added to each part of a config with two chains, three nodes and a host.
#[derive(Default)]
struct Extra {
    top: &'static str,
    fast: &'static str,
    slow: &'static str,
    v0: &'static str,
    host: &'static str,
}

fn text(e: &Extra) -> String {
    format!(
        r#"
state_path = "w.sqlite"
{top}
[rules.missed_in_a_row]
warning = 3
critical = 10

[[chain]]
id = "fast-1"
rpc = ["http://a:26657"]
block_time = "600ms"
{fast}

[[chain]]
id = "slow-1"
rpc = ["http://b:26657"]
{slow}

[[node]]
name = "v0"
chain = "fast-1"
role = "validator"
rpc = "http://a:26657"
{v0}

[[node]]
name = "s0"
chain = "fast-1"
role = "sentry"
rpc = "http://a:26658"

[[node]]
name = "v1"
chain = "slow-1"
role = "validator"
rpc = "http://b:26657"

[[host]]
name = "h0"
{host}
"#,
        top = e.top,
        fast = e.fast,
        slow = e.slow,
        v0 = e.v0,
        host = e.host
    )
}

fn levels(e: Extra) -> Levels {
    let c = Config::parse(&text(&e)).unwrap();
    Levels::new(&c).unwrap()
}

fn problems(e: Extra) -> Vec<String> {
    match Config::parse(&text(&e)) {
        Err(ConfigError::Invalid(p)) => p,
        other => panic!("accepted: {other:?}"),
    }
}

#[test]
fn without_overrides_every_subject_has_the_defaults() {
    let l = levels(Extra::default());
    for id in ["fast-1", "slow-1", "not-configured"] {
        let r = l.chain(id).missed_in_a_row;
        assert_eq!((r.warning, r.critical), (3, 10), "{id}");
    }
    assert_eq!(l.node("v0", "fast-1").peers_low.warning, 3);
    assert_eq!(l.host("h0").disk_used.warning, l.global().disk_used.warning);
}

#[test]
fn a_chain_overrides_field_by_field_and_only_itself() {
    let l = levels(Extra {
        fast: "rules.missed_in_a_row = { warning = 8 }\nrules.node_behind = { warning = 50, critical = 200 }",
        ..Extra::default()
    });
    let fast = l.chain("fast-1").missed_in_a_row;
    assert_eq!(
        (fast.warning, fast.critical),
        (8, 10),
        "critical from [rules]"
    );
    let slow = l.chain("slow-1").missed_in_a_row;
    assert_eq!((slow.warning, slow.critical), (3, 10));
    // A chain's node rules reach its nodes, and only its nodes.
    assert_eq!(l.node("v0", "fast-1").node_behind.warning, 50);
    assert_eq!(l.node("s0", "fast-1").node_behind.critical, 200);
    assert_eq!(l.node("v1", "slow-1").node_behind.warning, 5);
}

#[test]
fn a_node_over_its_role_over_its_chain() {
    let l = levels(Extra {
        top: "[roles.validator]\nrules.peers_low = { warning = 1, critical = 1 }\n",
        fast: "rules.peers_low = { warning = 8, critical = 2 }",
        v0: "rules.peers_low = { critical = 0 }",
        ..Extra::default()
    });
    let v0 = l.node("v0", "fast-1").peers_low;
    assert_eq!(
        (v0.warning, v0.critical),
        (1, 0),
        "warning from the role, critical its own"
    );
    let s0 = l.node("s0", "fast-1").peers_low;
    assert_eq!(
        (s0.warning, s0.critical),
        (8, 2),
        "the chain's, not a validator"
    );
    let v1 = l.node("v1", "slow-1").peers_low;
    assert_eq!(
        (v1.warning, v1.critical),
        (1, 1),
        "the role's, on another chain"
    );
}

#[test]
fn durations_in_blocks_use_the_chain_block_time() {
    let l = levels(Extra {
        fast: "rules.chain_stalled = { warning = \"50 blocks\", critical = \"200 blocks\" }\nrules.node_down = { warning = \"1 block\", critical = \"5m\" }",
        ..Extra::default()
    });
    let r = l.chain("fast-1").chain_stalled;
    assert_eq!(
        (r.warning, r.critical),
        (Duration::from_secs(30), Duration::from_secs(120))
    );
    let d = l.node("v0", "fast-1").node_down;
    assert_eq!(
        (d.warning, d.critical),
        (Duration::from_millis(600), Duration::from_secs(300))
    );
    assert_eq!(
        l.chain("slow-1").chain_stalled.warning,
        l.global().chain_stalled.warning
    );
}

#[test]
fn blocks_without_a_block_time_or_outside_a_chain_are_refused() {
    let p = problems(Extra {
        slow: "rules.chain_stalled = { warning = \"10 blocks\", critical = \"20 blocks\" }",
        host: "rules.exporter_down = { warning = \"10 blocks\", critical = \"1h\" }",
        ..Extra::default()
    });
    assert!(
        p.iter().any(|m| m.contains("chain \"slow-1\" rules: chain_stalled.warning is \"10 blocks\", in blocks, but the chain has no block_time: set block_time")),
        "{p:#?}"
    );
    assert!(
        p.iter().any(|m| m.contains("host \"h0\" rules: exporter_down.warning is in blocks, which only a chain's, a role's or a node's rules can use")),
        "{p:#?}"
    );
}

#[test]
fn levels_set_where_they_cannot_apply_are_refused_with_where_to_set_them() {
    let p = problems(Extra {
        top: "[roles.backup]\nrules.peers_low = { warning = 1, critical = 1 }\n",
        v0: "rules.missed_in_a_row = { warning = 1 }\nrules.no_such_rule = { warning = 1 }",
        host: "rules.node_down = { warning = \"1m\", critical = \"2m\" }",
        ..Extra::default()
    });
    let want = [
        "node \"v0\" rules: missed_in_a_row is about a chain, so it cannot be set here: set it in [rules] or a [[chain]]'s rules",
        "node \"v0\" rules: \"no_such_rule\" is not a rule",
        "host \"h0\" rules: node_down is about a node, so it cannot be set here",
        "roles.backup: no [[node]] has this role, so its rules apply to nothing",
    ];
    for w in want {
        assert!(p.iter().any(|m| m.contains(w)), "{w:?} not in {p:#?}");
    }
}

#[test]
fn overridden_levels_are_checked_like_the_defaults_and_named() {
    let p = problems(Extra {
        fast: "rules.missed_in_a_row = { warning = 20 }",
        v0: "rules.peers_low = { warning = 1, critical = 2 }",
        ..Extra::default()
    });
    assert!(
        p.contains(&"chain \"fast-1\": rules.missed_in_a_row: critical (10) must not be below warning (20)".to_string()),
        "{p:#?}"
    );
    assert!(
        p.contains(&"node \"v0\": rules.peers_low: critical (2) must not be above warning (1); lower is worse here".to_string()),
        "{p:#?}"
    );
    let p = problems(Extra {
        fast: "rules.missed_in_a_row = { warning = \"many\" }",
        ..Extra::default()
    });
    assert!(
        p.iter()
            .any(|m| m.starts_with("chain \"fast-1\" rules: ") && m.contains("invalid type")),
        "{p:#?}"
    );
}

#[test]
fn overrides_are_written_back_as_read() {
    let c = Config::parse(&text(&Extra {
        top: "[roles.validator]\nrules.peers_low = { warning = 1, critical = 1 }\n",
        fast: "rules.chain_stalled = { warning = \"50 blocks\", critical = \"200 blocks\" }",
        v0: "rules.peers_low = { critical = 0 }",
        ..Extra::default()
    }))
    .unwrap();
    let again = Config::parse(&c.to_toml().unwrap()).unwrap();
    assert_eq!(format!("{again:?}"), format!("{c:?}"));
}
