//! STUB (replaced by the viewport branch).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct OrbitCamera {
    pub yaw: f32,
    pub pitch: f32,
    pub distance: f32,
    pub target: [f32; 3],
}
impl Default for OrbitCamera {
    fn default() -> Self {
        Self { yaw: 0.6, pitch: 0.4, distance: 2.5, target: [0.0; 3] }
    }
}
impl OrbitCamera {
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}
