//! Configuration of labels, routes, grouping, quiet hours and inhibitions: checked
//! and written back.

use std::time::Duration;
use watch::config::{ChannelConfig, MatchValue};
use watch::{Config, ConfigError, Severity};

#[test]
fn labels_routes_and_inhibitions_are_checked() {
    let text = r#"state_path = "w.sqlite"
fallback_channel = "nowhere"
[[chain]]
id = "c"
rpc = ["http://127.0.0.1:1"]
labels = { env = "", host = "x", "bad-name" = "y" }
[[host]]
name = "h"
[[node]]
name = "n"
chain = "c"
role = "validator"
rpc = "http://127.0.0.1:1"
host = "elsewhere"
[[channel]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:2"
[[route]]
channels = ["hook"]
match = { chain = "other", "9x" = "a", team = [] }
group_by = ["host", "no-such"]
quiet_hours = { from = "07:00", to = "07:00" }
fallback = "gone"
[[inhibit]]
source = {}
target = { rule = "node_down" }
"#;
    let Err(ConfigError::Invalid(p)) = Config::parse(text) else {
        panic!("accepted");
    };
    for want in [
        "chain \"c\": label \"env\" has an empty value",
        "chain \"c\": label \"host\" is set by the watch itself; give your label another name",
        "chain \"c\": \"bad-name\" is not a label name",
        "node \"n\": host \"elsewhere\" is not a [[host]] name; add the [[host]] or fix the name",
        "route #1: chain \"other\" is not a configured chain",
        "route #1: \"9x\" is not a label name",
        "route #1: label \"team\" is matched against an empty value",
        "route #1: group_by \"no-such\" is not a label name",
        "route #1: quiet_hours from and to are both 07:00; give a range of time",
        "route #1: fallback \"gone\" is not a [[channel]] name",
        "inhibit #1: give both source and target matchers",
        "fallback_channel \"nowhere\" is not a [[channel]] name",
    ] {
        assert!(
            p.iter().any(|m| m.starts_with(want)),
            "no {want:?} in {p:#?}"
        );
    }
    // Times that are not times are refused as the file is read.
    for (field, bad, says) in [
        (
            "from",
            "25:00",
            "\"25:00\" is not a time of day; write \"HH:MM\"",
        ),
        (
            "utc_offset",
            "1:00",
            "\"1:00\" is not a UTC offset; write \"+HH:MM\"",
        ),
        (
            "time_zone",
            "Mars/Olympus",
            "\"Mars/Olympus\" is not a time zone this host knows",
        ),
        (
            "both",
            "",
            "route #1: quiet_hours has both utc_offset +01:00 and time_zone Europe/Berlin; give one",
        ),
    ] {
        let q = match field {
            "from" => format!("{{ from = \"{bad}\", to = \"07:00\" }}"),
            "time_zone" => format!("{{ from = \"22:00\", to = \"07:00\", time_zone = \"{bad}\" }}"),
            "both" => "{ from = \"22:00\", to = \"07:00\", utc_offset = \"+01:00\", time_zone = \"Europe/Berlin\" }".to_string(),
            _ => format!("{{ from = \"22:00\", to = \"07:00\", utc_offset = \"{bad}\" }}"),
        };
        let t = format!(
            "state_path = \"w\"\n[[channel]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://x\"\n[[route]]\nchannels = [\"h\"]\nquiet_hours = {q}\n"
        );
        let e = Config::parse(&t).unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn routing_settings_round_trip_through_toml() {
    let mut c = Config::new("w.sqlite".into());
    c.channels.push(ChannelConfig::Webhook {
        name: "h".into(),
        url: "http://127.0.0.1:1".into(),
    });
    let mut r = watch::config::RouteConfig::new(&["h"], Severity::Warning);
    r.matchers
        .insert("env".into(), MatchValue::Any(vec!["a".into(), "b".into()]));
    r.matchers.insert(
        "team".into(),
        MatchValue::Regex {
            regex: watch::config::Pattern::new("infra|ops-.*").unwrap(),
        },
    );
    r.group_by = vec!["host".into()];
    r.group_wait = Some(Duration::from_secs(10));
    r.quiet_hours = Some(watch::config::QuietHours {
        from: watch::config::ClockTime::new(22, 0),
        to: watch::config::ClockTime::new(7, 30),
        utc_offset: watch::config::UtcOffset::minutes(-330),
        time_zone: None,
    });
    c.routes.push(r);
    let mut night = watch::config::RouteConfig::new(&["h"], Severity::Warning);
    night.quiet_hours = Some(watch::config::QuietHours {
        from: watch::config::ClockTime::new(22, 0),
        to: watch::config::ClockTime::new(7, 0),
        utc_offset: Default::default(),
        time_zone: Some("America/New_York".to_string().try_into().unwrap()),
    });
    c.routes.push(night);
    c.fallback_channel = Some("h".into());
    let back = Config::parse(&c.to_toml().unwrap()).unwrap();
    assert_eq!(back.fallback_channel.as_deref(), Some("h"));
    let r = &back.routes[0];
    assert_eq!(
        r.matchers["env"],
        MatchValue::Any(vec!["a".into(), "b".into()])
    );
    assert_eq!(r.matchers["team"], c.routes[0].matchers["team"]);
    assert!(c
        .to_toml()
        .unwrap()
        .contains("[route.match.team]\nregex = \"infra|ops-.*\"\n"));
    assert_eq!(r.group_wait, Some(Duration::from_secs(10)));
    assert_eq!(r.group_interval, None);
    assert_eq!(r.quiet_hours, c.routes[0].quiet_hours);
    assert!(c.to_toml().unwrap().contains("utc_offset = \"-05:30\""));
    assert_eq!(back.routes[1].quiet_hours, c.routes[1].quiet_hours);
    assert!(c
        .to_toml()
        .unwrap()
        .contains("time_zone = \"America/New_York\""));
    assert_eq!(back.inhibits, c.inhibits);
}

#[test]
fn a_regex_matcher_matches_whole_values_and_a_bad_one_is_named() {
    let m = MatchValue::Regex {
        regex: watch::config::Pattern::new("cosmoshub-.*|osmosis-1").unwrap(),
    };
    assert!(m.accepts("cosmoshub-4") && m.accepts("osmosis-1"));
    // Anchored like Alertmanager's =~: a value that only contains a match is not one.
    assert!(!m.accepts("xcosmoshub-4") && !m.accepts("osmosis-10"));
    let text = |pattern: &str| {
        format!(
            "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c\"\nrpc = [\"http://127.0.0.1:1\"]\n\
             [[channel]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:2\"\n\
             [[route]]\nchannels = [\"hook\"]\nmatch = {{ chain = {{ regex = {pattern:?} }} }}\n"
        )
    };
    let c = Config::parse(&text("c|d")).unwrap();
    assert!(c.routes[0].matchers["chain"].accepts("d"));
    let e = Config::parse(&text("c(")).unwrap_err().to_string();
    assert!(e.contains("\"c(\" is not a regular expression"), "{e}");
    let Err(ConfigError::Invalid(p)) = Config::parse(&text("")) else {
        panic!("an empty regex was accepted");
    };
    assert!(
        p.iter()
            .any(|m| m.contains("matched against an empty value")),
        "{p:?}"
    );
}
