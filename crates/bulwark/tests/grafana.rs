//! The Grafana dashboard and the Prometheus example in `crates/watch/grafana` match
//! what the real binaries export: every metric a panel queries exists with the right
//! type, every query parses as PromQL, and the scrape config is valid.

mod common;

use common::{bulwark, free_port, http_body, promtool};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use watch::config::{ChainConfig, Config, HostConfig, NodeConfig, Role};

fn grafana_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../watch/grafana")
}

fn dashboard() -> Value {
    let path = grafana_dir().join("bulwark-watch.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every panel of the dashboard, rows included.
fn panels(d: &Value) -> Vec<&Value> {
    d["panels"].as_array().expect("panels").iter().collect()
}

/// Every PromQL expression: panel targets and template variable queries.
fn exprs(d: &Value) -> Vec<String> {
    let mut out: Vec<String> = panels(d)
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().expect("target expr").to_string())
        .collect();
    for v in d["templating"]["list"].as_array().expect("templating") {
        if let Some(q) = v["query"]["query"].as_str() {
            if let Some(inner) = q
                .strip_prefix("label_values(")
                .and_then(|q| q.strip_suffix(')'))
            {
                out.push(inner.split(',').next().unwrap().trim().to_string());
            }
        }
    }
    out
}

/// `# TYPE name kind` lines of an exposition.
fn families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.to_string()))
        })
        .collect()
}

/// Where a sample name comes from: its family must exist and the suffix fit its kind.
fn resolves(name: &str, fams: &BTreeMap<String, String>) -> bool {
    // The watch names counter families with their `_total` suffix (text format
    // 0.0.4); the signer's registry leaves it off (OpenMetrics).
    match fams.get(name).map(String::as_str) {
        Some("gauge") => return true,
        Some("counter") if name.ends_with("_total") => return true,
        _ => {}
    }
    let suffixed = |suffix: &str, kinds: &[&str]| {
        name.strip_suffix(suffix)
            .and_then(|base| fams.get(base))
            .is_some_and(|k| kinds.contains(&k.as_str()))
    };
    suffixed("_total", &["counter"])
        || suffixed("_bucket", &["histogram"])
        || suffixed("_sum", &["histogram"])
        || suffixed("_count", &["histogram"])
}

fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("bulwark_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// The watch's real `/metrics`, from the binary with a chain, a node and a host.
fn watch_exposition(dir: &Path) -> String {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let cfg = dir.join("watch.toml");
    let mut c = Config::new(dir.join("watch.sqlite"));
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(200);
    let mut ch = ChainConfig::new("grafana-1", vec![dead.clone()]);
    ch.validator_address = Some("BA3843B0667609B5B8E10C4BD14DE862034004C2".into());
    ch.rest = vec![dead.clone()];
    ch.bech32_prefix = Some("cosmos".into());
    c.chains.push(ch);
    c.nodes.push(NodeConfig {
        hermes: None,
        hermes_prefix: None,
        name: "n0".into(),
        chain: "grafana-1".into(),
        role: Role::Validator,
        rpc: dead.clone(),
        metrics: None,
        history: None,
        rules: Default::default(),
        host: None,
        labels: Default::default(),
    });
    c.hosts.push(HostConfig {
        name: "h0".into(),
        node_exporter: Some(format!("{dead}/metrics")),
        mountpoints: Vec::new(),
        rules: Default::default(),
        labels: Default::default(),
    });
    std::fs::write(&cfg, c.to_toml().unwrap()).unwrap();
    let mut d = bulwark().daemon(
        &["watch", "run", "--config", cfg.to_str().unwrap()],
        &dir.join("watch.log"),
    );
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        if let Ok(Some(st)) = d.child.try_wait() {
            panic!("watch exited {st}: {}", d.log_text());
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let t = http_body(&url);
            if t.contains("bulwark_watch_alerts_firing") {
                break t;
            }
        }
        assert!(Instant::now() < deadline, "no /metrics: {}", d.log_text());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(d.terminate(), Some(0), "{}", d.log_text());
    text
}

/// The signer's families, registered as `bulwark signer run` registers them.
fn signer_exposition() -> String {
    let mut reg = prometheus_client::registry::Registry::default();
    let _m = signer::metrics::Metrics::register(&mut reg);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &reg).unwrap();
    out
}

#[test]
fn every_dashboard_query_names_a_metric_the_binaries_export() {
    let dir = tempfile::tempdir().unwrap();
    let mut fams = families(&watch_exposition(dir.path()));
    for must in [
        "bulwark_watch_node_blocks_behind",
        "bulwark_watch_validator_window_missed_ratio",
        "bulwark_watch_websocket_connected",
    ] {
        assert!(fams.contains_key(must), "{must} not exported: {fams:?}");
    }
    fams.extend(families(&signer_exposition()));

    let d = dashboard();
    let exprs = exprs(&d);
    assert!(exprs.len() >= 20, "{exprs:?}");
    let mut used = Vec::new();
    for e in &exprs {
        let names = metric_names(e);
        assert!(!names.is_empty(), "query without a bulwark metric: {e}");
        for n in names {
            assert!(
                resolves(&n, &fams),
                "{n} (in `{e}`) is not exported: {fams:?}"
            );
            used.push(n);
        }
    }
    // Every watch family is on the dashboard somewhere.
    for (name, kind) in fams.iter().filter(|(n, _)| n.starts_with("bulwark_watch_")) {
        let shown = used
            .iter()
            .any(|u| u == name || (kind != "gauge" && u.starts_with(name.as_str())));
        assert!(shown, "{name} is exported but on no panel; all: {fams:?}");
    }
}

#[test]
fn dashboard_queries_parse_as_promql() {
    let d = dashboard();
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs(&d).iter().enumerate() {
        let e = e.replace("$chain", ".+").replace("$__rate_interval", "5m");
        assert!(!e.contains('$'), "unknown template variable in {e}");
        rules.push_str(&format!(
            "      - record: dashboard:q{i}\n        expr: {}\n",
            serde_json::to_string(&e).unwrap()
        ));
    }
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, &rules).unwrap();
    let (ok, out) = promtool(&["check", "rules", path.to_str().unwrap()], b"");
    assert!(ok, "promtool check rules: {out}\n{rules}");

    // And a broken query is caught, so the check above means something.
    std::fs::write(
        &path,
        "groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: \"sum(bulwark_watch_chain_height\"\n",
    )
    .unwrap();
    assert!(!promtool(&["check", "rules", path.to_str().unwrap()], b"").0);
}

#[test]
fn dashboard_is_well_formed_for_provisioning() {
    let d = dashboard();
    assert_eq!(d["uid"], "bulwark-watch");
    let mut ids: Vec<u64> = panels(&d)
        .iter()
        .map(|p| p["id"].as_u64().expect("panel id"))
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "panel ids repeat");
    for p in panels(&d).iter().filter(|p| p["type"] != "row") {
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
        assert!(x + w <= 24, "{} is wider than the grid", p["title"]);
    }
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "chain"]);

    let provider =
        std::fs::read_to_string(grafana_dir().join("provisioning/dashboards/bulwark.yaml"))
            .unwrap();
    assert!(
        provider.contains("type: file") && provider.contains("path:"),
        "{provider}"
    );
    let (ok, out) = promtool(
        &[
            "check",
            "config",
            grafana_dir().join("prometheus.yml").to_str().unwrap(),
        ],
        b"",
    );
    assert!(ok, "promtool check config: {out}");
}
