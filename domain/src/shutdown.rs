//! Graceful shutdown of background workers: they finish the batch in hand, then stop between
//! batches once the server has stopped taking requests.

use std::time::Duration;

use tokio::sync::watch;

/// The stopping side; [`Stop`]s created from it see the signal.
#[derive(Debug)]
pub struct Shutdown(watch::Sender<bool>);

/// What a worker watches.
#[derive(Debug, Clone)]
pub struct Stop {
    receiver: watch::Receiver<bool>,
    /// The sender of a [`Stop::never`] signal, kept so the channel stays open.
    _sender: Option<std::sync::Arc<watch::Sender<bool>>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self(watch::channel(false).0)
    }
}

impl Shutdown {
    pub fn stop_signal(&self) -> Stop {
        Stop { receiver: self.0.subscribe(), _sender: None }
    }

    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl Stop {
    /// A signal that never fires (benchmarks, one-off runs).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        Self { receiver, _sender: Some(std::sync::Arc::new(sender)) }
    }

    pub fn is_stopping(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Waits `duration`, or less when the stop signal comes; returns whether to stop.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        if self.is_stopping() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(duration) => self.is_stopping(),
            _ = self.receiver.changed() => true,
        }
    }
}
