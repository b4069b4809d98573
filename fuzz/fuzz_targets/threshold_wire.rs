//! Arbitrary bytes as a message from a coordinator to a cosigner, and as an answer from
//! a cosigner to a coordinator: decoding may call them garbage, never panic; a request
//! reaching a cosigner's session never panics either, and never releases a share for a
//! nonce the session did not make (none are made here), whatever it names.

#![no_main]

use frost_ed25519::keys::{self, IdentifierList, KeyPackage};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use threshold::serve::{Refusal, ServedChain, Server, ShareGuard};
use threshold::wire::{self, Job, Request, Response};

#[derive(Debug)]
struct Accept;

impl ShareGuard for Accept {
    fn approve(&self, _job: &Job) -> Result<(), Refusal> {
        Ok(())
    }
}

fn server() -> &'static Arc<Server> {
    static S: OnceLock<Arc<Server>> = OnceLock::new();
    S.get_or_init(|| {
        let (shares, _) =
            keys::generate_with_dealer(3, 2, IdentifierList::Default, rand_core::OsRng).unwrap();
        let share = shares.into_values().next().unwrap();
        let mut s = Server::default();
        s.add(
            "fuzz-chain",
            ServedChain {
                key: KeyPackage::try_from(share).unwrap(),
                guard: Arc::new(Accept),
                tips: Default::default(),
            },
        );
        Arc::new(s)
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = wire::decode::<Response>(data);
    let Ok(frame) = wire::decode::<Request>(data) else {
        return;
    };
    let is_sign = matches!(frame.body, Request::Sign(_));
    let mut session = server().session(2);
    let (answer, _) = session.handle(frame);
    if is_sign {
        assert!(
            !matches!(answer.body, Response::Shares { .. }),
            "a share for a nonce this session never made"
        );
    }
});
