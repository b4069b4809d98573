//! Network namespaces for tests that need separate hosts: each has its own network
//! stack, reached from the test's namespace over a veth pair (10.N.i.1 on the test's
//! side, 10.N.i.2 inside). Nothing is routed anywhere else. Needs root and `ip`.

use std::net::Ipv4Addr;
use std::process::Command;

/// `count` namespaces, removed on drop.
#[derive(Debug)]
pub struct Netns {
    tag: String,
    block: u8,
    count: usize,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("running ip {args:?}: {e}; network namespace tests need iproute2 and root")
    });
    assert!(
        out.status.success(),
        "ip {args:?}: {}; network namespace tests need root",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// Create `count` namespaces with a veth pair each.
    pub fn create(count: usize) -> Netns {
        let pid = std::process::id();
        let tag = format!("{}", pid % 100_000);
        // A /16 of 10.0.0.0/8 chosen by the process, so parallel test binaries differ.
        let block = u8::try_from(20 + pid % 200).unwrap_or(20);
        let n = Netns { tag, block, count };
        for i in 0..count {
            let (name, host_if, ns_if) = (n.name(i), n.host_if(i), n.ns_if(i));
            let host = format!("{}/30", n.host_addr(i));
            let inner = format!("{}/30", n.ns_addr(i));
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
            let _ = Command::new("ip").args(["link", "del", &host_if]).output();
            ip(&["netns", "add", &name]);
            ip(&[
                "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
            ]);
            ip(&["link", "set", &ns_if, "netns", &name]);
            ip(&["addr", "add", &host, "dev", &host_if]);
            ip(&["link", "set", &host_if, "up"]);
            ip(&[
                "netns", "exec", &name, "ip", "addr", "add", &inner, "dev", &ns_if,
            ]);
            ip(&["netns", "exec", &name, "ip", "link", "set", &ns_if, "up"]);
            ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        }
        n
    }

    /// The name of namespace `i`.
    pub fn name(&self, i: usize) -> String {
        format!("bw{}n{i}", self.tag)
    }

    fn host_if(&self, i: usize) -> String {
        format!("bw{}h{i}", self.tag)
    }

    fn ns_if(&self, i: usize) -> String {
        format!("bw{}c{i}", self.tag)
    }

    /// The test's side of namespace `i`'s veth.
    pub fn host_addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, self.block, u8::try_from(i).unwrap_or(0), 1)
    }

    /// Namespace `i`'s own address.
    pub fn ns_addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, self.block, u8::try_from(i).unwrap_or(0), 2)
    }

    /// The prefix that runs a program inside namespace `i`.
    pub fn exec_prefix(&self, i: usize) -> Vec<String> {
        vec!["ip".into(), "netns".into(), "exec".into(), self.name(i)]
    }

    /// [`crate::http::get`] of `url` from inside namespace `i`, so that a server on that
    /// namespace's own loopback (a cosigner's `/metrics`) can be read: a thread of this
    /// process enters the namespace (`setns`), asks, and ends. `None` when nothing
    /// answers.
    pub fn get(&self, i: usize, url: &str) -> Option<(u16, String)> {
        let path = format!("/run/netns/{}", self.name(i));
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = std::fs::File::open(&path)
                    .unwrap_or_else(|e| panic!("opening {path}: {e}; is namespace {i} there?"));
                nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                    .unwrap_or_else(|e| panic!("entering {path}: {e}; this needs root"));
                crate::http::get(url)
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for i in 0..self.count {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.name(i)])
                .output();
            let _ = Command::new("ip")
                .args(["link", "del", &self.host_if(i)])
                .output();
        }
    }
}
