//! `Config::validate` for labels, routes, inhibitions and the fallback channel.

use super::route::{check_matchers, valid_label_name, Labels, Matchers, BUILT_IN_LABELS};
use super::Config;
use std::collections::HashSet;

impl Config {
    /// Append the problems of labels, `host` references, routes, inhibitions and
    /// `fallback_channel` to `p`; `channels` are the defined channel names.
    pub(super) fn validate_routing(&self, p: &mut Vec<String>, channels: &HashSet<&str>) {
        let hosts: HashSet<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
        for c in &self.chains {
            check_labels(p, &format!("chain {:?}", c.id), &c.labels);
        }
        for h in &self.hosts {
            check_labels(p, &format!("host {:?}", h.name), &h.labels);
        }
        let subjects = self
            .nodes
            .iter()
            .map(|n| (format!("node {:?}", n.name), &n.host, &n.labels))
            .chain(
                self.signers
                    .iter()
                    .map(|s| (format!("signer {:?}", s.name), &s.host, &s.labels)),
            );
        for (what, host, labels) in subjects {
            check_labels(p, &what, labels);
            if let Some(h) = host.as_deref().filter(|h| !hosts.contains(h)) {
                p.push(format!(
                    "{what}: host {h:?} is not a [[host]] name; add the [[host]] or fix the name"
                ));
            }
        }
        let known = |label: &str| -> Option<HashSet<&str>> {
            match label {
                "chain" => Some(self.chains.iter().map(|c| c.id.as_str()).collect()),
                "node" => Some(self.nodes.iter().map(|n| n.name.as_str()).collect()),
                "host" => Some(hosts.clone()),
                _ => None,
            }
        };
        let check_known = |p: &mut Vec<String>, what: &str, m: &Matchers| {
            for (k, v) in m {
                let Some(names) = known(k) else { continue };
                for x in v.values().into_iter().filter(|x| !names.contains(x)) {
                    p.push(format!("{what}: {k} {x:?} is not a configured {k}"));
                }
            }
        };
        for (i, r) in self.routes.iter().enumerate() {
            let what = format!("route #{}", i + 1);
            check_matchers(p, &what, &r.matchers);
            check_known(p, &what, &r.matchers);
            for l in r.group_by.iter().filter(|l| !valid_label_name(l)) {
                p.push(format!("{what}: group_by {l:?} is not a label name"));
            }
            if let Some(q) = r.quiet_hours.as_ref().filter(|q| q.from == q.to) {
                p.push(format!(
                    "{what}: quiet_hours from and to are both {}; give a range of time",
                    String::from(q.from)
                ));
            }
            if let Some(q) = r
                .quiet_hours
                .as_ref()
                .filter(|q| q.time_zone.is_some() && q.utc_offset != Default::default())
            {
                p.push(format!(
                    "{what}: quiet_hours has both utc_offset {} and time_zone {}; give one",
                    String::from(q.utc_offset),
                    q.time_zone.clone().map(String::from).unwrap_or_default()
                ));
            }
            if let Some(f) = r.fallback.as_deref().filter(|f| !channels.contains(f)) {
                p.push(format!(
                    "{what}: fallback {f:?} is not a [[channel]] name; define it or fix the name"
                ));
            }
            if r.repeat_interval.is_some_and(|d| d.is_zero()) {
                p.push(format!("{what}: repeat_interval must be above 0s"));
            }
        }
        for (i, r) in self.inhibits.iter().enumerate() {
            let what = format!("inhibit #{}", i + 1);
            if r.source.is_empty() || r.target.is_empty() {
                p.push(format!(
                    "{what}: give both source and target matchers (an empty one would match every alert)"
                ));
            }
            check_matchers(p, &format!("{what} source"), &r.source);
            check_matchers(p, &format!("{what} target"), &r.target);
            for l in r.equal.iter().filter(|l| !valid_label_name(l)) {
                p.push(format!("{what}: equal {l:?} is not a label name"));
            }
        }
        if let Some(f) = self
            .fallback_channel
            .as_deref()
            .filter(|f| !channels.contains(f))
        {
            p.push(format!(
                "fallback_channel {f:?} is not a [[channel]] name; define it or fix the name"
            ));
        }
    }
}

fn check_labels(p: &mut Vec<String>, what: &str, labels: &Labels) {
    for (k, v) in labels {
        if !valid_label_name(k) {
            p.push(format!(
                "{what}: {k:?} is not a label name (letters, digits and _, not starting with a digit)"
            ));
        } else if BUILT_IN_LABELS.contains(&k.as_str()) {
            p.push(format!(
                "{what}: label {k:?} is set by the watch itself; give your label another name"
            ));
        }
        if v.is_empty() {
            p.push(format!("{what}: label {k:?} has an empty value"));
        }
    }
}
