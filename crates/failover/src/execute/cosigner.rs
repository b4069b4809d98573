//! The steps of a threshold cosigner's replacement that differ from a signer's move:
//! the door is a re-pin of the share at every other cosigner, the fence is blocks
//! committed after it (the group signs on, so the key is never silent), and the new
//! cosigner signs when its share state rises above its floor.

use super::{run_command, Fail, Run};
use crate::observe;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

impl Run<'_> {
    /// The door of a cosigner's replacement: every other cosigner re-pins the share to
    /// the new cosigner's link key, so that a returning old cosigner is refused by all of
    /// them and its share never meets another.
    pub(super) fn repin(&self) -> Result<serde_json::Value, Fail> {
        let o = &self.plan.observed;
        let share_id = o.to.share_id.map(|i| i.to_string()).unwrap_or_default();
        let key = o.to.link_public_key.clone().unwrap_or_default();
        let addr = self.to.addr.clone().unwrap_or_default();
        let mut done = Vec::new();
        for p in &self.chain.peers {
            let vars = [
                ("{peer}", p.name.as_str()),
                ("{from}", self.from.name.as_str()),
                ("{to}", self.to.name.as_str()),
                ("{share_id}", share_id.as_str()),
                ("{link_public_key}", key.as_str()),
                ("{addr}", addr.as_str()),
            ];
            run_command(&p.door, &vars).map_err(|e| {
                Fail::Stop(format!(
                    "the door command of peer {} failed: {e}; the peers before it ({}) are re-pinned",
                    p.name,
                    done.join(", ")
                ))
            })?;
            // A peer whose config is named must show the new pin.
            if let (Some(_), Some(id)) = (&p.config, o.to.share_id) {
                let seen = observe::peer(&self.plan.chain_id, p, id);
                match (&seen.pinned, &seen.problem) {
                    (Some(pinned), _) if *pinned == key => {}
                    (Some(pinned), _) => {
                        return Err(Fail::Stop(format!(
                            "peer {}'s door command ran, but its config pins {pinned} for share {share_id}, not {}'s {key}; fix the command (or the config) so that it pins the new cosigner, then resume",
                            p.name, self.to.name
                        )))
                    }
                    (None, why) => {
                        return Err(Fail::Stop(format!(
                            "peer {}'s door command ran, but its config cannot be read to see the new pin: {}; fix that, then resume",
                            p.name,
                            why.clone().unwrap_or_default()
                        )))
                    }
                }
            }
            done.push(p.name.clone());
        }
        Ok(json!({
            "summary": format!("{} pin share {share_id} to {}'s link key {key}", done.join(", "), self.to.name),
            "peers": done,
            "link_public_key": key,
        }))
    }

    /// For a cosigner's replacement the group signs on, so the fence is not silence: the
    /// chain commits `silent_blocks` blocks after the re-pin, and the new cosigner's floor
    /// is taken above them.
    pub(super) fn blocks_past_fence(&self) -> Result<serde_json::Value, Fail> {
        let v = observe::view(self.chain);
        let begin = v.survey().map_err(|e| Fail::Stop(e.to_string()))?.tip;
        let want = begin + self.chain.silent_blocks;
        let deadline = Instant::now() + self.chain.wait;
        loop {
            let tip = v.survey().map_err(|e| Fail::Stop(e.to_string()))?.tip;
            if tip >= want {
                return Ok(json!({
                    "summary": format!("the chain went from height {begin} to {tip} since the re-pin"),
                    "from_tip": begin,
                    "tip": tip,
                }));
            }
            if Instant::now() > deadline {
                return Err(Fail::Stop(format!(
                    "the chain did not reach height {want} within {} (it is at {tip}); the new cosigner is not started before it does. Resume when the chain moves",
                    humantime::format_duration(self.chain.wait)
                )));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// A new cosigner signs when its share guard records heights above its floor: each
    /// record is durable before its share leaves.
    pub(super) fn cosigner_signing(&self, floor: u64) -> Result<serde_json::Value, Fail> {
        let state = observe::side(&self.plan.chain_id, self.to)
            .state_file
            .map(PathBuf::from)
            .ok_or_else(|| Fail::Stop(format!("{}'s state file is unknown", self.to.name)))?;
        let deadline = Instant::now() + self.chain.wait;
        loop {
            let now = observe::read_state(&state).map_err(Fail::Stop)?;
            if let Some(h) = now.filter(|h| u64::try_from(h.height).unwrap_or(0) > floor) {
                let height = u64::try_from(h.height).unwrap_or(0);
                return Ok(json!({
                    "summary": format!("{} released its share at {h} (its state, durable before each share leaves; the floor was {floor})", self.to.name),
                    "height": height,
                    "missed_since_plan": serde_json::Value::Null,
                }));
            }
            if Instant::now() > deadline {
                return Err(Fail::Stop(format!(
                    "{} has released no share above height {floor} within {} ({} at {}); look at its log and its peers' (links refused?). The old cosigner stays fenced: do not start it",
                    self.to.name,
                    humantime::format_duration(self.chain.wait),
                    state.display(),
                    now.map(|h| h.to_string()).unwrap_or_else(|| "nothing".into())
                )));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}
