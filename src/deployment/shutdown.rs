//! A shutdown any part of a long-running process can wait for, and learn when it was asked.
//!
//! One signal (Ctrl-C or SIGTERM, or a test's trigger) reaches everything that runs until
//! stopped: the server stops accepting, the queue takes no new run, and the time the shutdown
//! was asked is where the deadline for work in flight is counted from.

use tokio::sync::watch;
use tokio::time::Instant;

/// The waiting side: clone it for each task that must stop.
#[derive(Debug, Clone)]
pub struct Shutdown {
    asked: watch::Receiver<Option<Instant>>,
}

/// The asking side.
#[derive(Debug)]
pub struct Trigger {
    asked: watch::Sender<Option<Instant>>,
}

impl Trigger {
    /// Asks for the shutdown; the first time counts.
    pub fn shut_down(&self) {
        self.asked.send_if_modified(|asked| {
            let first = asked.is_none();
            asked.get_or_insert_with(Instant::now);
            first
        });
    }
}

impl Shutdown {
    /// A shutdown asked through the returned [`Trigger`].
    pub fn new() -> (Trigger, Shutdown) {
        let (asked, waiting) = watch::channel(None);
        (Trigger { asked }, Shutdown { asked: waiting })
    }

    /// A shutdown asked by Ctrl-C or SIGTERM (as a service manager sends it).
    pub fn on_signals() -> Shutdown {
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(async move {
            signal().await;
            trigger.shut_down();
            // Keep the sender alive: a dropped one would read as "never asked".
            std::future::pending::<()>().await;
        });
        shutdown
    }

    /// Waits until the shutdown is asked; when it was. Never returns if it never is.
    pub async fn asked(&mut self) -> Instant {
        let asked = match self.asked.wait_for(Option::is_some).await {
            Ok(asked) => *asked,
            Err(_) => None,
        };
        match asked {
            Some(at) => at,
            None => std::future::pending().await,
        }
    }

    /// When the shutdown was asked, if it was.
    pub fn asked_at(&self) -> Option<Instant> {
        *self.asked.borrow()
    }
}

async fn signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_first_time_it_was_asked() {
        let (trigger, mut shutdown) = Shutdown::new();
        let mut other = shutdown.clone();
        assert_eq!(shutdown.asked_at(), None);
        let waiting = tokio::spawn(async move { other.asked().await });
        trigger.shut_down();
        let first = shutdown.asked().await;
        trigger.shut_down();
        assert_eq!(waiting.await.unwrap(), first);
        assert_eq!(shutdown.asked_at(), Some(first));
    }
}
