//! Cropping the input to test completion: an octant or a half-space removed, completed by the
//! pretrained policy at once or by a per-shape synthesis of the cropped input.

use super::Action;
use crate::document::CompletionResult;
use crate::settings::{CropMode, CropSettings};

pub struct CropStatus<'a> {
    pub is_3d: bool,
    pub busy: bool,
    pub completion: Option<&'a CompletionResult>,
    /// The refined completion, once its run ended: Chamfer ×1000 vs the whole shape and
    /// live lines.
    pub refined: Option<(Option<f64>, usize)>,
    pub checkpoint: String,
}

pub fn crop_ui(
    ui: &mut egui::Ui,
    crop: &mut CropSettings,
    status: &CropStatus<'_>,
    actions: &mut Vec<Action>,
) {
    ui.heading("Crop & complete");
    if !status.is_3d {
        ui.label("Crops apply to 3D shapes.");
        return;
    }
    ui.horizontal(|ui| {
        ui.radio_value(&mut crop.mode, CropMode::None, "None");
        ui.radio_value(&mut crop.mode, CropMode::Octant, "Octant")
            .on_hover_text("Remove one octant: the paper's 7/8 input");
        ui.radio_value(&mut crop.mode, CropMode::HalfPlane, "Half-plane")
            .on_hover_text("Remove everything beyond a plane: the paper's 1/2 input");
    });
    match crop.mode {
        CropMode::None => {}
        CropMode::Octant => {
            ui.horizontal(|ui| {
                ui.label("Removed octant:");
                for (axis, positive) in ["x", "y", "z"].iter().zip(&mut crop.octant_positive) {
                    let sign = if *positive { "+" } else { "−" };
                    if ui
                        .button(format!("{sign}{axis}"))
                        .on_hover_text("Flip this side")
                        .clicked()
                    {
                        *positive = !*positive;
                    }
                }
            });
        }
        CropMode::HalfPlane => {
            ui.add(egui::Slider::new(&mut crop.azimuth_degrees, -180.0..=180.0).text("azimuth °"));
            ui.add(
                egui::Slider::new(&mut crop.elevation_degrees, -90.0..=90.0).text("elevation °"),
            );
            ui.add(egui::Slider::new(&mut crop.offset, -0.5..=0.5).text("offset"))
                .on_hover_text("Or Ctrl+drag up/down in the viewport");
        }
    }
    if crop.mode != CropMode::None
        && ui
            .small_button("Random (paper)")
            .on_hover_text("Draw the crop as the paper does (App. C.2)")
            .clicked()
    {
        let seed = ui.ctx().input(|i| i.time.to_bits());
        crop.randomize(seed);
    }
    ui.add_enabled_ui(!status.busy, |ui| {
        ui.horizontal_wrapped(|ui| {
            if ui
                .button("Complete")
                .on_hover_text(format!(
                    "The amortized policy in {} guesses at once (one forward pass plus \
                     min-sampling on the visible part); then per-shape synthesis refines \
                     the guess on the visible part",
                    status.checkpoint
                ))
                .clicked()
            {
                actions.push(Action::Complete);
            }
            ui.add(
                egui::DragValue::new(&mut crop.refine_steps)
                    .range(0..=5000)
                    .suffix(" refine steps"),
            )
            .on_hover_text("0 keeps the policy's guess as it is");
            if ui
                .button("Fit cropped input")
                .on_hover_text(
                    "Per-shape synthesis of the cropped input with the settings on the left",
                )
                .clicked()
            {
                actions.push(Action::FitCrop);
            }
            if ui.small_button("Checkpoint…").clicked() {
                actions.push(Action::PickCheckpoint);
            }
        });
    });
    if let Some(result) = status.completion {
        let chamfer = |c: Option<f64>| c.map_or_else(|| "–".into(), |c| format!("{c:.3}"));
        ui.label(format!(
            "Guess: Chamfer ×1000 vs the whole shape {}, {} lines, {:.2} s ({})",
            chamfer(result.chamfer_vs_full),
            result.program.live_lines(),
            result.seconds,
            result.method
        ));
        if let Some((refined, lines)) = status.refined {
            ui.label(format!(
                "Refined: Chamfer ×1000 vs the whole shape {}, {lines} lines",
                chamfer(refined)
            ));
        }
        egui::CollapsingHeader::new("The guess's program").show(ui, |ui| {
            ui.add(
                egui::Label::new(egui::RichText::new(result.program.to_string()).monospace())
                    .wrap(),
            );
        });
    }
}
