//! OpenSSH `allowed_signers` files (see `ssh-keygen(1)`, "ALLOWED SIGNERS"): who may
//! sign, with which key, in which namespaces, and when.
//!
//! Lines are `principals [options] keytype base64 [comment]`. Principals are
//! comma-separated and may use `*` and `?`. Options: `namespaces="a,b"`,
//! `valid-after=` and `valid-before=` (`YYYYMMDD[HHMM[SS]]`, read as UTC with or
//! without a trailing `Z`). Certificate authorities (`cert-authority`) and negated
//! principals are refused: a file that uses them needs `ssh-keygen -Y verify`, not a
//! partial reading.

use ssh_key::PublicKey;
use std::path::Path;
use std::time::SystemTime;

/// Why an `allowed_signers` file was not accepted.
#[derive(Debug, thiserror::Error)]
#[error("allowed signers file {path}: {}", problems.join("; "))]
pub struct AllowedError {
    /// The file.
    pub path: String,
    /// Every problem, with its line number.
    pub problems: Vec<String>,
}

/// One line.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Principal patterns.
    pub principals: Vec<String>,
    /// Namespaces it may sign in (None: any).
    pub namespaces: Option<Vec<String>>,
    /// Not valid before this time.
    pub valid_after: Option<SystemTime>,
    /// Not valid from this time on.
    pub valid_before: Option<SystemTime>,
    /// The key.
    pub key: PublicKey,
    /// Line number in the file.
    pub line: usize,
}

/// A parsed `allowed_signers` file.
#[derive(Debug, Clone)]
pub struct AllowedSigners {
    entries: Vec<Entry>,
}

impl AllowedSigners {
    /// Read and parse `path`; reports every bad line at once.
    pub fn load(path: &Path) -> Result<AllowedSigners, AllowedError> {
        let text = std::fs::read_to_string(path).map_err(|e| AllowedError {
            path: path.display().to_string(),
            problems: vec![e.to_string()],
        })?;
        Self::parse(&text).map_err(|problems| AllowedError {
            path: path.display().to_string(),
            problems,
        })
    }

    /// Parse the text of a file.
    pub fn parse(text: &str) -> Result<AllowedSigners, Vec<String>> {
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line, i + 1) {
                Ok(e) => entries.push(e),
                Err(p) => problems.push(format!("line {}: {p}", i + 1)),
            }
        }
        if entries.is_empty() && problems.is_empty() {
            problems.push("no signers in it".into());
        }
        if problems.is_empty() {
            Ok(AllowedSigners { entries })
        } else {
            Err(problems)
        }
    }

    /// The lines.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether `principal` may sign with `key` in `namespace` at `at`; the reason when
    /// not.
    pub fn check(
        &self,
        principal: &str,
        key: &PublicKey,
        namespace: &str,
        at: SystemTime,
    ) -> Result<(), String> {
        let mut why = format!("{principal} with this key is not in the allowed signers");
        for e in &self.entries {
            if e.key.key_data() != key.key_data()
                || !e.principals.iter().any(|p| glob(p, principal))
            {
                continue;
            }
            if let Some(ns) = &e.namespaces {
                if !ns.iter().any(|n| glob(n, namespace)) {
                    why = format!(
                        "line {}: {principal}'s key may not sign in namespace {namespace}",
                        e.line
                    );
                    continue;
                }
            }
            if e.valid_after.is_some_and(|t| at < t) || e.valid_before.is_some_and(|t| at >= t) {
                why = format!(
                    "line {}: {principal}'s key is outside its valid-after/valid-before window",
                    e.line
                );
                continue;
            }
            return Ok(());
        }
        Err(why)
    }
}

