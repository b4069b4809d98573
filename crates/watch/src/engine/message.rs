//! What one outbox row delivers to one channel: one notification, or a group's.

use crate::config::Labels;
use crate::engine::alert::{Kind, Notification};
use serde::{Deserialize, Serialize};

/// The group a grouped notification is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The route (1-based, in config order).
    pub route: usize,
    /// The route's `group_by` labels and the group's values of them.
    pub labels: Labels,
}

/// One delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The group, for a route with `group_by`; `None` for a single alert's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// The notifications, one per alert that changed.
    pub notifications: Vec<Notification>,
}

impl Message {
    /// One alert's notification.
    pub fn one(n: Notification) -> Self {
        Self {
            group: None,
            notifications: vec![n],
        }
    }

    /// `firing` when any of its notifications is not a resolve.
    pub fn status(&self) -> &'static str {
        if self.notifications.iter().all(|n| n.kind == Kind::Resolved) {
            "resolved"
        } else {
            "firing"
        }
    }

    /// Decode an outbox body (rows from before groups hold one notification).
    pub fn decode(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<Message>(body)
            .or_else(|_| serde_json::from_str::<Notification>(body).map(Message::one))
    }
}
