//! URCs fanned out to every subscriber, each through its own unbounded
//! channel, so no URC is lost while a command waits and a slow subscriber
//! delays no other.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::modem::at::urc::Urc;

/// A URC as typed, with the line the module sent (for consoles and logs).
type Published = (Urc, Arc<str>);

/// URCs for one subscriber, in the order the module sent them.
#[derive(Debug)]
pub struct UrcSubscription {
    pub(super) rx: mpsc::UnboundedReceiver<Published>,
}

impl UrcSubscription {
    /// The next URC; `None` once the port has closed.
    pub async fn recv(&mut self) -> Option<Urc> {
        self.rx.recv().await.map(|(urc, _)| urc)
    }

    /// The next URC with the line exactly as the module sent it.
    pub async fn recv_line(&mut self) -> Option<(Urc, Arc<str>)> {
        self.rx.recv().await
    }

    /// Waits up to `within` for a URC that `pick` maps to a value; other URCs
    /// are skipped. `None` on deadline or closed port.
    pub async fn wait_for<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&Urc) -> Option<T>,
    ) -> Option<T> {
        let search = async {
            while let Some((urc, _)) = self.rx.recv().await {
                if let Some(v) = pick(&urc) {
                    return Some(v);
                }
            }
            None
        };
        timeout(within, search).await.ok().flatten()
    }

    /// A URC already received, without waiting.
    pub fn try_recv(&mut self) -> Option<Urc> {
        self.rx.try_recv().ok().map(|(urc, _)| urc)
    }
}

#[derive(Debug)]
pub(super) struct UrcHub {
    /// `None` once the port has closed: subscriptions then end at once.
    subscribers: Mutex<Option<Vec<mpsc::UnboundedSender<Published>>>>,
}

impl UrcHub {
    pub(super) fn new() -> Self {
        UrcHub {
            subscribers: Mutex::new(Some(Vec::new())),
        }
    }

    pub(super) fn add(&self, tx: mpsc::UnboundedSender<Published>) {
        if let Ok(mut guard) = self.subscribers.lock() {
            if let Some(subscribers) = guard.as_mut() {
                subscribers.push(tx);
            }
        }
    }

    pub(super) fn publish(&self, urc: Urc, line: &str) {
        let line: Arc<str> = Arc::from(line);
        if let Ok(mut guard) = self.subscribers.lock() {
            if let Some(subscribers) = guard.as_mut() {
                subscribers.retain(|tx| tx.send((urc.clone(), Arc::clone(&line))).is_ok());
            }
        }
    }

    /// Drops every sender so each subscription's `recv` returns `None`.
    pub(super) fn close(&self) {
        if let Ok(mut guard) = self.subscribers.lock() {
            *guard = None;
        }
    }
}
