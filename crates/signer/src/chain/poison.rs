//! A chain whose sign state lock was poisoned stops signing.
//!
//! Policy: a panic in a session thread ends that connection only; the session catches it,
//! logs it, counts it in `bulwark_signer_session_panics_total` and redials. But when the
//! panic happened while the thread held the chain's sign state (between the guard's
//! decision, the key's signature and the durable record), the state in memory may no
//! longer match what was decided or written. From then on the chain refuses every sign
//! request (votes, proposals, sign bytes) with an internal error that tells the operator
//! to restart the signer; the restart reads the durable state again, which is never behind
//! a signature that left the process. Pings and public keys are still answered, so the
//! node keeps its connection and reports the error on every request instead of a silent
//! disconnect. Nothing panics on the poisoned lock.

use super::{codes, error, ChainSigner, Outcome};
use privval::{Request, Response};

impl ChainSigner {
    /// Whether a panic happened while the sign state was held: the chain signs nothing
    /// more until the signer is restarted.
    pub fn is_poisoned(&self) -> bool {
        self.store.is_poisoned()
    }

    /// What the node (and the log) is told once the chain has stopped signing.
    pub fn poisoned_message(&self) -> String {
        format!(
            "the signer hit an internal error while holding the sign state of chain {}, \
             so it stops signing for this chain: restart the signer (it reads the durable \
             sign state again) and report the panic in its log",
            self.chain_id
        )
    }

    /// The refusal of a sign request on a poisoned chain.
    pub(super) fn poisoned(&self, req: &Request) -> (Response, Outcome) {
        (
            error(req, codes::INTERNAL, self.poisoned_message()),
            Outcome::Error,
        )
    }
}
