//! The window's furniture: menus, shortcuts, file pickers, the status bar, the inspector's
//! tabs, the central viewport and the error list.

use std::path::PathBuf;

use egui::TextureOptions;
use roap_engine::graphics::Target;

use super::{StudioApp, Tab};
use crate::export::{ExportData, ExportKind, export};
use crate::jobs::{Job, Message, Pick};
use crate::panels::Action;
use crate::panels::plots::plots_ui;
use crate::panels::program::program_ui;
use crate::settings::CropMode;
use crate::viewport::SceneView;

impl StudioApp {
    pub(super) fn pick(&self, purpose: Pick, export: Option<ExportKind>) {
        let shape = self
            .shape
            .as_ref()
            .map_or("roap", |s| s.name.as_str())
            .to_owned();
        self.jobs.spawn(
            "file dialog",
            move |out| {
                let dialog = rfd::FileDialog::new();
                let path = match (purpose, export) {
                    (Pick::Open, _) => dialog
                        .add_filter(
                            "Shapes",
                            &["binvox", "obj", "off", "stl", "ply", "png", "hdf5", "h5"],
                        )
                        .pick_file(),
                    (Pick::Checkpoint, _) => dialog.pick_folder(),
                    (Pick::Export(_), Some(kind)) => {
                        let mut dialog = dialog.set_file_name(kind.default_file_name(&shape));
                        for (name, extensions) in kind.filters() {
                            dialog = dialog.add_filter(*name, extensions);
                        }
                        dialog.save_file()
                    }
                    (Pick::Export(_), None) => None,
                };
                out.send(Message::Picked { purpose, path });
            },
            |error| Message::Failed {
                job: Job::Other,
                error,
            },
        );
    }

    /// Writes `kind` to `path` in a job; the result shows in the status bar.
    pub fn export_to(&mut self, kind: ExportKind, path: PathBuf) {
        let data = ExportData {
            program: self
                .run
                .program
                .as_ref()
                .map(|p| p.with_lines_off(&self.lines_off).compacted()),
            surface: self.scene.reconstruction.clone(),
            parts: self.scene.parts.clone(),
            frame: match self.shape.as_ref().map(|s| &s.target) {
                Some(Target::Voxels(grid)) => Some(grid.clone()),
                _ => None,
            },
            screenshot: self.last_screenshot.clone(),
        };
        self.jobs.spawn(
            "export",
            move |out| out.send(Message::Exported(export(kind, &path, &data))),
            |error| Message::Failed {
                job: Job::Other,
                error,
            },
        );
    }

    pub fn request_screenshot(&mut self, ctx: &egui::Context, path: Option<PathBuf>) {
        self.screenshot_path = path;
        let outbox = self.jobs.outbox();
        ctx.request_screenshot(move |image| outbox.send(Message::Screenshot(image)));
    }

