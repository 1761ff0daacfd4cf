//! Left panel: the shape (samples, recent files), Synthesize / Pause / Stop, and the
//! synthesis settings with what each one does.

use std::path::PathBuf;

use roap_engine::device::DeviceChoice;

use super::Action;
use crate::document::LoadedShape;
use crate::run_view::{RunState, RunView};
use crate::settings::{Settings, SynthesisSettings};

/// A bundled sample: a name and its file.
#[derive(Clone, Debug)]
pub struct Sample {
    pub name: String,
    pub path: PathBuf,
}

/// The `.binvox` files of the bundled sample shapes (found or written by
/// [`roap_engine::bundled::locate`]), sorted by name.
pub fn bundled_samples() -> Vec<Sample> {
    let Ok(folder) = roap_engine::bundled::locate(roap_engine::bundled::SHAPES) else {
        return Vec::new();
    };
    let mut samples: Vec<Sample> = std::fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "binvox"))
                .map(|path| Sample {
                    name: path
                        .file_stem()
                        .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
                    path,
                })
                .collect()
        })
        .unwrap_or_default();
    samples.sort_by(|a, b| a.name.cmp(&b.name));
    samples
}

/// The sample the window opens on when there is nothing recent: the chair, else the first.
pub fn first_sample() -> Option<PathBuf> {
    let samples = bundled_samples();
    samples
        .iter()
        .find(|s| s.name == "chair")
        .or(samples.first())
        .map(|s| s.path.clone())
}

pub fn controls_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    run: &RunView,
    shape: Option<&LoadedShape>,
    samples: &[Sample],
    actions: &mut Vec<Action>,
) {
    let shape_loaded = shape.is_some();
    ui.heading("Shape");
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Open…")
            .on_hover_text("binvox, OBJ, OFF, STL, PLY, PNG or an HDF5 entry (Ctrl+O). You can also drop a file on the window.")
            .clicked()
        {
            actions.push(Action::PickFile);
        }
        for sample in samples {
            if ui
                .small_button(&sample.name)
                .on_hover_text(format!("Open the bundled sample {}", sample.path.display()))
                .clicked()
            {
                actions.push(Action::Open(sample.path.clone()));
            }
        }
    });
    if let Some(shape) = shape {
        ui.label(symmetry_text(shape));
    }
    ui.separator();

    ui.heading("Synthesis");
    let active = run.state.is_active();
    ui.horizontal(|ui| {
        let synthesize = ui
            .add_enabled(shape_loaded && !active, egui::Button::new("Synthesize"))
            .on_hover_text(
                "Fit an overparametrized soft program to the shape (cropped, if a crop is set)",
            )
            .on_disabled_hover_text(if active {
                "A synthesis is running"
            } else {
                "Open a shape first"
            });
        if synthesize.clicked() {
            actions.push(Action::Synthesize);
        }
        match run.state {
            RunState::Running if ui.button("Pause").clicked() => actions.push(Action::Pause),
            RunState::Paused if ui.button("Resume").clicked() => actions.push(Action::Resume),
            _ => {}
        }
        if ui
            .add_enabled(active, egui::Button::new("Stop"))
            .on_hover_text("Stop now and keep the best program found so far")
            .clicked()
        {
            actions.push(Action::Stop);
        }
    });
    if active || run.outcome.is_some() {
        let progress = run.progress();
        ui.add(egui::ProgressBar::new(progress).show_percentage());
    }
    if let Some(outcome) = &run.outcome {
        let chamfer = outcome
            .chamfer
            .map_or_else(|| "–".into(), |c| format!("{c:.3}"));
        ui.label(format!(
            "Chamfer {chamfer} · {} lines · {} parts · kept step {} · {:.1} s",
            outcome.live_lines, outcome.live_parts, outcome.kept_step, outcome.seconds
        ));
        if let Some(warning) = &outcome.warning {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {warning}"));
        }
        if let Some(full) = outcome.chamfer_vs_full {
            ui.label(format!(
                "Cropped input: Chamfer ×1000 vs the whole shape {full:.3}"
            ));
        }
    }

    ui.add_enabled_ui(!active, |ui| {
        egui::CollapsingHeader::new("Settings")
            .default_open(true)
            .show(ui, |ui| {
                settings_ui(ui, &mut settings.synthesis, &mut settings.device);
            });
    });
}

