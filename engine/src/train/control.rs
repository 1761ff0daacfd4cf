//! Pause, resume and cancel a run from another thread, between any two steps.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    Paused,
    Cancelled,
}

/// A handle shared by the run (which calls [`RunControl::checkpoint`] between steps) and
/// whoever steers it (the app's buttons, a signal handler, a test).
#[derive(Clone, Debug)]
pub struct RunControl {
    shared: Arc<(Mutex<RunState>, Condvar)>,
}

impl Default for RunControl {
    fn default() -> Self {
        Self {
            shared: Arc::new((Mutex::new(RunState::Running), Condvar::new())),
        }
    }
}

impl RunControl {
    pub fn state(&self) -> RunState {
        *self.shared.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, state: RunState) {
        let (lock, wake) = &*self.shared;
        let mut current = lock.lock().unwrap_or_else(PoisonError::into_inner);
        // A cancelled run stays cancelled.
        if *current != RunState::Cancelled {
            *current = state;
        }
        wake.notify_all();
    }

    pub fn pause(&self) {
        self.set(RunState::Paused);
    }

    pub fn resume(&self) {
        self.set(RunState::Running);
    }

    pub fn cancel(&self) {
        self.set(RunState::Cancelled);
    }

    /// Blocks while paused; `false` once the run is cancelled.
    pub fn checkpoint(&self) -> bool {
        let (lock, wake) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while *state == RunState::Paused {
            state = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        *state == RunState::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_blocks_until_resumed_and_cancel_sticks() {
        let control = RunControl::default();
        assert!(control.checkpoint());
        control.pause();
        let steering = control.clone();
        let waiter = std::thread::spawn(move || steering.checkpoint());
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "a paused run must wait");
        control.resume();
        assert!(waiter.join().unwrap_or(false));
        control.cancel();
        control.resume();
        assert_eq!(control.state(), RunState::Cancelled);
        assert!(!control.checkpoint());
    }
}
