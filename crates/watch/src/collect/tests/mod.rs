//! Tests of the collectors against scripted endpoints and sample data.

mod collector;
mod cosigner;
mod exporter;
mod node_metrics;
mod signer;
mod ws;
