//! The training curriculum (paper App. A.1): explore without a length penalty for the first
//! half of training, then compress with the penalty switched on; the Gumbel-softmax
//! temperature follows its own schedule.

use serde::{Deserialize, Serialize};

/// How the Gumbel-softmax temperature moves over training (`progress` in [0, 1]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemperatureSchedule {
    Constant {
        temperature: f64,
    },
    /// Geometric interpolation from `start` to `end`.
    Exponential {
        start: f64,
        end: f64,
    },
    /// Piecewise constant: the last `(from_progress, temperature)` whose start has passed.
    Steps {
        steps: Vec<(f64, f64)>,
    },
}

impl TemperatureSchedule {
    /// The paper's arithmetic setting: 1 at the start, 3 from epoch 15 of 20.
    pub fn paper_arithmetic() -> Self {
        Self::Steps {
            steps: vec![(0.0, 1.0), (0.75, 3.0)],
        }
    }

    pub fn temperature(&self, progress: f64) -> f64 {
        let progress = progress.clamp(0.0, 1.0);
        match self {
            Self::Constant { temperature } => *temperature,
            Self::Exponential { start, end } => start * (end / start).powf(progress),
            Self::Steps { steps } => steps
                .iter()
                .rfind(|(from, _)| *from <= progress)
                .or(steps.first())
                .map_or(1.0, |(_, temperature)| *temperature),
        }
    }
}

/// The two halves of training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// First half: no length penalty, so the search explores long programs.
    Explore,
    /// Second half: the length penalty compresses the programs found.
    Compress,
}

/// A run's schedule over `total_steps` optimisation steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub total_steps: usize,
    pub temperature: TemperatureSchedule,
    /// λ, the weight of the expected program length once the penalty is on (paper: 1e-4).
    pub length_penalty: f64,
}

impl Schedule {
    pub fn progress(&self, step: usize) -> f64 {
        if self.total_steps == 0 {
            1.0
        } else {
            step as f64 / self.total_steps as f64
        }
    }

    /// Steps `0 .. total/2` explore; the rest compress.
    pub fn phase(&self, step: usize) -> Phase {
        if 2 * step < self.total_steps {
            Phase::Explore
        } else {
            Phase::Compress
        }
    }

    pub fn temperature(&self, step: usize) -> f64 {
        self.temperature.temperature(self.progress(step))
    }

    /// The weight multiplying the expected length in the loss at `step`: 0, then λ.
    pub fn length_weight(&self, step: usize) -> f64 {
        match self.phase(step) {
            Phase::Explore => 0.0,
            Phase::Compress => self.length_penalty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_penalty_switches_on_halfway() {
        let schedule = Schedule {
            total_steps: 10,
            temperature: TemperatureSchedule::paper_arithmetic(),
            length_penalty: 1e-4,
        };
        let weights: Vec<f64> = (0..10).map(|s| schedule.length_weight(s)).collect();
        assert_eq!(&weights[..5], &[0.0; 5]);
        assert_eq!(&weights[5..], &[1e-4; 5]);
        assert_eq!(schedule.phase(4), Phase::Explore);
        assert_eq!(schedule.phase(5), Phase::Compress);
    }

    #[test]
    fn temperature_schedules() {
        let paper = TemperatureSchedule::paper_arithmetic();
        assert_eq!(paper.temperature(0.0), 1.0);
        assert_eq!(paper.temperature(0.74), 1.0);
        assert_eq!(paper.temperature(0.75), 3.0);
        let anneal = TemperatureSchedule::Exponential {
            start: 1.0,
            end: 0.01,
        };
        assert!((anneal.temperature(0.5) - 0.1).abs() < 1e-12);
        assert!((anneal.temperature(1.0) - 0.01).abs() < 1e-12);
    }
}
