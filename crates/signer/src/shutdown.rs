//! A shutdown signal that threads can poll and sleep on.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Cloneable shutdown token. `trigger` wakes every sleeper.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Shutdown {
    /// A token that has not fired.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Fire it.
    pub fn trigger(&self) {
        let (m, c) = &*self.inner;
        *m.lock().expect("shutdown lock") = true;
        c.notify_all();
    }

    /// Has it fired?
    pub fn is_triggered(&self) -> bool {
        *self.inner.0.lock().expect("shutdown lock")
    }

    /// Sleep up to `d`; returns true when shutdown fired meanwhile.
    pub fn sleep(&self, d: Duration) -> bool {
        let (m, c) = &*self.inner;
        let guard = m.lock().expect("shutdown lock");
        let (guard, _) = c
            .wait_timeout_while(guard, d, |fired| !*fired)
            .expect("shutdown lock");
        *guard
    }
}
