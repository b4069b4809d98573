//! The status page.

use crate::engine::alert::Alert;
use crate::serve::http::StatusDoc;
use crate::state::*;
use crate::Severity;
use std::collections::VecDeque;

#[test]
fn page_shows_grid_nodes_and_alerts_escaped() {
    let doc = StatusDoc {
        generated_at: "2026-01-01T00:00:00Z".into(),
        observed: Observed {
            chains: vec![ChainState {
                height: Some(12),
                height_seen_at: Some(1.0),
                height_observed_at: Some(1.0),
                checked_height: Some(11),
                missed_in_a_row: 1,
                signed_total: 1,
                missed_total: 1,
                grid: VecDeque::from([
                    GridEntry {
                        height: 10,
                        sign: Sign::Signed,
                    },
                    GridEntry {
                        height: 11,
                        sign: Sign::Missed,
                    },
                ]),
                ..ChainState::new("c-1", Some("AA".into()), vec![])
            }],
            ..Default::default()
        },
        alerts: vec![Alert {
            key: "k".into(),
            rule: "r".into(),
            severity: Severity::Critical,
            chain: None,
            node: None,
            host: None,
            summary: "<script>alert(1)</script>".into(),
            started_at: 0.0,
            notified_at: 0.0,
            told: true,
            suppressed: false,
            labels: Default::default(),
            inhibited_by: None,
        }],
    };
    let html = crate::serve::page::render(&doc, Default::default());
    assert!(html.contains("<h2>Alerts firing: 1</h2>"));
    assert!(html.contains("<td class=critical>critical</td>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("<a href='/chain/c-1'>c-1</a>"), "{html}");
    let html = crate::serve::page::render_chain(&doc, "c-1").unwrap();
    assert!(crate::serve::page::render_chain(&doc, "c-2").is_none());
    assert!(html.contains(
        "<span class=signed title='10 signed'></span><span class=missed title='11 missed'></span>"
    ));
    assert!(html.contains("height 12 &middot; missed in a row 1"));
}

#[test]
fn page_marks_inhibited_alerts_and_failing_channels() {
    let mut failing = ChannelState::new("hook", "webhook");
    failing.record(Err("HTTP status 500 <b>"), 1.0);
    let doc = StatusDoc {
        generated_at: "2026-01-01T00:00:00Z".into(),
        observed: Observed {
            channels: vec![ChannelState::new("mail", "email"), failing],
            ..Default::default()
        },
        alerts: vec![Alert {
            key: "node_down/v1".into(),
            rule: "node_down".into(),
            severity: Severity::Warning,
            chain: None,
            node: Some("v1".into()),
            host: None,
            summary: "v1 down".into(),
            started_at: 0.0,
            notified_at: 0.0,
            told: false,
            suppressed: true,
            labels: Default::default(),
            inhibited_by: Some("host_down/h1".into()),
        }],
    };
    let html = crate::serve::page::render(&doc, Default::default());
    assert!(
        html.contains("node_down/v1 <em class=inhibited>inhibited by host_down/h1</em>"),
        "{html}"
    );
    assert!(html.contains("<tr><td>mail</td><td>email</td><td><span class=ok>ok</span></td></tr>"));
    assert!(html.contains(
        "<tr><td>hook</td><td>webhook</td><td><span class=bad>failing</span> 1 in a row: HTTP status 500 &lt;b&gt;</td></tr>"
    ));
}

#[test]
fn page_shows_each_relayers_hermes_wallets_backlogs_and_errors() {
    let mut hermes = HermesState::new("http://127.0.0.1:3001/metrics");
    let figures = |errors: f64| HermesFigures {
        wallets: vec![HermesWallet {
            chain: "osmosis-1".into(),
            account: "osmo1x".into(),
            denom: "uosmo".into(),
            balance: 1500000.0,
        }],
        backlogs: vec![
            HermesBacklog {
                chain: "osmosis-1".into(),
                channel: "channel-0".into(),
                counterparty: "cosmoshub-4".into(),
                port: "transfer".into(),
                size: 7,
                oldest_sequence: Some(4410),
            },
            HermesBacklog {
                chain: "cosmoshub-4".into(),
                channel: "channel-141".into(),
                counterparty: "osmosis-1".into(),
                port: "transfer".into(),
                size: 0,
                oldest_sequence: None,
            },
        ],
        errors_total: errors,
        confirmed_latency_ms_sum: Some(0.0),
        confirmed_count: Some(0.0),
    };
    hermes.record(Ok(figures(2.0)), 0.0);
    hermes.record(Ok(figures(5.0)), 60.0);
    let relayer = NodeState {
        hermes: Some(hermes),
        name: "relayer-<1>".into(),
        chain: "osmosis-1".into(),
        role: crate::config::Role::Relayer,
        host: None,
        up: true,
        error: None,
        down_since: None,
        catching_up_since: None,
        height: Some(10),
        catching_up: Some(false),
        peers: Some(3),
        seen_at: Some(1.0),
        latency_seconds: None,
        earliest_height: None,
        history: None,
        metrics: None,
    };
    let mut plain = relayer.clone();
    plain.name = "full-1".into();
    plain.hermes = None;
    let doc = StatusDoc {
        generated_at: "2026-01-01T00:00:00Z".into(),
        observed: Observed {
            nodes: vec![relayer, plain],
            ..Default::default()
        },
        alerts: vec![],
    };
    let html = crate::serve::page::render(&doc, Default::default());
    assert!(html.contains("<h2>Relayers</h2>"), "{html}");
    assert!(
        html.contains(
            "<tr><td>relayer-&lt;1&gt;</td><td><span class=ok>up</span></td><td>osmosis-1: 1500000 uosmo</td>\
             <td>osmosis-1 transfer/channel-0 &rarr; cosmoshub-4: 7, oldest #4410</td><td>3 errors</td></tr>"
        ),
        "{html}"
    );
    assert!(
        !html.contains("channel-141"),
        "an empty backlog is not listed: {html}"
    );
    let relayers = html.split("<h2>Relayers</h2>").nth(1).unwrap();
    assert!(!relayers
        .split("</table>")
        .next()
        .unwrap()
        .contains("full-1"));

    let none = StatusDoc {
        observed: Observed::default(),
        ..doc
    };
    assert!(!crate::serve::page::render(&none, Default::default()).contains("Relayers"));
}
