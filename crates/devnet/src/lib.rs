//! Generate, start, stop and inspect local CometBFT networks.
