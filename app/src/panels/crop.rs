//! Cropping the input to test completion: an octant or a half-space removed, completed by the
//! pretrained policy at once or by a per-shape synthesis of the cropped input.

use super::Action;
use crate::document::CompletionResult;
use crate::settings::{CropMode, CropSettings};

pub struct CropStatus<'a> {
    pub is_3d: bool,
    pub busy: bool,
    pub completion: Option<&'a CompletionResult>,
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
                .button("Complete (pretrained)")
                .on_hover_text(format!(
                    "One forward pass of the amortized policy in {} plus min-sampling on the visible part",
                    status.checkpoint
                ))
                .clicked()
            {
                actions.push(Action::Complete);
            }
            if ui
                .button("Fit cropped input")
                .on_hover_text("Per-shape synthesis of the cropped input with the settings on the left")
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
        let chamfer = result
            .chamfer_vs_full
            .map_or_else(|| "–".into(), |c| format!("{c:.3}"));
        ui.label(format!(
            "Completion: Chamfer ×1000 vs the whole shape {chamfer}, {} lines, {:.2} s ({})",
            result.program.live_lines(),
            result.seconds,
            result.method
        ));
        egui::CollapsingHeader::new("Completion program").show(ui, |ui| {
            ui.add(
                egui::Label::new(egui::RichText::new(result.program.to_string()).monospace())
                    .wrap(),
            );
        });
    }
}
