//! Horcrux's sign states, `state/{chain}_priv_validator_state.json` (the last signature
//! the cosigner's signer assembled or learned) and `state/{chain}_share_sign_state.json`
//! (the last share this cosigner released), read into one guard state: the higher of the
//! two.
//!
//! Both files are a `signer.SignState` in CometBFT's JSON: `{"height":"123","round":"0",
//! "step":3,"nonce_public":"","signature":"<base64>","signbytes":"<HEX>",
//! "vote_ext_signature":""}` with steps 1 propose, 2 prevote, 3 precommit (0: none), as
//! in CometBFT's `priv_validator_state.json`, so [`guard::import_cometbft_state`] reads
//! them. Horcrux writes the share state in a goroutine after the share has left, so the
//! share state can lag what was released: the higher of the two files is the floor, and
//! an operator should also raise it from the chain.
//!
//! The imported state holds sign bytes and no signature (a cosigner's record: the share
//! state's `signature` is this cosigner's partial signature, not an Ed25519 signature). At
//! the imported height/round/step the cosigner then releases shares only for the same data
//! (identical, or differing in the timestamp only), as it does for its own records. Sign
//! bytes are kept only when they are canonical vote or proposal bytes for that chain and
//! height/round/step, and, when both files are at the same height/round/step, the same in
//! both; otherwise the state keeps its height/round/step without sign bytes, so nothing
//! more is signed at that step.

use guard::SignState;
use std::path::{Path, PathBuf};

use super::HorcruxError;

/// Where Horcrux keeps the two state files of `chain_id` in its state directory
/// (`~/.horcrux/state`): the sign state, then the share sign state.
pub fn state_files(state_dir: &Path, chain_id: &str) -> [PathBuf; 2] {
    [
        state_dir.join(format!("{chain_id}_priv_validator_state.json")),
        state_dir.join(format!("{chain_id}_share_sign_state.json")),
    ]
}

/// One state file as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Its state, with the signature dropped and sign bytes only when usable.
    pub state: SignState,
}

/// The state made from a Horcrux state directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedState {
    /// The higher of the sources.
    pub state: SignState,
    /// The files found (one or both).
    pub sources: Vec<Source>,
}

/// Read `chain_id`'s state files from Horcrux's `state_dir` (at least one must exist) and
/// take the higher.
pub fn import_state_dir(state_dir: &Path, chain_id: &str) -> Result<ImportedState, HorcruxError> {
    let mut sources = Vec::new();
    for path in state_files(state_dir, chain_id) {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(HorcruxError::Io { path, source }),
        };
        let state = read_state(&bytes, chain_id).map_err(|reason| HorcruxError::State {
            path: path.clone(),
            reason,
        })?;
        sources.push(Source { path, state });
    }
    if sources.is_empty() {
        let [a, b] = state_files(state_dir, chain_id);
        return Err(HorcruxError::State {
            path: state_dir.to_path_buf(),
            reason: format!(
                "neither {} nor {} exists; pass Horcrux's state directory (`~/.horcrux/state` \
                 of this cosigner) and the chain ID its files are named for",
                a.display(),
                b.display()
            ),
        });
    }
    let states: Vec<SignState> = sources.iter().map(|s| s.state.clone()).collect();
    Ok(ImportedState {
        state: highest(&states).expect("at least one"),
        sources,
    })
}

/// One Horcrux state file's bytes as a guard state of `chain_id`: the signature dropped,
/// sign bytes kept only when they are canonical bytes of this chain and height/round/step.
pub fn read_state(bytes: &[u8], chain_id: &str) -> Result<SignState, String> {
    let mut state = guard::import_cometbft_state(bytes, chain_id)
        .map_err(|e| format!("not a Horcrux sign state: {e}"))?;
    state.signature.clear();
    state.unstamped.clear();
    if !state.sign_bytes.is_empty() {
        match privval::read_consensus_sign_bytes(&state.sign_bytes) {
            Ok(read) if read.chain_id == chain_id && read.hrs == state.hrs() => {
                state.unstamped = read.unstamped;
            }
            _ => state.sign_bytes.clear(),
        }
    }
    Ok(state)
}

/// The highest of `states` by height/round/step. At the same height/round/step, sign
/// bytes survive only when every state there holds the same ones.
pub fn highest(states: &[SignState]) -> Option<SignState> {
    let top = states.iter().map(SignState::hrs).max()?;
    let at_top: Vec<&SignState> = states.iter().filter(|s| s.hrs() == top).collect();
    let mut out = at_top[0].clone();
    if at_top.iter().any(|s| s.sign_bytes != out.sign_bytes) {
        out.sign_bytes.clear();
        out.unstamped.clear();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guard::Step;

    fn state(height: i64, round: i32, step: Step, sign_bytes: &[u8]) -> SignState {
        SignState {
            chain_id: "c".into(),
            height,
            round,
            step,
            sign_bytes: sign_bytes.to_vec(),
            signature: Vec::new(),
            unstamped: sign_bytes.to_vec(),
        }
    }

    #[test]
    fn the_highest_wins_and_disagreeing_sign_bytes_are_dropped() {
        let low = state(10, 0, Step::Precommit, b"a");
        let high = state(11, 0, Step::Prevote, b"b");
        assert_eq!(highest(&[low.clone(), high.clone()]), Some(high.clone()));
        assert_eq!(highest(&[high.clone(), low.clone()]), Some(high.clone()));
        let same = state(11, 0, Step::Prevote, b"b");
        assert_eq!(highest(&[high.clone(), same]), Some(high.clone()));
        let other = state(11, 0, Step::Prevote, b"c");
        assert_eq!(
            highest(&[high.clone(), other]),
            Some(state(11, 0, Step::Prevote, b""))
        );
        let unknown = state(11, 0, Step::Prevote, b"");
        assert_eq!(
            highest(&[unknown, high]),
            Some(state(11, 0, Step::Prevote, b""))
        );
        assert_eq!(highest(&[]), None);
    }

    #[test]
    fn reads_what_horcrux_state_import_writes() {
        // `horcrux state import` v3.3.2 wrote this.
        let json = br#"{
  "height": "1234",
  "round": "2",
  "step": 3,
  "nonce_public": "",
  "signature": "",
  "signbytes": "",
  "vote_ext_signature": ""
}"#;
        let s = read_state(json, "c").unwrap();
        assert_eq!(s, state(1234, 2, Step::Precommit, b""));
    }

    #[test]
    fn sign_bytes_of_another_step_or_not_canonical_are_dropped() {
        let json = br#"{"height":"5","round":"0","step":2,"signature":"AAAA","signbytes":"0102"}"#;
        assert_eq!(
            read_state(json, "c").unwrap(),
            state(5, 0, Step::Prevote, b"")
        );
        assert!(read_state(br#"{"round":"0"}"#, "c").is_err());
        assert!(read_state(b"[]", "c").is_err());
    }
}
