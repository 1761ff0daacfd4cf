//! The 3D viewport: three-d drawing inside an egui paint callback.
//!
//! The app builds a [`SceneMeshes`] when meshes change (bumping its `revision`) and a
//! [`SceneView`] every frame, then calls [`Viewport::ui`]. GPU objects live on the painting
//! thread (see `gpu.rs`) and are rebuilt only when the revision changes.
//!
//! Needs eframe's glow renderer with a depth buffer (`depth_buffer: 24`). Under another
//! renderer (e.g. wgpu in kittest) the 3D content is skipped and only the background shows.

mod camera;
mod gpu;
mod material;
mod offscreen;
mod scene;

use std::sync::Arc;

use eframe::egui_glow;

pub use camera::{FIELD_OF_VIEW_Y, OrbitCamera, field_of_view_y_for_aspect};
pub use scene::{
    ClipRegion, InputStyle, SceneMeshes, SceneView, cpu_mesh_of, plane_in_unit_cube,
    surface_voxel_centres,
};

/// An interactive view of the scene, orbiting around the unit cube.
#[derive(Clone, Debug, Default)]
pub struct Viewport {
    pub camera: OrbitCamera,
}

impl Viewport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Allocates all the available space, handles input (left-drag orbit, right- or middle-drag
    /// or shift+left-drag pan, scroll/pinch zoom, double-click resets), and paints the scene
    /// with three-d inside an egui_glow paint callback. Returns the egui Response.
    ///
    /// With `view.side_by_side` the rect splits into two halves that share the camera: the
    /// input on the left, the program on the right.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        meshes: &Arc<SceneMeshes>,
        view: &SceneView,
    ) -> egui::Response {
        let (rect, response) =
            ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
        self.handle_input(ui, &response, rect);

        let painter = ui.painter_at(rect);
        let dark_mode = ui.visuals().dark_mode;

        let frame = gpu::FrameSetup {
            camera: self.camera.clone(),
            meshes: Arc::clone(meshes),
            view: view.clone(),
            dark_mode,
        };
        painter.add(egui::PaintCallback {
            rect,
            callback: Arc::new(egui_glow::CallbackFn::new(move |info, painter| {
                gpu::paint(&frame, &info, painter);
            })),
        });

        if view.side_by_side {
            let label_color = ui.visuals().weak_text_color();
            let font = egui::FontId::proportional(13.0);
            let margin = egui::vec2(8.0, 6.0);
            for (label, left) in [("input", rect.left()), ("program", rect.center().x)] {
                let position = egui::pos2(left, rect.top()) + margin;
                painter.text(
                    position,
                    egui::Align2::LEFT_TOP,
                    label,
                    font.clone(),
                    label_color,
                );
            }
            painter.vline(
                rect.center().x,
                rect.y_range(),
                ui.visuals().widgets.noninteractive.bg_stroke,
            );
        }
        response
    }

    fn handle_input(&mut self, ui: &egui::Ui, response: &egui::Response, rect: egui::Rect) {
        if response.double_clicked() {
            self.camera.reset();
            return;
        }
        let delta = response.drag_delta();
        let shift = ui.input(|input| input.modifiers.shift);
        let pans = response.dragged_by(egui::PointerButton::Secondary)
            || response.dragged_by(egui::PointerButton::Middle)
            || (shift && response.dragged_by(egui::PointerButton::Primary));
        if pans {
            self.camera.pan(delta, rect.height());
        } else if response.dragged_by(egui::PointerButton::Primary) {
            self.camera.orbit(delta);
        }
        if response.hovered() {
            let (scroll, pinch) =
                ui.input(|input| (input.smooth_scroll_delta.y, input.zoom_delta()));
            if scroll != 0.0 {
                self.camera.zoom(scroll);
            }
            if pinch != 1.0 {
                self.camera.zoom_by_factor(pinch);
            }
        }
    }
}
