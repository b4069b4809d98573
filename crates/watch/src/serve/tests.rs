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
    let html = crate::serve::page::render(&doc);
    assert!(html.contains("<h2>Alerts firing: 1</h2>"));
    assert!(html.contains("<td class=critical>critical</td>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>"));
    assert!(html.contains(
        "<span class=signed title='10 signed'></span><span class=missed title='11 missed'></span>"
    ));
    assert!(html.contains("height 12 &middot; missed in a row 1"));
}
