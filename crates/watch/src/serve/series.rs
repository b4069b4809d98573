//! A metric family that remembers the label sets it has made, so that the series of a
//! subject no longer watched (a chain, node, host or cosigner that a reload removed) can
//! be dropped instead of showing its last value for ever.

use prometheus_client::metrics::family::Family;
use std::collections::HashSet;
use std::ops::Deref;
use std::sync::Mutex;

/// The label sets of the watch's metrics.
pub(crate) type Labels = Vec<(&'static str, String)>;

/// A [`Family`] and the label sets made in it.
#[derive(Debug)]
pub(crate) struct Tracked<M> {
    family: Family<Labels, M>,
    sets: Mutex<HashSet<Labels>>,
}

impl<M: Default> Default for Tracked<M> {
    fn default() -> Self {
        Tracked {
            family: Family::default(),
            sets: Mutex::new(HashSet::new()),
        }
    }
}

impl<M> Tracked<M> {
    /// The family, for registering (it shares its series with this one).
    pub(crate) fn family(&self) -> Family<Labels, M> {
        self.family.clone()
    }

    fn sets(&self) -> std::sync::MutexGuard<'_, HashSet<Labels>> {
        // A set of label sets is whole after every statement.
        self.sets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<M: Default> Tracked<M> {
    /// The series of `labels`, made if missing.
    pub(crate) fn get_or_create(&self, labels: &Labels) -> impl Deref<Target = M> + '_ {
        {
            let mut sets = self.sets();
            if !sets.contains(labels) {
                sets.insert(labels.clone());
            }
        }
        self.family.get_or_create(labels)
    }

    /// Drop the series of `labels`.
    pub(crate) fn remove(&self, labels: &Labels) -> bool {
        self.sets().remove(labels);
        self.family.remove(labels)
    }
}

/// Families whose series can be dropped by their labels.
pub(crate) trait Retain {
    /// Keep only the series whose labels `keep` accepts.
    fn retain(&self, keep: &dyn Fn(&Labels) -> bool);
}

impl<M: Default> Retain for Tracked<M> {
    fn retain(&self, keep: &dyn Fn(&Labels) -> bool) {
        let gone: Vec<Labels> = self.sets().iter().filter(|l| !keep(l)).cloned().collect();
        for l in gone {
            self.remove(&l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::gauge::Gauge;

    #[test]
    fn retain_drops_the_rejected_series_only() {
        let t: Tracked<Gauge> = Tracked::default();
        let a = vec![("chain", "a".to_string())];
        let b = vec![("chain", "b".to_string())];
        t.get_or_create(&a).set(1);
        t.get_or_create(&b).set(2);
        t.retain(&|l| l[0].1 == "a");
        let mut reg = prometheus_client::registry::Registry::default();
        reg.register("x", "x", t.family());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        assert!(text.contains("x{chain=\"a\"} 1"), "{text}");
        assert!(!text.contains("chain=\"b\""), "{text}");
        assert!(t.remove(&a));
        assert!(t.sets().is_empty());
    }
}
