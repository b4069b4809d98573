//! Configuration parsing and validation.

use std::time::Duration;
use watch::config::{ChannelConfig, MatchValue, Role};
use watch::{Config, ConfigError, Severity};

#[test]
fn example_file_parses_with_every_section() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/watch.example.toml");
    let c = Config::load(std::path::Path::new(path)).expect("example parses");
    assert_eq!(c.chains.len(), 1);
    assert_eq!(c.chains[0].rpc.len(), 2);
    assert_eq!(c.nodes[0].role, Role::Validator);
    assert_eq!(c.nodes[1].role, Role::Sentry);
    assert_eq!(
        c.nodes[0].metrics.as_deref(),
        Some("http://10.0.0.10:26660/metrics")
    );
    assert_eq!(c.rules.consensus_rounds.critical, 4);
    assert_eq!(c.rules.missing_power.for_, Duration::from_secs(60));
    assert_eq!(c.hosts[0].mountpoints, ["/", "/var/lib/cosmos"]);
    assert_eq!(c.channels.len(), 7);
    assert!(matches!(
        &c.channels[6],
        ChannelConfig::Email(e) if e.port() == 587 && e.to.len() == 2
    ));
    assert_eq!(c.tls_ca_file, None);
    assert!(matches!(
        &c.channels[1],
        ChannelConfig::Alertmanager { resend_interval, .. } if *resend_interval == Duration::from_secs(60)
    ));
    assert_eq!(c.routes[1].min_severity, Severity::Critical);
    assert_eq!(c.rules.missed_in_a_row.warning, 3);
    assert_eq!(c.rules.disk_full_in.critical, Duration::from_secs(4 * 3600));
    assert_eq!(c.rules.disk_fill_window, Duration::from_secs(6 * 3600));
    assert_eq!(c.repeat_interval, Duration::from_secs(1800));
    assert_eq!(c.signers[0].name, "signer-1");
    assert_eq!(c.rules.signer_refusals.critical, 10);
    let hb = c.heartbeat.as_ref().unwrap();
    assert_eq!(hb.interval, Duration::from_secs(60));
    // Labels, hosts, routes on labels, grouping, quiet hours, inhibitions.
    assert_eq!(c.chains[0].labels["env"], "mainnet");
    assert_eq!(c.nodes[0].host.as_deref(), Some("val-host"));
    assert_eq!(c.signers[0].host.as_deref(), Some("val-host"));
    assert_eq!(c.hosts[0].labels["dc"], "fra1");
    assert_eq!(
        c.routes[1].matchers["chain"],
        MatchValue::One("cosmoshub-4".into())
    );
    let grouped = &c.routes[2];
    assert_eq!(grouped.group_by, ["host"]);
    assert_eq!(grouped.group_wait, Some(Duration::from_secs(10)));
    assert_eq!(grouped.repeat_interval, Some(Duration::from_secs(4 * 3600)));
    assert!(grouped.quiet_hours.is_some());
    assert_eq!(grouped.fallback.as_deref(), Some("telegram"));
    assert_eq!(c.inhibits, watch::config::default_inhibits());
    assert_eq!(c.fallback_channel.as_deref(), Some("email"));
    assert_eq!(c.rules.host_down.warning, Duration::from_secs(30));
    assert_eq!(c.rules.channel_failing.warning, 3);
    // Secrets stay out of Debug output (and so out of logs).
    let debug = format!("{c:?}");
    for secret in [
        "123456:ABC",
        "R0UT1NGKEY",
        "SMTP-PASSW0RD",
        "B000/XXXX",
        "api/webhooks/000",
        "your-check-uuid",
    ] {
        assert!(!debug.contains(secret), "{secret} leaks into {debug}");
    }
    assert!(debug.contains("<redacted>"));
}

