//! roap studio: the desktop synthesizer built on `roap_engine`. Open a shape, synthesize a
//! program, watch its architecture sharpen, inspect its parts, crop and complete, export.
//!
//! The binary (`src/main.rs`) only parses arguments and starts eframe; everything here is a
//! library so `egui_kittest` tests drive the same [`app::StudioApp`].

pub mod app;
pub mod document;
pub mod export;
pub mod frame_stats;
pub mod jobs;
pub mod panels;
pub mod run_view;
pub mod script;
pub mod settings;
pub mod thumbnails;
pub mod viewport;
