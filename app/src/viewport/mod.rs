//! STUB (replaced by the viewport branch).
pub mod camera;
pub mod scene;
pub use camera::OrbitCamera;
pub use scene::{ClipRegion, InputStyle, SceneMeshes, SceneView};

#[derive(Default)]
pub struct Viewport {
    pub camera: OrbitCamera,
}
impl Viewport {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        _meshes: &std::sync::Arc<SceneMeshes>,
        _view: &SceneView,
    ) -> egui::Response {
        ui.allocate_response(ui.available_size(), egui::Sense::click_and_drag())
    }
}
