//! The shape of a devnet: which nodes exist, their roles, ports and peers.
//!
//! `val0` is the operator's validator and follows the sentry pattern: a primary node
//! (`val0`) and a backup node (`val0-backup`), both reachable only through `sentry0`.
//! The other validators (`val1`...) stand for the rest of the network and peer with each
//! other and with the sentry.

use crate::manifest::{Node, Role};
use std::path::PathBuf;

/// Ports each node takes from the devnet's block: p2p, rpc, metrics, signer.
pub const PORTS_PER_NODE: u16 = 4;

/// Name of the operator's validator.
pub const OPERATOR: &str = "val0";
/// Name of the operator's backup node.
pub const BACKUP: &str = "val0-backup";
/// Name of the sentry.
pub const SENTRY: &str = "sentry0";

/// Number of nodes for `validators` validators.
pub fn node_count(validators: usize) -> usize {
    validators + 2
}

/// Ports for devnet services after the nodes' ports: the signer's metrics, the watch,
/// the three cosigners' link listeners and their metrics, the standby cosigner's link
/// listener, the standby signer's (or standby cosigner's) metrics and the standby
/// signer's ports at val0's two nodes.
pub const SERVICE_PORTS: u16 = 12;

/// Number of ports the devnet needs.
pub fn port_count(validators: usize) -> u16 {
    node_ports(validators) + SERVICE_PORTS
}

fn node_ports(validators: usize) -> u16 {
    u16::try_from(node_count(validators)).unwrap_or(u16::MAX / PORTS_PER_NODE) * PORTS_PER_NODE
}

/// Port of the devnet signer's metrics endpoint.
pub fn signer_metrics_port(validators: usize, base: u16) -> u16 {
    base + node_ports(validators)
}

/// Port of the devnet watch's status page.
pub fn watch_port(validators: usize, base: u16) -> u16 {
    base + node_ports(validators) + 1
}

/// Port threshold cosigner `id` (1..=3) listens on for its peers.
pub fn cosigner_port(validators: usize, base: u16, id: u16) -> u16 {
    base + node_ports(validators) + 1 + id
}

/// Port of threshold cosigner `id`'s (1..=3) metrics endpoint.
pub fn cosigner_metrics_port(validators: usize, base: u16, id: u16) -> u16 {
    base + node_ports(validators) + 4 + id
}

/// Port the standby cosigner (`cosigner-standby`, threshold devnets) listens on for its
/// peers.
pub fn standby_cosigner_port(validators: usize, base: u16) -> u16 {
    base + node_ports(validators) + 8
}

/// Port of the standby cosigner's metrics endpoint: the standby signer's, which a
/// threshold devnet does not run.
pub fn standby_cosigner_metrics_port(validators: usize, base: u16) -> u16 {
    standby_signer_metrics_port(validators, base)
}

/// Port of the standby signer's metrics endpoint.
pub fn standby_signer_metrics_port(validators: usize, base: u16) -> u16 {
    base + node_ports(validators) + 9
}

/// Port val0's node number `index` (0 primary, 1 backup) listens on when its door is
/// open to the standby signer.
pub fn standby_signer_port(validators: usize, base: u16, index: u16) -> u16 {
    base + node_ports(validators) + 10 + index
}

/// What a port at `offset` from the base is for, for error messages.
pub fn port_purpose(validators: usize, offset: u16) -> String {
    if offset >= node_ports(validators) {
        return match offset - node_ports(validators) {
            0 => "metrics port of the devnet signer".into(),
            1 => "status port of the devnet watch".into(),
            o @ 2..=4 => format!("link port of cosigner-{}", o - 1),
            o @ 5..=7 => format!("metrics port of cosigner-{}", o - 4),
            8 => "link port of cosigner-standby".into(),
            9 => "metrics port of the standby signer (or of cosigner-standby)".into(),
            10 => format!("standby signer port of node {OPERATOR}"),
            11 => format!("standby signer port of node {BACKUP}"),
            _ => "spare devnet service port".into(),
        };
    }
    let names = node_names(validators);
    let node = names
        .get(usize::from(offset / PORTS_PER_NODE))
        .map(|(n, _, _)| n.as_str())
        .unwrap_or("?");
    let what = ["p2p", "rpc", "metrics", "signer"][usize::from(offset % PORTS_PER_NODE)];
    format!("{what} port of node {node}")
}

/// (name, role, validator) of every node, in start order.
pub fn node_names(validators: usize) -> Vec<(String, Role, Option<String>)> {
    let mut v = vec![
        (
            OPERATOR.to_string(),
            Role::Validator,
            Some(OPERATOR.to_string()),
        ),
        (BACKUP.to_string(), Role::Backup, Some(OPERATOR.to_string())),
        (SENTRY.to_string(), Role::Sentry, None),
    ];
    for i in 1..validators {
        let name = format!("val{i}");
        v.push((name.clone(), Role::Validator, Some(name)));
    }
    v
}

