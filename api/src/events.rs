//! Domain events for subscriptions, published after a transaction commits.
//!
//! The bus is in-process (a tokio broadcast channel): a subscriber sees events of writes served by the
//! same instance. Delivery across instances (PostgreSQL LISTEN/NOTIFY) comes with the matching issue's
//! live alerts; publishers and subscribers only see this type, so that change stays here.

use chrono::{DateTime, Utc};
use entity::membership::MembershipRole;
use tokio::sync::broadcast;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationEventKind {
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    OrganizationUpdated,
}

#[derive(Debug, Clone)]
pub enum DomainEvent {
    Organization {
        organization_id: Uuid,
        kind: OrganizationEventKind,
        user_id: Option<Uuid>,
        role: Option<MembershipRole>,
        occurred_at: DateTime<Utc>,
    },
}

impl DomainEvent {
    pub fn organization(
        organization_id: Uuid,
        kind: OrganizationEventKind,
        user_id: Option<Uuid>,
        role: Option<MembershipRole>,
    ) -> Self {
        Self::Organization { organization_id, kind, user_id, role, occurred_at: Utc::now() }
    }
}

#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<DomainEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(1024);
        Self { sender }
    }

    /// Fire and forget: no subscriber is not an error.
    pub fn publish(&self, event: DomainEvent) {
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }
}