fn parse_line(line: &str, n: usize) -> Result<Entry, String> {
    let tokens = tokens(line)?;
    if tokens.len() < 3 {
        return Err("expected `principals [options] keytype base64key`".into());
    }
    let principals: Vec<String> = tokens[0].split(',').map(str::to_string).collect();
    if principals.iter().any(|p| p.is_empty()) {
        return Err("an empty principal".into());
    }
    if principals.iter().any(|p| p.starts_with('!')) {
        return Err("negated principals are not supported".into());
    }
    let (options, key_at) = if is_key_type(&tokens[1]) {
        (None, 1)
    } else {
        (Some(tokens[1].as_str()), 2)
    };
    let mut entry = Entry {
        principals,
        namespaces: None,
        valid_after: None,
        valid_before: None,
        key: parse_key(&tokens, key_at)?,
        line: n,
    };
    if let Some(options) = options {
        for opt in split_options(options) {
            let (name, value) = match opt.split_once('=') {
                Some((k, v)) => (
                    k.to_ascii_lowercase(),
                    Some(v.trim_matches('"').to_string()),
                ),
                None => (opt.to_ascii_lowercase(), None),
            };
            match (name.as_str(), value) {
                ("namespaces", Some(v)) => {
                    entry.namespaces = Some(v.split(',').map(str::to_string).collect())
                }
                ("valid-after", Some(v)) => entry.valid_after = Some(parse_time(&v)?),
                ("valid-before", Some(v)) => entry.valid_before = Some(parse_time(&v)?),
                ("cert-authority", None) => {
                    return Err("cert-authority lines (certificates) are not supported".into())
                }
                (other, _) => return Err(format!("unknown option {other:?}")),
            }
        }
    }
    Ok(entry)
}

fn parse_key(tokens: &[String], at: usize) -> Result<PublicKey, String> {
    let (Some(kind), Some(b64)) = (tokens.get(at), tokens.get(at + 1)) else {
        return Err("the key is missing".into());
    };
    PublicKey::from_openssh(&format!("{kind} {b64}")).map_err(|e| format!("bad key: {e}"))
}

fn is_key_type(s: &str) -> bool {
    s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-")
}

/// Split on whitespace outside double quotes.
fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("unbalanced quotes".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Split options on commas outside double quotes.
fn split_options(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().filter(|o| !o.is_empty()).collect()
}

/// `YYYYMMDD[HHMM[SS]][Z]` as UTC.
fn parse_time(v: &str) -> Result<SystemTime, String> {
    let d = v.trim_end_matches(['Z', 'z']);
    let bad = || format!("bad time {v:?} (expected YYYYMMDD[HHMM[SS]])");
    if !d.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&d.len()) {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| d.get(r).map_or(Ok(0), |s| s.parse::<u64>());
    let (y, mo, day) = (num(0..4), num(4..6), num(6..8));
    let (h, mi, s) = (num(8..10), num(10..12), num(12..14));
    let [y, mo, day, h, mi, s] = [y, mo, day, h, mi, s].map(|x| x.unwrap_or(u64::MAX));
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    if h > 23 || mi > 59 || s > 59 {
        return Err(bad());
    }
    let text = format!("{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}:{s:02}Z");
    humantime::parse_rfc3339(&text).map_err(|_| bad())
}

/// Shell-style `*` and `?` matching, as OpenSSH's `match_pattern`.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINHGblCInLfxEpsozHco9iwDEqLXad/ET1lBuyQ704vc";

    #[test]
    fn parses_options_and_checks_namespace_and_window() {
        let text = format!(
            "# team\nalice@ops,bob {KEY} comment\ncarol namespaces=\"bulwark-failover\",valid-before=\"20300101\" {KEY}\n"
        );
        let a = AllowedSigners::parse(&text).unwrap();
        let key = PublicKey::from_openssh(KEY).unwrap();
        let now = SystemTime::now();
        assert!(a.check("alice@ops", &key, "anything", now).is_ok());
        assert!(a.check("carol", &key, "bulwark-failover", now).is_ok());
        let e = a.check("carol", &key, "git", now).unwrap_err();
        assert!(e.contains("namespace git"), "{e}");
        let late = humantime::parse_rfc3339("2031-01-01T00:00:00Z").unwrap();
        let e = a
            .check("carol", &key, "bulwark-failover", late)
            .unwrap_err();
        assert!(e.contains("valid-before"), "{e}");
        assert!(a.check("mallory", &key, "x", now).is_err());
    }

    #[test]
    fn bad_lines_are_all_reported() {
        let e =
            AllowedSigners::parse(&format!("x\ny cert-authority {KEY}\n!z {KEY}\n")).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[1].contains("cert-authority"), "{e:?}");
        assert!(e[2].contains("negated"), "{e:?}");
    }

    #[test]
    fn globs() {
        assert!(glob("*@ops", "alice@ops"));
        assert!(glob("a?ice", "alice"));
        assert!(!glob("*@ops", "alice@dev"));
    }
}
