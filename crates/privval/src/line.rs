//! CometBFT release lines and what each one speaks on the privval connection.

use std::fmt;
use std::str::FromStr;

/// A CometBFT release line, as far as the privval protocol is concerned.
///
/// Several releases share one wire protocol, so one variant can cover more
/// than one release line:
///
/// | variant | releases | differences |
/// |---|---|---|
/// | [`Line::V0_34`] | v0.34, v0.37 | no vote extensions |
/// | [`Line::V0_38`] | v0.38, v0.39 | vote extensions |
/// | [`Line::V0_40`] | v0.40 | as v0.38, more key types, ~1 MiB frames |
/// | [`Line::V1_0`] | v1.0 | `pub_key_bytes`/`pub_key_type`, `skip_extension_signing`, SignBytes |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Line {
    /// CometBFT v0.34 and v0.37 (`tendermint.privval`, no vote extensions).
    V0_34,
    /// CometBFT v0.38 and v0.39 (`tendermint.privval`, votes carry
    /// `extension` and `extension_signature`).
    V0_38,
    /// CometBFT v0.40: the v0.38 messages, a larger frame limit and more
    /// public key types. It also adds a `noise://` transport for privval.
    V0_40,
    /// CometBFT v1.0 (`cometbft.privval.v1`).
    V1_0,
}

/// Maximum privval message size (without the length prefix) in CometBFT
/// v0.34 through v0.39 and v1.0: `maxRemoteSignerMsgSize = 1024 * 10`.
pub const MAX_FRAME_SIZE_10_KIB: usize = 10 * 1024;

/// Maximum privval message size (without the length prefix) in CometBFT
/// v0.40: `types.MaxVoteExtensionSize + 2*types.MaxSignatureSize + 1024`,
/// that is 1 MiB + 2 * 3309 (an ML-DSA-65 signature) + 1024.
pub const MAX_FRAME_SIZE_V0_40: usize = 1024 * 1024 + 2 * 3309 + 1024;

/// The names [`Line::from_str`] accepts, for error messages and help texts.
pub const SUPPORTED_LINES: &str = "v0.34, v0.37, v0.38, v0.39, v0.40, v1.0";

impl Line {
    /// Every line, oldest protocol first.
    pub const ALL: [Line; 4] = [Line::V0_34, Line::V0_38, Line::V0_40, Line::V1_0];

    /// The canonical name of the line (`v0.34`, `v0.38`, `v0.40`, `v1.0`).
    pub fn as_str(self) -> &'static str {
        match self {
            Line::V0_34 => "v0.34",
            Line::V0_38 => "v0.38",
            Line::V0_40 => "v0.40",
            Line::V1_0 => "v1.0",
        }
    }

    /// The CometBFT releases this line covers, for humans.
    pub fn releases(self) -> &'static str {
        match self {
            Line::V0_34 => "v0.34 and v0.37",
            Line::V0_38 => "v0.38 and v0.39",
            Line::V0_40 => "v0.40",
            Line::V1_0 => "v1.0",
        }
    }

    /// The largest message (not counting its length prefix) the node of
    /// this line reads from or sends to a remote signer.
    pub fn max_frame_size(self) -> usize {
        match self {
            Line::V0_40 => MAX_FRAME_SIZE_V0_40,
            Line::V0_34 | Line::V0_38 | Line::V1_0 => MAX_FRAME_SIZE_10_KIB,
        }
    }

    /// Whether votes carry `extension` and `extension_signature`.
    pub fn has_vote_extensions(self) -> bool {
        !matches!(self, Line::V0_34)
    }

    /// Whether `SignVoteRequest` carries `skip_extension_signing`.
    pub fn has_skip_extension_signing(self) -> bool {
        matches!(self, Line::V1_0)
    }

    /// Whether `SignBytesRequest`/`SignBytesResponse` exist.
    pub fn has_sign_bytes(self) -> bool {
        matches!(self, Line::V1_0)
    }

    /// Whether `PubKeyResponse` carries `pub_key_bytes` + `pub_key_type`
    /// (true) or a `crypto.PublicKey` oneof (false).
    pub fn has_typed_pub_key_bytes(self) -> bool {
        matches!(self, Line::V1_0)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Line {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Line {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Line, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A string that names no supported CometBFT line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported CometBFT line `{input}`: supported lines are {SUPPORTED_LINES}; use the major.minor version of the node (`cometbft version`)")]
pub struct ParseLineError {
    /// What was given.
    pub input: String,
}

impl FromStr for Line {
    type Err = ParseLineError;

    /// Parses `v0.34`, `v0.37`, `v0.38`, `v0.39`, `v0.40` or `v1.0`. The
    /// leading `v` is optional and a patch version is ignored, so a node's
    /// version such as `0.38.17` or `v1.0.1` works as is.
    fn from_str(s: &str) -> Result<Line, ParseLineError> {
        let err = || ParseLineError {
            input: s.to_owned(),
        };
        let trimmed = s.trim();
        let version = trimmed
            .strip_prefix('v')
            .or_else(|| trimmed.strip_prefix('V'))
            .unwrap_or(trimmed);
        let mut parts = version.split('.');
        let major = parts.next().ok_or_else(err)?;
        let minor = parts.next().unwrap_or("");
        match parts.next() {
            None => {}
            Some(patch) if is_patch(patch) && parts.next().is_none() => {}
            Some(_) => return Err(err()),
        }
        match (major, minor) {
            ("0", "34") | ("0", "37") => Ok(Line::V0_34),
            ("0", "38") | ("0", "39") => Ok(Line::V0_38),
            ("0", "40") => Ok(Line::V0_40),
            ("1", "0") | ("1", "") => Ok(Line::V1_0),
            _ => Err(err()),
        }
    }
}

/// A patch version: digits, optionally followed by a pre-release suffix
/// (`1`, `26`, `0-rc1`).
fn is_patch(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && (digits == s.len() || s.as_bytes()[digits] == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_supported_name() {
        for (s, line) in [
            ("v0.34", Line::V0_34),
            ("v0.37", Line::V0_34),
            ("v0.38", Line::V0_38),
            ("v0.39", Line::V0_38),
            ("v0.40", Line::V0_40),
            ("v1.0", Line::V1_0),
            ("v1", Line::V1_0),
            ("0.38.17", Line::V0_38),
            ("v1.0.1", Line::V1_0),
            (" v0.34.35 ", Line::V0_34),
            ("v1.0.0-rc2", Line::V1_0),
        ] {
            assert_eq!(s.parse::<Line>(), Ok(line), "{s}");
        }
    }

    #[test]
    fn display_round_trips() {
        for line in Line::ALL {
            assert_eq!(line.to_string().parse::<Line>(), Ok(line));
        }
    }

    #[test]
    fn rejects_others_and_lists_supported_lines() {
        for s in [
            "",
            "v",
            "v0.33",
            "v0.36",
            "v1.1",
            "v2.0",
            "0.38.x",
            "v0.38.1.2",
            "latest",
        ] {
            let err = s.parse::<Line>().unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(SUPPORTED_LINES), "{msg}");
            assert!(msg.contains(&format!("`{s}`")), "{msg}");
        }
    }

    #[test]
    fn frame_limits() {
        assert_eq!(Line::V0_34.max_frame_size(), 10_240);
        assert_eq!(Line::V0_38.max_frame_size(), 10_240);
        assert_eq!(Line::V1_0.max_frame_size(), 10_240);
        assert_eq!(Line::V0_40.max_frame_size(), 1_056_218);
    }
}
