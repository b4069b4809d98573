//! The alert engine: turns rule outcomes into alerts with a lifecycle (pending,
//! firing, resolved, repeated), gives them labels, applies silences and inhibitions,
//! routes them (at once, or grouped and timed per route), and keeps alerts, silences,
//! groups and the notification outbox in a SQLite store across restarts.
//!
//! What belongs here is alert state and its persistence; what a condition is comes
//! from `rules`, and delivering the outbox is `notify`'s job.

pub mod alert;
pub mod group;
pub mod inhibit;
pub mod labels;
pub mod message;
pub mod notification;
pub mod routing;
pub mod silence;
mod stage;
pub mod store;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_group;
#[cfg(test)]
mod tests_routing;
#[cfg(test)]
pub(crate) mod tests_support;