/// Plan the nodes with ports from `base`; node IDs are filled in after key generation.
pub fn plan(validators: usize, base: u16) -> Vec<Node> {
    node_names(validators)
        .into_iter()
        .enumerate()
        .map(|(i, (name, role, validator))| {
            let p = base + u16::try_from(i).expect("node count fits u16") * PORTS_PER_NODE;
            let operator_node = validator.as_deref() == Some(OPERATOR);
            Node {
                home: PathBuf::from("nodes").join(&name),
                name,
                role,
                validator,
                node_id: String::new(),
                p2p_port: p,
                rpc_port: p + 1,
                metrics_port: p + 2,
                signer_port: operator_node.then_some(p + 3),
                standby_signer_port: operator_node
                    .then(|| standby_signer_port(validators, base, u16::from(i > 0))),
                door: Default::default(),
            }
        })
        .collect()
}

/// Is this one of the operator's validator nodes (primary or backup)?
pub fn is_operator_node(node: &Node) -> bool {
    node.validator.as_deref() == Some(OPERATOR)
}

/// The peers `node` dials, and the peer IDs it must keep private.
pub fn peers_of<'a>(node: &Node, all: &'a [Node]) -> (Vec<&'a Node>, Vec<&'a Node>) {
    let operator: Vec<&Node> = all.iter().filter(|n| is_operator_node(n)).collect();
    match node.role {
        _ if is_operator_node(node) => (
            all.iter().filter(|n| n.role == Role::Sentry).collect(),
            vec![],
        ),
        Role::Sentry => (
            all.iter().filter(|n| n.name != node.name).collect(),
            operator,
        ),
        _ => (
            all.iter()
                .filter(|n| n.name != node.name && !is_operator_node(n))
                .collect(),
            vec![],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_nodes_reach_only_the_sentry() {
        let nodes = plan(4, 20_000);
        let names: Vec<_> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            ["val0", "val0-backup", "sentry0", "val1", "val2", "val3"]
        );
        for n in &nodes {
            let (peers, private) = peers_of(n, &nodes);
            let peer_names: Vec<_> = peers.iter().map(|p| p.name.as_str()).collect();
            match n.name.as_str() {
                "val0" | "val0-backup" => assert_eq!(peer_names, ["sentry0"]),
                "sentry0" => {
                    assert_eq!(peer_names, ["val0", "val0-backup", "val1", "val2", "val3"]);
                    let p: Vec<_> = private.iter().map(|p| p.name.as_str()).collect();
                    assert_eq!(p, ["val0", "val0-backup"]);
                }
                other => {
                    assert!(!peer_names.contains(&"val0") && !peer_names.contains(&"val0-backup"));
                    assert!(peer_names.contains(&"sentry0"));
                    assert!(!peer_names.contains(&other));
                }
            }
        }
    }

    #[test]
    fn ports_are_distinct_and_named() {
        let nodes = plan(4, 20_000);
        let mut ports: Vec<u16> = nodes
            .iter()
            .flat_map(|n| [n.p2p_port, n.rpc_port, n.metrics_port])
            .chain(nodes.iter().filter_map(|n| n.signer_port))
            .chain(nodes.iter().filter_map(|n| n.standby_signer_port))
            .chain([standby_signer_metrics_port(4, 20_000)])
            .collect();
        let count = ports.len();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), count);
        assert!(ports.iter().all(|p| *p < 20_000 + port_count(4)));
        assert_eq!(port_purpose(4, 5), "rpc port of node val0-backup");
        assert_eq!(signer_metrics_port(4, 20_000), 20_024);
        assert_eq!(port_purpose(4, 24), "metrics port of the devnet signer");
        assert_eq!(watch_port(4, 20_000), 20_025);
        assert_eq!(port_purpose(4, 25), "status port of the devnet watch");
        assert_eq!(cosigner_port(4, 20_000, 1), 20_026);
        assert_eq!(port_purpose(4, 28), "link port of cosigner-3");
        assert_eq!(cosigner_metrics_port(4, 20_000, 3), 20_031);
        assert_eq!(port_purpose(4, 31), "metrics port of cosigner-3");
        assert_eq!(port_purpose(4, 32), "link port of cosigner-standby");
        assert_eq!(standby_signer_metrics_port(4, 20_000), 20_033);
        assert_eq!(nodes[1].standby_signer_port, Some(20_035));
        assert_eq!(
            port_purpose(4, 35),
            "standby signer port of node val0-backup"
        );
        assert_eq!(nodes[0].signer_port, Some(20_003));
        assert_eq!(nodes[2].signer_port, None);
    }
}
