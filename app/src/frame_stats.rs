//! Frame times: the status bar's fps, and while a synthesis runs, every frame interval, so
//! a scripted run can report whether the UI stayed responsive (`--frame-times FILE`).

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

#[derive(Default)]
pub struct FrameStats {
    last: Option<Instant>,
    /// Intervals of the last second or so, for the fps readout.
    recent: std::collections::VecDeque<f32>,
    /// Intervals (ms) of frames drawn while a synthesis was running.
    pub during_training_ms: Vec<f32>,
    /// Intervals (ms) of the other frames (a scripted run repaints continuously).
    pub idle_ms: Vec<f32>,
    /// eframe's time spent on each frame (UI code + painting, without waiting), split the
    /// same way.
    pub work_training_ms: Vec<f32>,
    pub work_idle_ms: Vec<f32>,
    /// Where to write the report on exit.
    pub report_path: Option<PathBuf>,
}

/// What `--frame-times` writes.
#[derive(Debug, Serialize, PartialEq)]
pub struct FrameReport {
    pub frames: usize,
    pub mean_ms: f32,
    pub median_ms: f32,
    pub p95_ms: f32,
    pub max_ms: f32,
    pub mean_fps: f32,
}

impl FrameStats {
    /// Call once per frame.
    pub fn tick(&mut self, now: Instant, training: bool) {
        if let Some(last) = self.last {
            let ms = now.duration_since(last).as_secs_f32() * 1000.0;
            self.recent.push_back(ms);
            while self.recent.len() > 60 {
                self.recent.pop_front();
            }
            if training {
                self.during_training_ms.push(ms);
            } else {
                self.idle_ms.push(ms);
            }
        }
        self.last = Some(now);
    }

    /// Records eframe's own measure of the previous frame's work.
    pub fn record_work(&mut self, ms: f32, training: bool) {
        if training {
            self.work_training_ms.push(ms);
        } else {
            self.work_idle_ms.push(ms);
        }
    }

    pub fn recent_fps(&self) -> Option<f32> {
        let total: f32 = self.recent.iter().sum();
        (self.recent.len() >= 10 && total > 0.0).then(|| self.recent.len() as f32 * 1000.0 / total)
    }

    /// Frames while training, and the others.
    pub fn report(&self) -> serde_json::Value {
        serde_json::json!({
            "while_training": summarize(&self.during_training_ms),
            "idle": summarize(&self.idle_ms),
            "work_while_training": summarize(&self.work_training_ms),
            "work_idle": summarize(&self.work_idle_ms),
        })
    }

    /// Writes the report where `--frame-times` asked, logging the outcome.
    pub fn write_report(&self) {
        let Some(path) = &self.report_path else {
            return;
        };
        let text = serde_json::to_string(&self.report()).unwrap_or_default();
        match roap_engine::export::write_atomically(path, text.as_bytes()) {
            Ok(()) => tracing::info!("frame times: {text}"),
            Err(err) => tracing::error!("cannot write frame times: {err}: {}", path.display()),
        }
    }
}

pub fn summarize(intervals_ms: &[f32]) -> Option<FrameReport> {
    if intervals_ms.is_empty() {
        return None;
    }
    let mut sorted = intervals_ms.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = |q: f32| sorted[((sorted.len() - 1) as f32 * q).round() as usize];
    let mean = sorted.iter().sum::<f32>() / sorted.len() as f32;
    Some(FrameReport {
        frames: sorted.len(),
        mean_ms: mean,
        median_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: at(1.0),
        mean_fps: 1000.0 / mean.max(1e-6),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_intervals() {
        let report = summarize(&[10.0, 20.0, 30.0, 40.0, 100.0]).unwrap();
        assert_eq!(report.frames, 5);
        assert_eq!(report.median_ms, 30.0);
        assert_eq!(report.max_ms, 100.0);
        assert!((report.mean_ms - 40.0).abs() < 1e-4);
        assert!((report.mean_fps - 25.0).abs() < 1e-3);
        assert!(summarize(&[]).is_none());
    }
}
