//! The soft program's architecture α as heatmaps: per code line, the operator
//! probabilities and the left / right argument distributions, for any snapshot of the run's
//! history. Sharp rows mean the policy has decided.

use std::collections::HashMap;

use egui::{Color32, ColorImage, TextureHandle, TextureOptions};
use roap_engine::train::ArchitectureSnapshot;

use crate::run_view::RunView;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Matrix {
    Op,
    Left,
    Right,
}

#[derive(Default)]
pub struct ArchitecturePanel {
    /// Index into the run's snapshots; `None` follows the latest.
    pub selected: Option<usize>,
    pub component: usize,
    textures: HashMap<(usize, usize, Matrix), TextureHandle>,
}

impl ArchitecturePanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, run: &RunView) {
        let count = run.snapshots.len();
        if count == 0 {
            ui.label("The architecture α appears once a synthesis runs.");
            return;
        }
        let mut index = self.selected.unwrap_or(count - 1).min(count - 1);
        ui.horizontal(|ui| {
            let mut follow = self.selected.is_none();
            if ui
                .checkbox(&mut follow, "Follow")
                .on_hover_text("Show the latest snapshot as the run goes")
                .changed()
            {
                self.selected = if follow { None } else { Some(index) };
            }
            let slider = ui
                .add(
                    egui::Slider::new(&mut index, 0..=count - 1)
                        .text("snapshot")
                        .show_value(false),
                )
                .on_hover_text("Scrub through the history of α");
            if slider.changed() {
                self.selected = Some(index);
            }
        });
        let Some(snapshot) = run.snapshots.get(index) else {
            return;
        };
        let components = snapshot.op.len();
        self.component = self.component.min(components.saturating_sub(1));
        ui.horizontal(|ui| {
            ui.label(format!("step {}", snapshot.step));
            if let Some(report) = run.steps.iter().rev().find(|s| s.step <= snapshot.step) {
                ui.label(format!(
                    "· E[length] {:.1} · temperature {:.3}",
                    report.expected_length, report.temperature
                ));
            }
            if components > 1 {
                egui::ComboBox::from_id_salt("component")
                    .selected_text(format!("component {}", self.component))
                    .show_ui(ui, |ui| {
                        for c in 0..components {
                            ui.selectable_value(&mut self.component, c, format!("component {c}"));
                        }
                    });
            }
        });
        if self.textures.len() > 96 {
            self.textures.clear();
        }
        let width = ui.available_width();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (matrix, title) in [
                (Matrix::Op, "Operator per line"),
                (Matrix::Left, "Left argument per line"),
                (Matrix::Right, "Right argument per line"),
            ] {
                ui.label(title);
                self.heatmap_ui(ui, snapshot, matrix, width);
            }
        });
    }

    fn heatmap_ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &ArchitectureSnapshot,
        matrix: Matrix,
        width: f32,
    ) {
        let rows = match matrix {
            Matrix::Op => snapshot.op.get(self.component),
            Matrix::Left => snapshot.left.get(self.component),
            Matrix::Right => snapshot.right.get(self.component),
        };
        let Some(rows) = rows.filter(|r| !r.is_empty()) else {
            return;
        };
        let lines = rows.len();
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let key = (snapshot.step, self.component, matrix);
        let texture = self
            .textures
            .entry(key)
            .or_insert_with(|| {
                ui.ctx().load_texture(
                    format!("alpha_{key:?}"),
                    heatmap_image(rows, columns),
                    TextureOptions::NEAREST,
                )
            })
            .clone();
        // Operators get wide cells; arguments (inputs then lines) share the width.
        let cell_width = (width / columns as f32).clamp(1.0, 48.0);
        let cell_height = (160.0 / lines as f32).clamp(4.0, 14.0);
        let size = egui::vec2(cell_width * columns as f32, cell_height * lines as f32);
        let response = ui.add(egui::Image::new((texture.id(), size)).sense(egui::Sense::hover()));
        if matrix == Matrix::Op {
            ui.horizontal(|ui| {
                for name in &snapshot.op_names {
                    ui.add_sized(
                        [cell_width, 12.0],
                        egui::Label::new(egui::RichText::new(name).small()),
                    );
                }
            });
        }
        if let Some(pointer) = response.hover_pos() {
            let local = pointer - response.rect.min;
            let column = (local.x / cell_width) as usize;
            let line = (local.y / cell_height) as usize;
            if let Some(p) = rows.get(line).and_then(|r| r.get(column)) {
                let what = match matrix {
                    Matrix::Op => snapshot.op_names.get(column).cloned().unwrap_or_default(),
                    _ => argument_name(column, columns - lines),
                };
                response.on_hover_text(format!("line l{line}: {what} with probability {p:.3}"));
            }
        }
    }
}

/// Argument ids count inputs (parts) first, then code lines.
fn argument_name(id: usize, inputs: usize) -> String {
    if id < inputs {
        format!("part p{id}")
    } else {
        format!("line l{}", id - inputs)
    }
}

/// One pixel per (line, option); probability 0 → dark, 1 → bright.
fn heatmap_image(rows: &[Vec<f32>], columns: usize) -> ColorImage {
    let mut image = ColorImage::filled([columns, rows.len()], Color32::from_gray(20));
    for (r, row) in rows.iter().enumerate() {
        for (c, p) in row.iter().enumerate() {
            image.pixels[r * columns + c] = colormap(*p);
        }
    }
    image
}

/// A perceptually ordered ramp (viridis' end points and middle) from 0 to 1.
pub fn colormap(value: f32) -> Color32 {
    const STOPS: [[f32; 3]; 5] = [
        [0.267, 0.005, 0.329],
        [0.230, 0.322, 0.546],
        [0.128, 0.567, 0.551],
        [0.369, 0.789, 0.383],
        [0.993, 0.906, 0.144],
    ];
    let v = if value.is_finite() {
        value.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let scaled = v * (STOPS.len() - 1) as f32;
    let i = (scaled as usize).min(STOPS.len() - 2);
    let t = scaled - i as f32;
    let mix = |a: f32, b: f32| ((a + (b - a) * t) * 255.0).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    Color32::from_rgb(mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colormap_is_monotone_in_brightness_and_safe_on_nan() {
        let luma =
            |c: Color32| 0.3 * f32::from(c.r()) + 0.59 * f32::from(c.g()) + 0.11 * f32::from(c.b());
        let values: Vec<f32> = (0..=20).map(|i| luma(colormap(i as f32 / 20.0))).collect();
        assert!(values.windows(2).all(|w| w[1] >= w[0]), "{values:?}");
        assert_eq!(colormap(f32::NAN), colormap(0.0));
    }
}
