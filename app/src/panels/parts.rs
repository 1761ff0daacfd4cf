//! The gallery of parts the sketch offered: each rendered alone, the ones the current
//! program reads first and in colour, the rest in grey.

use std::collections::HashMap;

use egui::{TextureHandle, TextureOptions};
use roap_engine::graphics::meshes::PartKey;

use crate::document::{PartThumbnail, THUMBNAIL_PIXELS};

#[derive(Default)]
pub struct PartsPanel {
    pub show_unused: bool,
    /// Textures of the gallery revision they were made for.
    textures: HashMap<PartKey, TextureHandle>,
    revision: u64,
}

impl PartsPanel {
    /// Draws the gallery; returns the part under the pointer.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        gallery: &[PartThumbnail],
        revision: u64,
    ) -> Option<PartKey> {
        if gallery.is_empty() {
            ui.label("Parts appear once a program exists.");
            return None;
        }
        if revision != self.revision {
            self.textures.clear();
            self.revision = revision;
        }
        let live = gallery.iter().filter(|t| t.live).count();
        ui.horizontal(|ui| {
            ui.label(format!("{live} of {} parts used", gallery.len()));
            ui.checkbox(&mut self.show_unused, "Show unused");
        });
        let mut hovered = None;
        let size = THUMBNAIL_PIXELS as f32;
        // A grid sized to the panel, so the gallery wraps instead of widening the panel.
        let cell = size + 20.0;
        let columns = ((ui.available_width() / cell).floor() as usize).max(1);
        let shown: Vec<&PartThumbnail> = gallery
            .iter()
            .filter(|t| t.live || self.show_unused)
            .collect();
        egui::ScrollArea::vertical()
            .id_salt("parts_gallery")
            .show(ui, |ui| {
                egui::Grid::new("parts_grid")
                    .spacing([4.0, 4.0])
                    .show(ui, |ui| {
                        for (i, thumbnail) in shown.iter().enumerate() {
                            if self.thumbnail_ui(ui, thumbnail, size) {
                                hovered = Some(thumbnail.key);
                            }
                            if (i + 1) % columns == 0 {
                                ui.end_row();
                            }
                        }
                    });
            });
        hovered
    }

    /// One framed thumbnail with its name; returns whether it is hovered.
    fn thumbnail_ui(&mut self, ui: &mut egui::Ui, thumbnail: &PartThumbnail, size: f32) -> bool {
        let texture = self
            .textures
            .entry(thumbnail.key)
            .or_insert_with(|| {
                ui.ctx().load_texture(
                    format!("part_{:?}", thumbnail.key),
                    thumbnail.image.clone(),
                    TextureOptions::LINEAR,
                )
            })
            .clone();
        let mut frame = egui::Frame::group(ui.style());
        if !thumbnail.live {
            frame = frame.multiply_with_opacity(0.5);
        }
        let response = frame
            .show(ui, |ui| {
                ui.vertical(|ui| {
                    ui.image((texture.id(), egui::vec2(size, size)));
                    ui.small(format!(
                        "c{} p{}",
                        thumbnail.key.component, thumbnail.key.part
                    ));
                });
            })
            .response
            .interact(egui::Sense::hover());
        let used = if thumbnail.live { "used" } else { "unused" };
        response
            .on_hover_text(format!(
                "component {} part {}: {} ({used})",
                thumbnail.key.component, thumbnail.key.part, thumbnail.description
            ))
            .hovered()
    }
}
