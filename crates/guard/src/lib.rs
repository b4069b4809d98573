//! Double-sign rules as pure functions and the durable sign-state store.
