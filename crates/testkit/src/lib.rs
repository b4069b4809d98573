//! Bulwark's test kit: every helper the tests and the bench share, written once.
//!
//! Dev-only (`publish = false`): the tests take it as a dev-dependency, the bench as a
//! normal one, so nothing here needs a test harness. Helpers that run the `bulwark`
//! binary take its path in a [`Bulwark`] value (`CARGO_BIN_EXE_bulwark` exists only in
//! the binary's own tests).

pub mod browser;
pub mod ca;
pub mod devnet;
pub mod failover;
pub mod horcrux;
pub mod http;
pub mod link;
pub mod netns;
pub mod node;
pub mod pkcs11;
pub mod port;
pub mod process;
pub mod prom;
pub mod signer;
pub mod simd;
pub mod single_node;
pub mod smtp;
pub mod snapshot;
pub mod ssh;
pub mod sshfs;
pub mod strace;
pub mod threshold;
pub mod trickle;
pub mod vault;
pub mod votes;
pub mod watch_api;

pub use process::Bulwark;

/// What most tests use, for one glob import.
pub mod prelude {
    pub use crate::devnet::{
        assert_no_evidence, best_height, commit_signers, isolate, kvstore_size, node, nodes,
        scan_chain, validator_address, ChainScan, Devnet,
    };
    pub use crate::http::{http_body, rpc_get, HttpStub};
    pub use crate::port::free_port;
    pub use crate::process::{json, processes_under, spawn, text, Bulwark, Daemon, Proc};
    pub use crate::prom::{alertmanager, alertmanager_cluster, promtool, sample};
    pub use crate::signer::{
        add_to_chain, edit_chain, signer_config, write_config, write_config_addrs, write_key,
        write_signer_config, SignerProc,
    };
    pub use crate::threshold::{cosigner_configs, dkg_cosigner_configs, metrics_url};
    pub use crate::watch_api::{api, count, grouped_keys, is, wait_api};
}
