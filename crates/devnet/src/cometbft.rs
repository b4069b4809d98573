//! Finding the CometBFT node binary for a release line.
//!
//! `scripts/install-deps` installs each pinned version into
//! `<cache>/cometbft/<version>/cometbft`, where `<cache>` is `$BULWARK_CACHE_DIR`, or
//! `$XDG_CACHE_HOME/bulwark`, or `~/.cache/bulwark`. `BULWARK_COMETBFT_DIR` overrides
//! `<cache>/cometbft`.

use crate::error::{DevnetError, Result};
use std::path::{Path, PathBuf};

/// A CometBFT release line: privval's, the one vocabulary for lines. The devnet runs
/// [`DEVNET_LINES`].
pub use privval::Line;

/// The lines the devnet can run, in the order they are preferred. [`Line::V0_34`] is
/// privval's name for the v0.34 and v0.37 protocol; the devnet runs it with a v0.37 (or
/// v0.34) binary, asked for as `v0.37` or `v0.34`.
pub const DEVNET_LINES: [Line; 4] = [Line::V0_38, Line::V1_0, Line::V0_40, Line::V0_34];

/// The release minors each line's binaries come from (`0.37` and `0.34` for
/// [`Line::V0_34`], newest first).
fn minors(line: Line) -> &'static [&'static str] {
    match line {
        Line::V0_34 => &["0.37", "0.34"],
        Line::V0_38 => &["0.38"],
        Line::V0_40 => &["0.40"],
        Line::V1_0 => &["1.0"],
    }
}

/// Parse a line the devnet can run (`v0.38`, `0.38`, `v0.38.26`, `v1.0`, `v0.40`,
/// `v0.37`, `v0.34`).
pub fn parse_line(s: &str) -> Result<Line> {
    let unknown = || DevnetError::UnknownLine {
        requested: s.to_string(),
        supported: "v0.38, v1.0, v0.40, v0.37 (v0.34)".into(),
    };
    let line: Line = s.parse().map_err(|_| unknown())?;
    // v0.39 speaks v0.38's protocol, but no v0.39 binary is installed.
    let minor_matches = {
        let t = s.trim().trim_start_matches(['v', 'V']);
        minors(line)
            .iter()
            .any(|p| t == *p || t.strip_prefix(p).is_some_and(|rest| rest.starts_with('.')))
    };
    if DEVNET_LINES.contains(&line) && minor_matches {
        Ok(line)
    } else {
        Err(unknown())
    }
}

/// An installed CometBFT binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// The line it belongs to.
    pub line: Line,
    /// Its full version, e.g. `v0.38.26`.
    pub version: String,
    /// Path of the executable.
    pub path: PathBuf,
}

/// The directory holding one sub-directory per installed CometBFT version.
pub fn install_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BULWARK_COMETBFT_DIR") {
        return PathBuf::from(d);
    }
    cache_dir().join("cometbft")
}

/// Bulwark's cache directory (outside any checkout, shared by clones and CI runs).
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BULWARK_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("bulwark");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache").join("bulwark")
}

/// Find the newest installed binary of `line` under `dir`.
pub fn find(line: Line, dir: &Path) -> Result<Binary> {
    let missing = || DevnetError::MissingBinary {
        line: line.to_string(),
        dir: dir.to_path_buf(),
    };
    let entries = std::fs::read_dir(dir).map_err(|_| missing())?;
    let mut best: Option<(Vec<u64>, String, PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(key) = version_key(&name, line) else {
            continue;
        };
        let exe = entry.path().join("cometbft");
        if !exe.is_file() {
            continue;
        }
        if best.as_ref().is_none_or(|(k, _, _)| key > *k) {
            best = Some((key, name, exe));
        }
    }
    let (_, version, path) = best.ok_or_else(missing)?;
    Ok(Binary {
        line,
        version,
        path,
    })
}

/// `v0.38.26` -> `[0, 38, 26]` when it belongs to `line`; pre-releases are skipped.
fn version_key(name: &str, line: Line) -> Option<Vec<u64>> {
    minors(line).iter().find_map(|minor| {
        let rest = name
            .strip_prefix('v')?
            .strip_prefix(minor)?
            .strip_prefix('.')?;
        let patch: u64 = rest.parse().ok()?;
        let mut key: Vec<u64> = minor.split('.').map(|p| p.parse().unwrap_or(0)).collect();
        key.push(patch);
        Some(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_versions() {
        assert_eq!(parse_line("v0.38").unwrap(), Line::V0_38);
        assert_eq!(parse_line("0.38").unwrap(), Line::V0_38);
        assert_eq!(parse_line("v0.38.26").unwrap(), Line::V0_38);
        assert_eq!(parse_line("v1.0").unwrap(), Line::V1_0);
        assert_eq!(parse_line("v1.0.1").unwrap(), Line::V1_0);
        assert_eq!(parse_line("v0.40").unwrap(), Line::V0_40);
        assert_eq!(parse_line("v0.37").unwrap(), Line::V0_34);
        assert_eq!(parse_line("v0.37.18").unwrap(), Line::V0_34);
        assert_eq!(parse_line("v0.34").unwrap(), Line::V0_34);
    }

    #[test]
    fn unknown_line_lists_supported_ones() {
        let err = parse_line("v0.99").unwrap_err().to_string();
        assert!(err.contains("v0.99"), "{err}");
        assert!(err.contains("v0.38, v1.0, v0.40, v0.37"), "{err}");
        assert!(parse_line("v0.3").is_err());
        assert!(parse_line("v1.01").is_err());
        assert!(parse_line("v0.370").is_err());
        // A line privval speaks that the devnet cannot run.
        assert!(parse_line("v0.39").is_err());
    }

    #[test]
    fn finds_newest_patch_of_a_line() {
        let dir = tempfile::tempdir().unwrap();
        for v in [
            "v0.38.9",
            "v0.38.26",
            "v0.38.3",
            "v1.0.1",
            "v0.38.27-rc1",
            "v0.34.35",
            "v0.37.18",
        ] {
            let d = dir.path().join(v);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("cometbft"), b"").unwrap();
        }
        let b = find(Line::V0_38, dir.path()).unwrap();
        assert_eq!(b.version, "v0.38.26");
        assert_eq!(b.path, dir.path().join("v0.38.26/cometbft"));
        assert_eq!(find(Line::V0_34, dir.path()).unwrap().version, "v0.37.18");
        let err = find(Line::V0_40, dir.path()).unwrap_err().to_string();
        assert!(err.contains("scripts/install-deps"), "{err}");
    }
}
