//! A bound on expensive work (argon2 verifications, outbound fetches): at most `running` at
//! once, at most `waiting` more queued for at most `patience`; beyond that the caller is
//! told at once to come back later (429/503 with `Retry-After`), so a flood costs neither
//! memory nor other requests' latency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

pub struct Gate {
    running: Semaphore,
    capacity: usize,
    /// The most permits ever held at once (for tests and operators: the bound held).
    peak: AtomicUsize,
    waiting: AtomicUsize,
    max_waiting: usize,
    patience: Duration,
}

impl Gate {
    pub fn new(running: usize, max_waiting: usize, patience: Duration) -> Gate {
        Gate {
            running: Semaphore::new(running.max(1)),
            capacity: running.max(1),
            peak: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            max_waiting,
            patience,
        }
    }

    /// A permit to do the work, or `None` when too many wait already or the wait is too long.
    pub async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(permit) = self.running.try_acquire() {
            return Some(self.held(permit));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let permit = tokio::time::timeout(self.patience, self.running.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        permit.ok().and_then(Result::ok).map(|p| self.held(p))
    }

    fn held<'a>(&self, permit: SemaphorePermit<'a>) -> SemaphorePermit<'a> {
        let in_use = self.capacity - self.running.available_permits();
        self.peak.fetch_max(in_use, Ordering::AcqRel);
        permit
    }

    /// The most permits held at once since the gate was made.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }
}

/// The machine's cores, for sizing the CPU-bound gates.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_running_and_waiting_the_answer_is_no_at_once() {
        let gate = Gate::new(1, 1, Duration::from_millis(50));
        let held = gate.enter().await.expect("first runs");
        // One may wait; it times out while the first is held.
        assert!(gate.enter().await.is_none());
        assert_eq!(gate.peak(), 1);
        drop(held);
        assert!(gate.enter().await.is_some());
    }
}
