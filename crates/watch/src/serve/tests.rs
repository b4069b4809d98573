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
