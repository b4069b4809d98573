//! Redundant watches: two `bulwark watch` daemons (as if in two regions) watching the
//! same chain hand their alerts to a cluster of two real Alertmanagers peered on
//! loopback (`--cluster.peer`), which sends one notification for one fault, whichever
//! watch saw it first; and each watch checks the other's heartbeat and alerts
//! (`peer_down`) when it stops.

mod common;

use common::*;
use std::time::{Duration, Instant};
use watch::config::{
    ChainConfig, ChannelConfig, Config, DurationRule, NodeConfig, PeerConfig, Role, RouteConfig,
    Severity,
};

const MINUTE: Duration = Duration::from_secs(60);

/// Notifications the Alertmanagers sent with the alert `key` in `status`.
fn sent(hook: &HttpStub, key: &str, status: &str) -> usize {
    hook.json_bodies()
        .iter()
        .filter(|b| {
            b["alerts"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| x["labels"]["alert_key"] == key && x["status"] == status)
            })
        })
        .count()
}

fn wait_sent(hook: &HttpStub, key: &str, status: &str) {
    let deadline = Instant::now() + MINUTE;
    while sent(hook, key, status) == 0 {
        assert!(
            Instant::now() < deadline,
            "no {status} {key}; received: {:#?}",
            hook.json_bodies()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_watches_and_two_alertmanagers_page_once_and_watch_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = HttpStub::start("200 OK", "{}");
    let ams = alertmanager_cluster(&tmp.path().join("am"), 2, &format!("{}/am", hook.url));
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ports = [free_port(), free_port()];
    let names = ["watch-eu", "watch-us"];
    let secs = Duration::from_secs;
    let config = |i: usize| {
        let mut c = Config::new(tmp.path().join(format!("{}.sqlite", names[i])));
        c.listen = ([127, 0, 0, 1], ports[i]).into();
        c.poll_interval = Duration::from_millis(300);
        c.repeat_interval = secs(3600);
        let mut ch = ChainConfig::new("c-1", vec![dead.clone()]);
        ch.websocket = false;
        c.chains.push(ch);
        c.nodes.push(NodeConfig {
            hermes: None,
            hermes_prefix: None,
            name: "ghost".into(),
            chain: "c-1".into(),
            role: Role::Sentry,
            rpc: dead.clone(),
            metrics: None,
            history: None,
            host: None,
            labels: Default::default(),
            rules: Default::default(),
        });
        c.rules.node_down = DurationRule {
            warning: secs(1),
            critical: secs(3600),
        };
        c.rules.peer_down = DurationRule {
            warning: secs(5),
            critical: secs(3600),
        };
        for (j, (_, url)) in ams.iter().enumerate() {
            c.channels.push(ChannelConfig::Alertmanager {
                name: format!("am{j}"),
                url: url.clone(),
                resend_interval: secs(5),
            });
        }
        c.routes.push(RouteConfig {
            channels: vec!["am0".into(), "am1".into()],
            ..RouteConfig::new(&[], Severity::Warning)
        });
        let other = 1 - i;
        c.peers.push(PeerConfig {
            name: names[other].into(),
            url: format!("http://127.0.0.1:{}", ports[other]),
        });
        let path = tmp.path().join(format!("{}.toml", names[i]));
        std::fs::write(&path, c.to_toml().unwrap()).unwrap();
        path
    };
    let watch = |i: usize| {
        let cfg = config(i);
        bulwark().daemon(
            &["watch", "run", "--config", cfg.to_str().unwrap()],
            &tmp.path().join(format!("{}.log", names[i])),
        )
    };
    let eu = watch(0);
    let mut us = watch(1);

    // Both watches see the node down and tell both Alertmanagers: one notification.
    wait_sent(&hook, "node_down/ghost", "firing");
    for (port, d) in [(ports[0], &eu), (ports[1], &us)] {
        wait_api(port, "node_down firing in both watches", d, |s| {
            s["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["key"] == "node_down/ghost")
        });
    }
    // Past the cluster's peer timeout (3s) and several resends of both watches.
    std::thread::sleep(secs(12));
    assert_eq!(
        sent(&hook, "node_down/ghost", "firing"),
        1,
        "{:#?}",
        hook.json_bodies()
    );
    assert_eq!(sent(&hook, "peer_down/watch-us", "firing"), 0);
    assert_eq!(sent(&hook, "peer_down/watch-eu", "firing"), 0);

    // One watch stops: the other says so, once.
    assert_eq!(us.terminate(), Some(0), "{}", us.log_text());
    wait_sent(&hook, "peer_down/watch-us", "firing");
    let s = api(ports[0]);
    let a = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "peer_down/watch-us")
        .cloned()
        .unwrap_or_else(|| panic!("{s:#}"));
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .starts_with("watch watch-us has not answered for"),
        "{a:#}"
    );
    std::thread::sleep(secs(6));
    assert_eq!(sent(&hook, "peer_down/watch-us", "firing"), 1);
    drop(eu);
}
