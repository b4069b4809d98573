//! Debian's Chromium, headless, for pages served on loopback: the DOM it builds and a
//! screenshot. Started with the flags that keep it off the network (no background
//! requests, no component updates, no sync) and a fresh profile each time.

use crate::process::tool;
use std::path::Path;
use std::process::Command;

fn chromium(profile: &Path, args: &[String]) -> std::process::Output {
    let bin = tool("/usr/bin/chromium", "run scripts/install-deps");
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

/// The DOM Chromium builds for `url`.
pub fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let o = chromium(profile.path(), &["--dump-dom".into(), url.into()]);
    assert!(
        o.status.success(),
        "chromium --dump-dom {url}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A PNG screenshot of `url` at `width` x `height` into `out`.
pub fn screenshot(url: &str, out: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().unwrap();
    let o = chromium(
        profile.path(),
        &[
            format!("--screenshot={}", out.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".into(),
            url.into(),
        ],
    );
    assert!(
        o.status.success() && out.is_file(),
        "chromium --screenshot {url}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
