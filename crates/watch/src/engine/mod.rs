//! The alert engine: turns rule outcomes into alerts with a lifecycle (pending,
//! firing, resolved, repeated), applies silences, and keeps alerts, silences and the
//! notification outbox in a SQLite store across restarts.
//!
//! What belongs here is alert state and its persistence; what a condition is comes
//! from `rules`, and delivering the outbox is `notify`'s job.

pub mod alert;
pub mod silence;
pub mod store;

#[cfg(test)]
mod tests;