fn settings_ui(ui: &mut egui::Ui, s: &mut SynthesisSettings, device: &mut DeviceChoice) {
    egui::Grid::new("synthesis_settings")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            row(ui, "Steps", "Optimisation steps; the length penalty switches on at half of them.", |ui| {
                ui.add(egui::DragValue::new(&mut s.steps).range(10..=20_000).speed(10))
            });
            row(ui, "Lines", "Code lines of each component's program: overparametrized, well above what the shape needs.", |ui| {
                ui.add(egui::DragValue::new(&mut s.lines).range(1..=60))
            });
            row(ui, "Parts", "Parts each component chooses from (3D; 2D uses 16 circles + 16 squares).", |ui| {
                ui.add(egui::DragValue::new(&mut s.parts).range(1..=256))
            });
            row(ui, "Architecture lr", "Adam's step size for the architecture logits (which op, which arguments).", |ui| {
                ui.add(egui::DragValue::new(&mut s.architecture_learning_rate).range(1e-4..=1.0).speed(0.001))
            });
            row(ui, "Shape lr", "Adam's step size for the parts, their placement and the library.", |ui| {
                ui.add(egui::DragValue::new(&mut s.shape_learning_rate).range(1e-4..=1.0).speed(0.001))
            });
            row(ui, "Temperature", "Gumbel-softmax temperature at the first and at the last step, geometric in between: high explores, low commits.", |ui| {
                ui.horizontal(|ui| {
                    let from = ui.label("from");
                    ui.add(egui::DragValue::new(&mut s.temperature_start).range(0.01..=10.0).speed(0.01))
                        .labelled_by(from.id);
                    let to = ui.label("to");
                    ui.add(egui::DragValue::new(&mut s.temperature_end).range(0.001..=10.0).speed(0.001))
                        .labelled_by(to.id);
                })
                .response
            });
            row(ui, "Length penalty λ", "Weight of the expected program length, applied from halfway through: shorter programs win ties.", |ui| {
                ui.add(egui::DragValue::new(&mut s.length_penalty).range(0.0..=0.1).speed(1e-5).max_decimals(6))
            });
            row(ui, "Samples", "Min-sampling: the policy's mode plus this many − 1 Gumbel draws per step; the best is optimised.", |ui| {
                ui.add(egui::DragValue::new(&mut s.samples).range(1..=8))
            });
            row(ui, "Gumbel noise", "Off: plain softmax (the paper's ablation).", |ui| {
                ui.checkbox(&mut s.gumbel, "")
            });
            row(ui, "Seed", "Seeds sampling, initial placement and noise: the same seed gives the same run.", |ui| {
                ui.add(egui::DragValue::new(&mut s.seed))
            });
            row(ui, "Resolution", "3D shapes are fitted at this grid resolution (meshes voxelized at it). Applies when a shape is opened.", |ui| {
                ui.add(egui::DragValue::new(&mut s.resolution).range(16..=128))
            });
            row(ui, "Device", "Auto: burn's wgpu backend on a hardware GPU, the CPU backend otherwise (software GPUs are slower than the CPU).", |ui| {
                egui::ComboBox::from_id_salt("device")
                    .selected_text(format!("{device:?}"))
                    .show_ui(ui, |ui| {
                        ui.selectable_value(device, DeviceChoice::Auto, "Auto");
                        ui.selectable_value(device, DeviceChoice::Cpu, "Cpu");
                        ui.selectable_value(device, DeviceChoice::Wgpu, "Wgpu");
                    })
                    .response
            });
            if ui
                .button("Defaults")
                .on_hover_text("Restore the engine's default settings")
                .clicked()
            {
                *s = SynthesisSettings::default();
            }
            ui.end_row();
        });
}

fn row(
    ui: &mut egui::Ui,
    label: &str,
    help: &str,
    widget: impl FnOnce(&mut egui::Ui) -> egui::Response,
) {
    let label = ui.label(label).on_hover_text(help);
    widget(ui).on_hover_text(help).labelled_by(label.id);
    ui.end_row();
}

/// What synthesis makes of the shape's symmetry.
fn symmetry_text(shape: &LoadedShape) -> String {
    let symmetry = &shape.symmetry;
    if shape.target.dim() == 2 {
        "Symmetry: the 2D flip-unions learn their own planes".into()
    } else if symmetry.is_symmetric() {
        format!(
            "Symmetry: mirror plane normal to {} (mirror IoU {:.2}); the flip-union starts on",
            symmetry.axis_name(),
            symmetry.mirror_iou
        )
    } else {
        format!(
            "Symmetry: none (best plane normal to {}: mirror IoU {:.2}); the flip-union starts off",
            symmetry.axis_name(),
            symmetry.mirror_iou
        )
    }
}