    pub(super) fn input_shortcuts(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        let (open, quit, dropped) = ctx.input(|i| {
            (
                i.modifiers.command && i.key_pressed(egui::Key::O),
                i.modifiers.command && i.key_pressed(egui::Key::Q),
                i.raw
                    .dropped_files
                    .iter()
                    .map(|f| f.path().to_path_buf())
                    .find(|p| !p.as_os_str().is_empty()),
            )
        });
        if open {
            actions.push(Action::PickFile);
        }
        if quit {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if let Some(path) = dropped {
            actions.push(Action::Open(path));
        }
    }

    pub(super) fn menu_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open…").clicked() {
                    actions.push(Action::PickFile);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.settings.recent_files.is_empty() {
                        ui.label("nothing yet");
                    }
                    for path in &self.settings.recent_files {
                        if ui.button(path.display().to_string()).clicked() {
                            actions.push(Action::Open(path.clone()));
                        }
                    }
                });
                ui.horizontal(|ui| {
                    ui.label("HDF5 entry");
                    ui.add(egui::DragValue::new(&mut self.hdf5_index));
                });
                ui.separator();
                ui.menu_button("Export", |ui| {
                    for kind in ExportKind::ALL {
                        if ui.button(kind.label()).clicked() {
                            actions.push(Action::Export(kind));
                        }
                    }
                });
                ui.separator();
                if ui.button("Quit (Ctrl+Q)").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| {
                let view = &mut self.settings.view;
                ui.label("Input");
                use crate::viewport::InputStyle;
                ui.radio_value(&mut view.input_style, InputStyle::Voxels, "Voxels");
                ui.radio_value(&mut view.input_style, InputStyle::Surface, "Surface");
                ui.radio_value(&mut view.input_style, InputStyle::Hidden, "Hidden");
                ui.separator();
                ui.checkbox(&mut view.show_reconstruction, "Program surface");
                ui.checkbox(&mut view.show_parts, "Program parts");
                ui.checkbox(&mut view.show_completion, "Completion");
                ui.checkbox(&mut view.side_by_side, "Side by side");
                ui.separator();
                if ui.button("Reset view").clicked() {
                    actions.push(Action::ResetView);
                }
            });
        });
    }

    pub(super) fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(&self.status);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if let Some(fps) = self.frames.recent_fps() {
                    ui.label(format!("{fps:.0} fps"));
                }
                let device = self
                    .device_description
                    .as_deref()
                    .unwrap_or("device chosen at the first run");
                ui.label(device);
                if self.busy() {
                    ui.spinner();
                }
            });
        });
    }

    pub(super) fn inspector_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        ui.horizontal(|ui| {
            for tab in Tab::ALL {
                ui.selectable_value(&mut self.tab, tab, tab.label());
            }
        });
        ui.separator();
        self.hovered_part = None;
        match self.tab {
            Tab::Program => program_ui(
                ui,
                self.run.program.as_ref(),
                &self.run.program_text,
                &mut self.lines_off,
                &mut self.hovered_line,
                actions,
            ),
            Tab::Architecture => self.architecture.ui(ui, &self.run),
            Tab::Plots => plots_ui(ui, &self.run),
            Tab::Parts => {
                self.hovered_part = self.parts_panel.ui(ui, &self.gallery, self.scene.revision);
            }
        }
        if self.tab != Tab::Program {
            self.hovered_line = None;
        }
    }

    pub(super) fn central_ui(&mut self, ui: &mut egui::Ui) {
        let Some(shape) = &self.shape else {
            ui.centered_and_justified(|ui| {
                let text = if let Some(path) = &self.loading {
                    format!("Opening {}…", path.display())
                } else {
                    "Open a shape (File → Open, Ctrl+O, drop a file here) or pick a sample on the left.".into()
                };
                ui.label(text);
            });
            return;
        };
        if let Some(image) = &shape.image {
            // 2D: the image and the program's rendering side by side.
            let input = self
                .input_image
                .get_or_insert_with(|| {
                    ui.ctx()
                        .load_texture("input", image.clone(), TextureOptions::NEAREST)
                })
                .clone();
            let side = (ui.available_width() / 2.0 - 16.0)
                .min(ui.available_height() - 40.0)
                .max(64.0);
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.label("Input");
                    ui.image((input.id(), egui::vec2(side, side)));
                });
                ui.vertical(|ui| {
                    ui.label("Program");
                    if let Some(reconstruction) = &self.reconstruction_image {
                        ui.image((reconstruction.id(), egui::vec2(side, side)));
                    }
                });
            });
            return;
        }
        let view = SceneView {
            input_style: self.settings.view.input_style,
            show_reconstruction: self.settings.view.show_reconstruction,
            show_parts: self.settings.view.show_parts
                || self.hovered_line.is_some()
                || self.hovered_part.is_some(),
            show_completion: self.settings.view.show_completion,
            side_by_side: self.settings.view.side_by_side,
            highlighted_parts: self.highlighted_parts(),
            crop: self.settings.crop.clip_region(),
        };
        let moving_plane = self.settings.crop.mode == CropMode::HalfPlane
            && ui.ctx().input(|i| i.modifiers.command);
        let camera = self.viewport.camera.clone();
        let response = self.viewport.ui(ui, &self.scene, &view);
        if moving_plane && response.dragged() {
            // Ctrl+drag moves the crop plane instead of orbiting.
            self.viewport.camera = camera;
            let delta = response.drag_delta().y;
            self.settings.crop.offset =
                (self.settings.crop.offset - delta * 0.003).clamp(-0.5, 0.5);
        }
        self.camera_persist();
    }

    fn camera_persist(&mut self) {
        self.settings.camera = self.viewport.camera.clone();
    }

    pub(super) fn errors_ui(&mut self, ctx: &egui::Context) {
        if self.errors.is_empty() {
            return;
        }
        let mut open = true;
        egui::Window::new("Errors")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                for error in &self.errors {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                if ui.button("Dismiss").clicked() {
                    self.errors.clear();
                }
            });
        if !open {
            self.errors.clear();
        }
    }
}
