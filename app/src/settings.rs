//! What the app remembers between launches (eframe storage): synthesis settings, view
//! toggles, the crop, the camera, recent files. Runtime state lives in `run_view.rs`.

use std::path::PathBuf;

use roap_engine::data::Crop;
use roap_engine::device::DeviceChoice;
use roap_engine::graphics::SynthConfig;
use roap_engine::train::TemperatureSchedule;
use serde::{Deserialize, Serialize};

use crate::viewport::{ClipRegion, InputStyle, OrbitCamera, SceneView};

/// Everything persisted. Unknown or missing fields fall back to defaults, so settings of an
/// older version never stop the app from starting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub synthesis: SynthesisSettings,
    pub view: ViewSettings,
    pub crop: CropSettings,
    pub camera: OrbitCamera,
    /// Most recent first.
    pub recent_files: Vec<PathBuf>,
    /// Folder of the pretrained amortized policy used for completion.
    pub checkpoint: Option<PathBuf>,
    pub device: DeviceChoice,
}

impl Settings {
    pub const STORAGE_KEY: &str = "roap_studio_settings";

    pub fn remember_file(&mut self, path: PathBuf) {
        self.recent_files.retain(|p| p != &path);
        self.recent_files.insert(0, path);
        self.recent_files.truncate(8);
    }
}

/// The per-shape synthesis settings a user can change (the rest are the engine's defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthesisSettings {
    pub steps: usize,
    pub lines: usize,
    pub parts: usize,
    pub architecture_learning_rate: f64,
    pub shape_learning_rate: f64,
    pub temperature_start: f64,
    pub temperature_end: f64,
    pub length_penalty: f64,
    pub samples: usize,
    pub gumbel: bool,
    pub seed: u64,
    /// 3D shapes are fitted at this resolution (meshes voxelized at it).
    pub resolution: usize,
}

impl Default for SynthesisSettings {
    fn default() -> Self {
        let engine = SynthConfig::default();
        let (temperature_start, temperature_end) = match engine.temperature {
            TemperatureSchedule::Exponential { start, end } => (start, end),
            _ => (1.0, 0.02),
        };
        Self {
            steps: engine.steps,
            lines: engine.sketch.lines,
            parts: engine.sketch.parts,
            architecture_learning_rate: engine.architecture_learning_rate,
            shape_learning_rate: engine.shape_learning_rate,
            temperature_start,
            temperature_end,
            length_penalty: engine.length_penalty,
            samples: engine.min_samples,
            gumbel: engine.gumbel,
            seed: engine.seed,
            resolution: roap_engine::data::DEFAULT_RESOLUTION,
        }
    }
}

impl SynthesisSettings {
    /// The engine's configuration for a target of dimension `dim` (2D keeps the paper's
    /// circle/square family; its part count is not the 3D library's).
    pub fn config(&self, dim: usize) -> SynthConfig {
        let base = SynthConfig::for_dim(dim);
        let mut config = SynthConfig {
            steps: self.steps.max(1),
            architecture_learning_rate: self.architecture_learning_rate,
            shape_learning_rate: self.shape_learning_rate,
            temperature: TemperatureSchedule::Exponential {
                start: self.temperature_start,
                end: self.temperature_end,
            },
            length_penalty: self.length_penalty,
            min_samples: self.samples.max(1),
            gumbel: self.gumbel,
            seed: self.seed,
            ..base
        };
        config.sketch.lines = self.lines.max(1);
        if dim == 3 {
            config.sketch.parts = self.parts.max(1);
        }
        // Short runs still report a few programs along the way.
        config.report_every = (config.steps / 8).clamp(10, 100);
        config.snapshot_every = (config.steps / 40).clamp(1, 20);
        config
    }
}

/// View toggles of the 3D viewport that persist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewSettings {
    pub input_style: InputStyle,
    pub show_reconstruction: bool,
    pub show_parts: bool,
    pub show_completion: bool,
    pub side_by_side: bool,
}

