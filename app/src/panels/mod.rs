//! One file per panel. Panels draw from state and report what the user asked for as
//! [`Action`]s; `app.rs` carries them out, so panels never start threads or touch files.

pub mod architecture;
pub mod controls;
pub mod crop;
pub mod parts;
pub mod plots;
pub mod program;

use std::path::PathBuf;

use crate::export::ExportKind;

/// What a user asked for this frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Show the open-file dialog.
    PickFile,
    Open(PathBuf),
    Synthesize,
    Pause,
    Resume,
    Stop,
    /// Complete the cropped input with the pretrained policy.
    Complete,
    /// Synthesize a program for the cropped input alone.
    FitCrop,
    PickCheckpoint,
    Export(ExportKind),
    /// Lines were switched on or off: mesh the program again.
    LinesChanged,
    ResetView,
}
