//! Where alerts go: the routes (matched on labels), the inhibitions, the fallback
//! channel for `channel_failing`, and the labeler that gives alerts their labels.

use crate::config::{Config, InhibitConfig, RouteConfig};
use crate::engine::alert::Alert;
use crate::engine::labels::{Labeler, CHANNEL_FAILING};
use std::time::Duration;

/// The routing settings of the engine.
#[derive(Debug, Clone)]
pub struct Routing {
    /// Routes, in config order.
    pub routes: Vec<RouteConfig>,
    /// The global repeat interval of criticals.
    pub repeat: Duration,
    /// Inhibitions.
    pub inhibits: Vec<InhibitConfig>,
    /// Where `channel_failing` alerts go too.
    pub fallback: Option<String>,
    /// Gives alerts their labels.
    pub labeler: Labeler,
}

impl Routing {
    /// From a whole configuration.
    pub fn new(config: &Config) -> Self {
        Self {
            routes: config.routes.clone(),
            repeat: config.repeat_interval,
            inhibits: config.inhibits.clone(),
            fallback: config.fallback_channel.clone(),
            labeler: Labeler::new(config),
        }
    }

    /// `routes` and `repeat` with the default inhibitions, no fallback and no
    /// operator labels.
    #[cfg(test)]
    pub fn of_routes(routes: Vec<RouteConfig>, repeat: Duration) -> Self {
        Self {
            routes,
            repeat,
            inhibits: crate::config::default_inhibits(),
            fallback: None,
            labeler: Labeler::default(),
        }
    }

    /// The channels `a` goes to at once: those of the routes that take it and do not
    /// group or time their notifications; a `channel_failing` alert also goes to the
    /// global fallback channel and to the `fallback` of the routes of the failing
    /// channel, and never to the channel that fails.
    pub fn immediate(&self, a: &Alert) -> Vec<String> {
        let ungrouped: Vec<&RouteConfig> = self.routes.iter().filter(|r| !r.grouped()).collect();
        let mut out = channels(ungrouped.into_iter(), a);
        if a.rule == CHANNEL_FAILING {
            let failing = a.labels.get("channel");
            let of_routes = self
                .routes
                .iter()
                .filter(|r| failing.is_some_and(|f| r.channels.contains(f)))
                .filter_map(|r| r.fallback.as_ref());
            for f in self.fallback.iter().chain(of_routes) {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
            out.retain(|c| Some(c) != failing);
        }
        out
    }
}

/// Channels of every route that takes `alert` (each once, in route order).
#[cfg(test)]
pub fn route(routes: &[RouteConfig], alert: &Alert) -> Vec<String> {
    channels(routes.iter(), alert)
}

fn channels<'a>(routes: impl Iterator<Item = &'a RouteConfig>, a: &Alert) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in routes.filter(|r| r.accepts(&a.labels, a.severity)) {
        for c in &r.channels {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    out
}
