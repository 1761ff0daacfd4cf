//! STUB (replaced by the viewport branch).
use roap_engine::data::TriangleMesh;
use roap_engine::export::ColoredPart;

#[derive(Default)]
pub struct SceneMeshes {
    pub revision: u64,
    pub input_surface: Option<TriangleMesh>,
    pub input_voxels: Vec<[f32; 3]>,
    pub voxel_size: f32,
    pub reconstruction: Option<TriangleMesh>,
    pub completion: Option<TriangleMesh>,
    pub parts: Vec<ColoredPart>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
pub enum InputStyle {
    #[default]
    Voxels,
    Surface,
    Hidden,
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ClipRegion {
    HalfSpace { normal: [f32; 3], offset: f32 },
    Octant { positive: [bool; 3] },
}

#[derive(Clone, Debug, PartialEq)]
pub struct SceneView {
    pub input_style: InputStyle,
    pub show_reconstruction: bool,
    pub show_parts: bool,
    pub show_completion: bool,
    pub side_by_side: bool,
    pub highlighted_parts: Vec<usize>,
    pub crop: Option<ClipRegion>,
}

impl Default for SceneView {
    fn default() -> Self {
        Self {
            input_style: InputStyle::Voxels,
            show_reconstruction: true,
            show_parts: false,
            show_completion: true,
            side_by_side: true,
            highlighted_parts: Vec::new(),
            crop: None,
        }
    }
}