#[test]
fn defaults_fill_what_is_left_out() {
    let c = Config::parse("state_path = \"w.sqlite\"\n").unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:9750");
    assert_eq!(c.poll_interval, Duration::from_secs(2));
    assert_eq!(c.rules.missed_in_a_row.critical, 10);
    assert_eq!(c.rules.peers_low.warning, 3);
    assert!(c.chains.is_empty() && c.channels.is_empty());
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
state_path = "w.sqlite"
poll_interval = "0s"
[[chain]]
id = "a"
rpc = []
validator_address = "12"
[[chain]]
id = "a"
rpc = ["tcp://x"]
[[node]]
name = "n"
chain = "b"
role = "rpc"
rpc = "localhost:1"
[[node]]
name = "n"
chain = "a"
role = "rpc"
rpc = "http://127.0.0.1:1"
metrics = "127.0.0.1:26660"
hermes = "http://127.0.0.1:3001/metrics"
[[node]]
name = "relayer"
chain = "a"
role = "relayer"
rpc = "http://127.0.0.1:1"
hermes_prefix = "hermes"
[[channel]]
name = "pd"
type = "pagerduty"
routing_key = ""
[[route]]
channels = ["nope"]
match = { chain = "zzz" }
[rules.missed_in_a_row]
warning = 5
critical = 2
[rules.peers_low]
warning = 1
critical = 3
[rules.disk_used]
warning = 80
critical = 190
[rules.consensus_rounds]
warning = 0
critical = 3
[rules.missing_power]
warning = 30
critical = 20
[rules.relayer_backlog]
warning = 0
critical = 3
"#;
    let Err(ConfigError::Invalid(p)) = Config::parse(text) else {
        panic!("expected Invalid");
    };
    let all = p.join("\n");
    for needle in [
        "poll_interval must be above 0s",
        "chain \"a\": give at least one rpc URL",
        "validator_address \"12\"",
        "chain \"a\" is listed twice",
        "\"tcp://x\" is not an http",
        "node \"n\": chain \"b\" is not a [[chain]] id",
        "\"localhost:1\" is not an http",
        "node \"n\" is listed twice",
        "channel \"pd\": routing_key is empty",
        "route #1: channel \"nope\" is not defined",
        "route #1: chain \"zzz\" is not a configured chain",
        "rules.missed_in_a_row: critical (2) must not be below warning (5)",
        "rules.peers_low: critical (3) must not be above warning (1)",
        "rules.disk_used: 190 is not a percentage",
        "node \"n\" metrics: \"127.0.0.1:26660\" is not an http",
        "rules.consensus_rounds: warning must be at least 1",
        "rules.missing_power: critical (20) must not be below warning (30)",
        "node \"n\": hermes is a relayer's telemetry; give it to a node with role = \"relayer\" (this one is rpc)",
        "node \"relayer\": hermes_prefix without hermes",
        "rules.relayer_backlog: warning must be at least 1",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    assert_eq!(p.len(), 20, "{all}");
}

#[test]
fn unknown_fields_and_bad_durations_are_refused() {
    for (text, needle) in [
        ("state_path = \"w\"\nlisten_addr = \"x\"\n", "listen_addr"),
        (
            "state_path = \"w\"\n[[channel]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://x\"\ntoken = \"t\"\n",
            "token",
        ),
        (
            "state_path = \"w\"\n[[channel]]\nname = \"h\"\ntype = \"carrier-pigeon\"\n",
            "carrier-pigeon",
        ),
        ("state_path = \"w\"\npoll_interval = \"soon\"\n", "\"soon\" is not a duration"),
        (
            "state_path = \"w\"\n[rules.node_behind]\nwarning = 1\n",
            "critical",
        ),
        ("poll_interval = \"1s\"\n", "state_path"),
    ] {
        let e = Config::parse(text).unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
        assert!(e.to_string().contains(needle), "{needle:?} not in {e}");
    }
}

#[test]
fn a_config_written_back_reads_the_same() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/watch.example.toml");
    let c = Config::load(std::path::Path::new(path)).unwrap();
    let text = toml::to_string(&c).expect("the config serializes");
    let again = Config::parse(&text).expect("what was written parses");
    assert_eq!(format!("{again:?}"), format!("{c:?}"));
    // Secrets are written as they are, so the file still works.
    assert!(text.contains("SMTP-PASSW0RD"), "{text}");
}

#[test]
fn cosigner_groups_need_two_cosigners_known_by_different_names() {
    let signer = |name: &str, extra: &str| {
        format!("[[signer]]\nname = \"{name}\"\nmetrics_url = \"http://a:9760/metrics\"\n{extra}")
    };
    let text = format!(
        "state_path = \"w.sqlite\"\n{}{}{}{}",
        signer("a", "cosigners = \"g1\"\n"),
        signer("b", "cosigners = \"g1\"\npeer_name = \"a\"\n"),
        signer("c", "cosigners = \"g2\"\n"),
        signer("d", "")
    );
    let Err(ConfigError::Invalid(p)) = Config::parse(&text) else {
        panic!("accepted")
    };
    assert_eq!(
        p,
        [
            "cosigners \"g1\": two cosigners are known as \"a\"; set peer_name to the name the other cosigners give each",
            "cosigners \"g2\": only one [[signer]] is in this group; list every cosigner of the key with cosigners = \"g2\"",
        ]
    );
    let c = Config::parse(
        &text
            .replace("peer_name = \"a\"\n", "")
            .replace("\"g2\"", "\"g1\""),
    )
    .unwrap();
    assert_eq!(c.signers[0].cosigners.as_deref(), Some("g1"));
    assert_eq!(c.signers[1].peer_name(), "b");
    assert!(c
        .rules
        .cosigner_refusals_ignored
        .contains(&"step_regression".to_string()));
}

/// `[chain.oracle]` is read over REST for our validator, at a REST path.
#[test]
fn an_oracle_module_needs_rest_an_operator_and_a_path() {
    let with = |extra: &str| {
        let text = format!(
            "state_path = \"w\"\n[[chain]]\nid = \"umee-1\"\nrpc = [\"http://a:26657\"]\n{extra}\n"
        );
        match Config::parse(&text) {
            Ok(_) => String::new(),
            Err(ConfigError::Invalid(p)) => p.join("\n"),
            Err(e) => e.to_string(),
        }
    };
    let op = "operator_address = \"umeevaloper1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn3yt2yp\"";
    assert_eq!(
        with(&format!(
            "rest = [\"http://a:1317\"]\n{op}\n[chain.oracle]\nprefix = \"/umee/oracle/v1\""
        )),
        ""
    );
    let e = with("[chain.oracle]\nprefix = \"/umee/oracle/v1\"");
    assert!(e.contains("[chain.oracle] is read over REST"), "{e}");
    let e = with(&format!(
        "rest = [\"http://a:1317\"]\n{op}\n[chain.oracle]\nprefix = \"umee/oracle/v1/\""
    ));
    assert!(e.contains("must be a REST path"), "{e}");
}
