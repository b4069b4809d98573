//! The watch's status page at 40 chains, seen in a real browser (Debian's Chromium,
//! headless): one row per chain, the worst first, sortable by a column, each firing
//! alert on its chain's row, a detail page per chain, and a screenshot of it all.
//! One chain is a real devnet; 39 have endpoints that do not answer.

mod common;

use common::*;
use std::time::Duration;
use testkit::browser::{dump_dom, screenshot};
use watch::config::{ChainConfig, Config, DurationRule};

/// The chains of the table's rows, in order.
fn rows(dom: &str) -> Vec<String> {
    dom.split("<tr class=\"chain\" data-chain=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap().to_string())
        .collect()
}

/// The HTML of `chain`'s row.
fn row<'a>(dom: &'a str, chain: &str) -> &'a str {
    let start = dom
        .find(&format!("data-chain=\"{chain}\""))
        .unwrap_or_else(|| panic!("no row for {chain}"));
    let end = dom[start..].find("</tr>").unwrap();
    &dom[start..start + end]
}

#[test]
fn forty_chains_in_a_browser() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "1", "--signer", "file"]);
    let status = &up["status"];
    let devnet_id = status["chain_id"].as_str().unwrap().to_string();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let port = free_port();
    let mut c = Config::new(net.tmp.path().join("watch.sqlite"));
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(500);
    let mut ch = ChainConfig::new(
        &devnet_id,
        vec![node(status, "sentry0")["rpc_url"].as_str().unwrap().into()],
    );
    ch.validator_address = Some(validator_address(status, "val0"));
    c.chains.push(ch);
    let zones: Vec<String> = (1..=39).map(|i| format!("zone-{i:02}")).collect();
    for z in &zones {
        let mut ch = ChainConfig::new(z, vec![dead.clone()]);
        ch.websocket = false;
        c.chains.push(ch);
    }
    c.rules.source_unhealthy = DurationRule {
        warning: Duration::from_secs(1),
        critical: Duration::from_secs(2),
    };
    let cfg = net.tmp.path().join("watch.toml");
    std::fs::write(&cfg, c.to_toml().unwrap()).unwrap();
    let d = bulwark().daemon(
        &["watch", "run", "--config", cfg.to_str().unwrap()],
        &net.tmp.path().join("watch.log"),
    );
    wait_api(port, "39 critical chains and one signing", &d, |s| {
        let critical = s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["rule"] == "source_unhealthy" && a["severity"] == "critical")
            .count();
        let signed = s["chains"][0]["signed_total"].as_u64().unwrap_or(0);
        critical == 39 && signed >= 2
    });
    let url = format!("http://127.0.0.1:{port}");

    // Worst first: the 39 chains nobody can read, by name, then the healthy devnet.
    let dom = dump_dom(&format!("{url}/"));
    let order = rows(&dom);
    assert_eq!(order.len(), 40, "{dom}");
    assert_eq!(&order[..39], &zones[..], "{order:?}");
    assert_eq!(order[39], devnet_id);
    assert!(dom.contains("<h2>Chains: 40</h2>"), "{dom}");
    let z = row(&dom, "zone-07");
    assert!(
        z.contains("<td class=\"critical\">critical</td>") && z.contains("source_unhealthy"),
        "{z}"
    );
    let ok = row(&dom, &devnet_id);
    assert!(ok.contains("<td class=\"ok\">ok</td>"), "{ok}");
    assert!(ok.contains("of last"), "{ok}");

    // Sorted by name instead: the devnet's chain ID sorts before the zones.
    let by_name = rows(&dump_dom(&format!("{url}/?sort=chain")));
    assert_eq!(by_name[0], devnet_id, "{by_name:?}");
    assert_eq!(&by_name[1..], &zones[..]);

    // A chain's own page: its blocks and its endpoint.
    let detail = dump_dom(&format!("{url}/chain/{devnet_id}"));
    assert!(
        detail.contains(&format!("<h1>{devnet_id}</h1>")),
        "{detail}"
    );
    assert!(detail.contains("class=\"signed\""), "{detail}");
    let missing = dump_dom(&format!("{url}/chain/nope"));
    assert!(missing.contains("no chain nope is watched"), "{missing}");

    // And what a person sees.
    let png = std::env::var_os("BULWARK_SCREENSHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| net.tmp.path().join("status.png"));
    screenshot(&format!("{url}/"), &png, 1400, 2400);
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 20_000,
        "a near-empty screenshot: {} bytes",
        bytes.len()
    );
}
