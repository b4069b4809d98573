//! `watch record`: start a devnet, let it make blocks (with some kvstore transactions),
//! and save the RPC responses a monitor reads into a fixture directory.

use super::devnet::Devnet;
use super::fixture::Meta;
use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Record `blocks` consecutive blocks (and everything else a monitor reads) from a fresh
/// devnet into `out`.
pub async fn record(bulwark: &Path, out: &Path, blocks: u64, tps: u32) -> anyhow::Result<()> {
    let devnet = Devnet::up(bulwark)?;
    let res = record_from(&devnet, bulwark, out, blocks, tps).await;
    devnet.destroy();
    res
}

async fn record_from(
    devnet: &Devnet,
    bulwark: &Path,
    out: &Path,
    blocks: u64,
    tps: u32,
) -> anyhow::Result<()> {
    // Transactions, so that blocks look like a chain in use.
    let mut load = if tps > 0 {
        Some(
            std::process::Command::new(bulwark)
                .args(["devnet", "load", "--dir"])
                .arg(&devnet.dir)
                .args(["--tps", &tps.to_string(), "--duration", "120s"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .context("starting `bulwark devnet load`")?,
        )
    } else {
        None
    };
    let res = record_rpc(devnet, out, blocks).await;
    if let Some(l) = &mut load {
        let _ = l.kill();
        let _ = l.wait();
    }
    res
}

async fn record_rpc(devnet: &Devnet, out: &Path, blocks: u64) -> anyhow::Result<()> {
    let rpc = devnet.watch_rpcs()[0].clone();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let (http, url) = (http.clone(), format!("{rpc}/{path}"));
        async move {
            let text = http
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            serde_json::from_str::<Value>(&text).with_context(|| format!("{url}: not JSON"))?;
            Ok::<_, anyhow::Error>(text)
        }
    };

    // Websocket events: the first NewBlock, and every Vote of one height.
    let ws_url = format!("{}/websocket", rpc.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await?;
    for (id, q) in [(1, "tm.event='NewBlock'"), (2, "tm.event='Vote'")] {
        let sub = serde_json::json!({"jsonrpc": "2.0", "method": "subscribe", "id": id, "params": {"query": q}});
        ws.send(Message::text(sub.to_string())).await?;
    }
    let mut new_block: Option<String> = None;
    let mut vote_height: Option<u64> = None;
    let mut votes: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Wait for load to reach the chain before taking blocks.
    let first_seen = loop {
        anyhow::ensure!(Instant::now() < deadline, "no blocks from {rpc} in 60 s");
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .context("websocket silent for 10 s")?
            .context("websocket closed")??;
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(&t)?;
        let h = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok())
        };
        match v.pointer("/result/data/type").and_then(Value::as_str) {
            Some("tendermint/event/NewBlock") => {
                let height = h("/result/data/value/block/header/height").unwrap_or(0);
                let txs = v
                    .pointer("/result/data/value/block/data/txs")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if new_block.is_none() && txs > 0 {
                    new_block = Some(t.to_string());
                    vote_height = Some(height + 1);
                }
                if let Some(vh) = vote_height {
                    if height > vh {
                        break vh;
                    }
                }
            }
            Some("tendermint/event/Vote")
                if vote_height.is_some() && h("/result/data/value/Vote/height") == vote_height =>
            {
                votes.push(t.to_string());
            }
            _ => {}
        }
    };
    let _ = ws.close(None).await;
    anyhow::ensure!(!votes.is_empty(), "no Vote events for height {first_seen}");

    let first = first_seen;
    let last = first + blocks - 1;
    // Wait until the last block exists.
    loop {
        let s: Value = serde_json::from_str(&get("status".into()).await?)?;
        let latest: u64 = s
            .pointer("/result/sync_info/latest_block_height")
            .and_then(Value::as_str)
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        if latest >= last {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline + Duration::from_secs(120),
            "the devnet stopped making blocks"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(out.join("block"))?;
    std::fs::create_dir_all(out.join("ws"))?;
    let status = get("status".into()).await?;
    std::fs::write(out.join("status.json"), &status)?;
    std::fs::write(out.join("net_info.json"), get("net_info".into()).await?)?;
    std::fs::write(
        out.join("validators.json"),
        get(format!("validators?height={first}&page=1&per_page=100")).await?,
    )?;
    for h in first..=last {
        std::fs::write(
            out.join(format!("block/{h}.json")),
            get(format!("block?height={h}")).await?,
        )?;
    }
    std::fs::write(
        out.join("ws/new_block.json"),
        new_block.context("no NewBlock event")?,
    )?;
    std::fs::write(
        out.join("ws/votes.json"),
        format!("[\n{}\n]\n", votes.join(",\n")),
    )?;
    let s: Value = serde_json::from_str(&status)?;
    let meta = Meta {
        chain_id: devnet.manifest.chain_id.clone(),
        validator_address: devnet.val0_address(),
        cometbft: s
            .pointer("/result/node_info/version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        validators: devnet.manifest.validators.len(),
        first_height: first,
        last_height: last,
        recorded_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    std::fs::write(
        out.join("meta.json"),
        serde_json::to_string_pretty(&meta)? + "\n",
    )?;
    eprintln!(
        "recorded blocks {first}..={last}, {} vote events, into {}",
        votes.len(),
        out.display()
    );
    Ok(())
}