impl Default for ViewSettings {
    fn default() -> Self {
        let view = SceneView::default();
        Self {
            input_style: view.input_style,
            show_reconstruction: view.show_reconstruction,
            show_parts: view.show_parts,
            show_completion: view.show_completion,
            side_by_side: view.side_by_side,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CropMode {
    #[default]
    None,
    Octant,
    HalfPlane,
}

/// The crop a user set up: an octant by its signs, or a plane by its normal's direction
/// (azimuth about +y, elevation above the x-z plane, degrees) and its offset along it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CropSettings {
    pub mode: CropMode,
    pub octant_positive: [bool; 3],
    pub azimuth_degrees: f32,
    pub elevation_degrees: f32,
    /// Signed distance of the plane from the centre, in the normalized frame.
    pub offset: f32,
    /// Steps of per-shape synthesis that refine the policy's guess (0: the guess alone).
    pub refine_steps: usize,
}

impl Default for CropSettings {
    fn default() -> Self {
        Self {
            mode: CropMode::None,
            octant_positive: [true, true, true],
            azimuth_degrees: 0.0,
            elevation_degrees: 0.0,
            offset: 0.0,
            refine_steps: roap_engine::graphics::amortized::DEFAULT_REFINE_STEPS,
        }
    }
}

impl CropSettings {
    /// Unit normal of the plane; the removed side is where `normal · p > offset`.
    pub fn normal(&self) -> [f32; 3] {
        let (azimuth, elevation) = (
            self.azimuth_degrees.to_radians(),
            self.elevation_degrees.to_radians(),
        );
        [
            elevation.cos() * azimuth.cos(),
            elevation.sin(),
            elevation.cos() * azimuth.sin(),
        ]
    }

    /// The engine's crop. `Crop` works in coordinates −1..1 across the grid, twice the
    /// normalized frame's, so the offset doubles.
    pub fn crop(&self) -> Crop {
        match self.mode {
            CropMode::None => Crop::None,
            CropMode::Octant => Crop::Octant {
                positive: self.octant_positive,
            },
            CropMode::HalfPlane => Crop::HalfSpace {
                normal: self.normal(),
                offset: 2.0 * self.offset,
            },
        }
    }

    /// The same region for the viewport, in the normalized frame.
    pub fn clip_region(&self) -> Option<ClipRegion> {
        match self.mode {
            CropMode::None => None,
            CropMode::Octant => Some(ClipRegion::Octant {
                positive: self.octant_positive,
            }),
            CropMode::HalfPlane => Some(ClipRegion::HalfSpace {
                normal: self.normal(),
                offset: self.offset,
            }),
        }
    }

    /// The paper's random crops (App. C.2), drawn with `seed`.
    pub fn randomize(&mut self, seed: u64) {
        use rand::SeedableRng as _;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        match self.mode {
            CropMode::None => {}
            CropMode::Octant => {
                if let Crop::Octant { positive } = Crop::random_octant(&mut rng) {
                    self.octant_positive = positive;
                }
            }
            CropMode::HalfPlane => {
                if let Crop::HalfSpace { normal, .. } = Crop::random_half_space(&mut rng) {
                    let [x, y, z] = normal;
                    let length = (x * x + y * y + z * z).sqrt().max(1e-6);
                    self.elevation_degrees = (y / length).asin().to_degrees();
                    self.azimuth_degrees = z.atan2(x).to_degrees();
                    self.offset = 0.0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_crop_and_clip_region_describe_the_same_half() {
        let crop = CropSettings {
            mode: CropMode::HalfPlane,
            azimuth_degrees: 30.0,
            elevation_degrees: 20.0,
            offset: 0.1,
            ..CropSettings::default()
        };
        let Crop::HalfSpace { normal, offset } = crop.crop() else {
            panic!("not a half-space");
        };
        let Some(ClipRegion::HalfSpace {
            normal: clip_normal,
            offset: clip_offset,
        }) = crop.clip_region()
        else {
            panic!("no clip region");
        };
        // A point of the normalized frame is removed by both or by neither.
        for q in [[0.3f32, 0.1, 0.2], [-0.2, 0.0, 0.1], [0.1, 0.05, 0.0]] {
            let removed_engine =
                normal.iter().zip(q).map(|(n, c)| n * 2.0 * c).sum::<f32>() > offset;
            let removed_view =
                clip_normal.iter().zip(q).map(|(n, c)| n * c).sum::<f32>() > clip_offset;
            assert_eq!(removed_engine, removed_view, "{q:?}");
        }
    }

    #[test]
    fn random_plane_keeps_the_papers_direction() {
        let mut crop = CropSettings {
            mode: CropMode::HalfPlane,
            ..CropSettings::default()
        };
        crop.randomize(3);
        let n = crop.normal();
        assert!(n.iter().all(|c| *c >= -1e-6), "{n:?}");
        assert!((n.iter().map(|c| c * c).sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn old_or_partial_settings_still_load() {
        let settings: Settings =
            serde_json::from_str(r#"{"synthesis": {"steps": 50}, "unknown": 1}"#).unwrap();
        assert_eq!(settings.synthesis.steps, 50);
        assert_eq!(settings.synthesis.lines, SynthesisSettings::default().lines);
    }
}
