//! The heavy, UI-free work the app runs in jobs: reading a shape and meshing it for the
//! viewport, meshing a program and rendering its parts, completing a cropped shape with
//! the pretrained policy. Pure functions of their inputs, so tests call them directly.

use std::path::{Path, PathBuf};

use egui::{Color32, ColorImage};
use rayon::prelude::*;
use roap_engine::data::{Crop, PixelGrid, TriangleMesh, VoxelGrid};
use roap_engine::export::{ColoredPart, isosurface_of_fn, isosurface_of_grid};
use roap_engine::graphics::meshes::{PART_COLORS, PartKey, part_meshes, program_surface};
use roap_engine::graphics::{GraphicsProgram, OpenOptions, Reconstruction, Symmetry, Target};

use std::sync::{Arc, Mutex};

use roap_engine::graphics::amortized::{CompleteOptions, TrainConfig, checkpoint, complete};
use roap_engine::graphics::policy::Policy;
use roap_engine::graphics::soft::ProgramTensors;

use crate::thumbnails::{render_mesh, render_occupancy_2d};
use crate::viewport::surface_voxel_centres;

/// A shape read from a file, with what the viewport needs to show it.
pub struct LoadedShape {
    pub name: String,
    /// The whole shape (crops are applied when a run starts).
    pub target: Target,
    /// 3D: the surface, in the normalized frame.
    pub surface: Option<TriangleMesh>,
    /// 3D: centres of the voxels on the surface (normalized frame) and their edge length.
    pub surface_voxels: Vec<[f32; 3]>,
    pub voxel_size: f32,
    /// 2D: the image itself.
    pub image: Option<ColorImage>,
    /// The mirror plane synthesis starts its flip-union on, if the shape has one.
    pub symmetry: Symmetry,
}

/// Reads `path` (any format `Target::open` takes) and meshes it.
pub fn load_shape(path: &Path, options: &OpenOptions) -> Result<LoadedShape, String> {
    // The caller names the file, so the error's own copy of the path is left out.
    let target = Target::open(path, options).map_err(|err| match err {
        roap_engine::data::DataError::File { error, .. } => error.to_string(),
        other => other.to_string(),
    })?;
    let name = path
        .file_stem()
        .map_or_else(|| "shape".into(), |s| s.to_string_lossy().into_owned());
    Ok(shape_of_target(name, target))
}

pub fn shape_of_target(name: String, target: Target) -> LoadedShape {
    let symmetry = target.symmetry();
    match &target {
        Target::Voxels(grid) => {
            let mut surface = isosurface_of_grid(grid);
            grid.to_normalized_frame(&mut surface);
            LoadedShape {
                name,
                surface: Some(surface),
                surface_voxels: surface_voxel_centres(grid),
                voxel_size: 1.0 / grid.resolution().max(1) as f32,
                image: None,
                symmetry,
                target,
            }
        }
        Target::Pixels(pixels) => LoadedShape {
            name,
            surface: None,
            surface_voxels: Vec::new(),
            voxel_size: 0.0,
            image: Some(image_of_pixels(pixels, Color32::from_gray(40))),
            symmetry,
            target,
        },
    }
}

/// A binary image as pixels: `ink` where set, white elsewhere.
pub fn image_of_pixels(pixels: &PixelGrid, ink: Color32) -> ColorImage {
    let mut image = ColorImage::filled([pixels.width, pixels.height], Color32::WHITE);
    for row in 0..pixels.height {
        for column in 0..pixels.width {
            if pixels.get(row as isize, column as isize) {
                image.pixels[row * pixels.width + column] = ink;
            }
        }
    }
    image
}

/// One entry of the parts gallery.
pub struct PartThumbnail {
    pub key: PartKey,
    /// What the part is (`quadric #12 warp #3`, `circle`, …).
    pub description: String,
    /// Whether the current program reads it.
    pub live: bool,
    pub image: ColorImage,
}

/// Everything drawn from one version of the program.
pub struct ProgramGeometry {
    /// The scene revision this was computed for; stale results are dropped.
    pub revision: u64,
    /// 3D: the program's surface (normalized frame).
    pub surface: Option<TriangleMesh>,
    /// 2D: the program rasterised like its target.
    pub image: Option<ColorImage>,
    /// One mesh per live part, and which part it is.
    pub parts: Vec<(PartKey, ColoredPart)>,
    pub gallery: Vec<PartThumbnail>,
}

/// Resolution of the program's surface in the viewport.
const SURFACE_RESOLUTION: usize = 64;
/// Resolution of part meshes (viewport) and of gallery parts.
const PART_RESOLUTION: usize = 40;
const GALLERY_RESOLUTION: usize = 24;
pub const THUMBNAIL_PIXELS: usize = 64;

/// Meshes `program` with `lines_off` switched off, and renders every part the sketch offered
/// for the gallery (coloured like its mesh when the program reads it).
pub fn program_geometry(
    revision: u64,
    program: &GraphicsProgram,
    lines_off: &[(usize, usize)],
    target: &Target,
) -> ProgramGeometry {
    let shown = program.with_lines_off(lines_off);
    let (surface, image) = match target {
        Target::Voxels(_) => (Some(program_surface(&shown, SURFACE_RESOLUTION)), None),
        Target::Pixels(pixels) => {
            let (points, _) = target.query_points(pixels.width.max(pixels.height));
            let occupancy = shown.occupancies(&points);
            let image = match target.rasterise(pixels.width.max(pixels.height), &occupancy) {
                Reconstruction::Pixels(p) => {
                    Some(image_of_pixels(&p, Color32::from_rgb(40, 90, 160)))
                }
                Reconstruction::Voxels(_) => None,
            };
            (None, image)
        }
    };
    let parts = if program.dim == 3 {
        part_meshes(&shown, PART_RESOLUTION)
    } else {
        Vec::new()
    };
    let gallery = gallery(program, &parts);
    ProgramGeometry {
        revision,
        surface,
        image,
        parts,
        gallery,
    }
}

/// Every part of every component, live ones first, each drawn alone.
fn gallery(program: &GraphicsProgram, meshes: &[(PartKey, ColoredPart)]) -> Vec<PartThumbnail> {
    let mut entries: Vec<(PartKey, bool)> = Vec::new();
    for (c, component) in program.components.iter().enumerate() {
        let live = component.program.live();
        for i in 0..component.parts.len() {
            let used = component.enabled && live.get(i).copied().unwrap_or(false);
            entries.push((
                PartKey {
                    component: c,
                    part: i,
                },
                used,
            ));
        }
    }
    // Stable: live parts first, each group in program order.
    entries.sort_by_key(|(_, live)| !live);
    entries
        .par_iter()
        .enumerate()
        .filter_map(|(index, &(key, live))| {
            let part = program.components.get(key.component)?.parts.get(key.part)?;
            let color = match meshes.iter().find(|(k, _)| *k == key) {
                Some((_, mesh)) => mesh.color,
                None if live => PART_COLORS[index % PART_COLORS.len()],
                None => [0.6, 0.6, 0.6],
            };
            let sharpness = program.sharpness;
            let image = if part.dim() == 3 {
                // The part alone, framed to its own extent, so small parts show too.
                let centre = part.translation.clone();
                let span = part_extent(&part.linear) * 2.6;
                let mesh = isosurface_of_fn(GALLERY_RESOLUTION, |[x, y, z]| {
                    let p = [
                        centre[0] + x * span,
                        centre[1] + y * span,
                        centre[2] + z * span,
                    ];
                    part.occupancy(&p, sharpness)
                });
                render_mesh(&mesh, color, THUMBNAIL_PIXELS)
            } else {
                render_occupancy_2d(|p| part.occupancy(p, sharpness), color, THUMBNAIL_PIXELS)
            };
            Some(PartThumbnail {
                key,
                description: part.describe(),
                live,
                image,
            })
        })
        .collect()
}

/// Half the largest extent of a 3D part's unit box `|A (p − t)|_∞ ≤ ½` along a world axis:
/// `½ Σ_j |A⁻¹_ij|`, maximised over `i`. Falls back to ½ when `A` is singular.
fn part_extent(linear: &[f32]) -> f32 {
    let Ok(a) = <[f32; 9]>::try_from(linear) else {
        return 0.5;
    };
    let det = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6])
        + a[2] * (a[3] * a[7] - a[4] * a[6]);
    if det.abs() < 1e-9 || !det.is_finite() {
        return 0.5;
    }
    // Rows of the adjugate divided by the determinant are A⁻¹'s rows.
    let inverse = [
        [
            a[4] * a[8] - a[5] * a[7],
            a[2] * a[7] - a[1] * a[8],
            a[1] * a[5] - a[2] * a[4],
        ],
        [
            a[5] * a[6] - a[3] * a[8],
            a[0] * a[8] - a[2] * a[6],
            a[2] * a[3] - a[0] * a[5],
        ],
        [
            a[3] * a[7] - a[4] * a[6],
            a[1] * a[6] - a[0] * a[7],
            a[0] * a[4] - a[1] * a[3],
        ],
    ];
    inverse
        .iter()
        .map(|row| 0.5 * row.iter().map(|v| (v / det).abs()).sum::<f32>())
        .fold(0.0, f32::max)
        .clamp(1e-3, 10.0)
}

/// The parts a code line reads, directly or through earlier lines (`line` counts code lines).
pub fn parts_under(program: &roap_engine::dsl::Program, line: usize) -> Vec<usize> {
    let inputs = program.inputs();
    let mut stack = vec![inputs + line];
    let mut seen = vec![false; inputs + program.lines().len()];
    let mut parts = Vec::new();
    while let Some(id) = stack.pop() {
        if seen.get(id).copied().unwrap_or(true) {
            continue;
        }
        seen[id] = true;
        if id < inputs {
            parts.push(id);
        } else if let Some(l) = program.lines().get(id - inputs) {
            let arity = program
                .ops()
                .ops
                .get(l.op)
                .map_or(2, |o| o.semantics.arity());
            stack.push(l.left);
            if arity == 2 {
                stack.push(l.right);
            }
        }
    }
    parts.sort_unstable();
    parts
}

/// A cropped shape completed by the pretrained amortized policy: its guess, and where a
/// refinement of it starts.
pub struct CompletionResult {
    pub program: GraphicsProgram,
    /// The completion's surface (normalized frame).
    pub surface: TriangleMesh,
    /// Chamfer ×1000 against the whole (uncropped) shape.
    pub chamfer_vs_full: Option<f64>,
    /// From the click to the guess.
    pub seconds: f64,
    pub method: String,
    /// Steps of the refinement that follows (0: none).
    pub refine_steps: usize,
    /// Whether this completion read the checkpoint from disk (the first one does; later
    /// ones start from the policy in memory).
    pub loaded_policy: bool,
}

/// The amortized policy kept in memory, so every completion after the first starts from it.
pub struct LoadedPolicy {
    /// `None` for the bundled checkpoint.
    dir: Option<PathBuf>,
    /// The backend it lives on, in words.
    device: String,
    policy: Policy,
    pub config: TrainConfig,
}

/// Shared between the UI and its jobs.
pub type PolicyCache = Arc<Mutex<Option<LoadedPolicy>>>;

/// One forward pass of the policy in `checkpoint_dir` (the bundled one for `None`; loaded
/// once into `cache`) on the
/// cropped shape, then min-sampling on what is visible. Also returns where a refinement
/// starts: the kept draw's soft program and the policy's training settings.
pub fn complete_with_checkpoint(
    cache: &PolicyCache,
    checkpoint_dir: Option<&Path>,
    full: &VoxelGrid,
    crop: Crop,
    device: &roap_engine::device::ChosenDevice,
    started: std::time::Instant,
) -> Result<(CompletionResult, Option<(ProgramTensors, TrainConfig)>), String> {
    let mut cache = cache
        .lock()
        .map_err(|_| "the policy cache is poisoned".to_owned())?;
    let mut loaded_policy = false;
    let loaded = match cache.take() {
        Some(loaded)
            if loaded.dir.as_deref() == checkpoint_dir && loaded.device == device.description =>
        {
            loaded
        }
        _ => {
            loaded_policy = true;
            let (policy, config) = match checkpoint_dir {
                Some(dir) => checkpoint::load(dir, &device.device),
                None => checkpoint::load_bundled(&device.device).map(|(p, c, _)| (p, c)),
            }
            .map_err(|e| e.to_string())?;
            if config.policy.sketch.dim != 3 {
                return Err(
                    "this checkpoint is a 2D policy; completion here takes 3D shapes".into(),
                );
            }
            LoadedPolicy {
                dir: checkpoint_dir.map(Path::to_path_buf),
                device: device.description.clone(),
                policy,
                config,
            }
        }
    };
    let options = CompleteOptions {
        crop,
        samples: 8,
        eval_resolution: 64,
        seed: 0,
    };
    let input = Target::Voxels(crop.apply(full));
    let completion = complete(
        &loaded.policy,
        &loaded.config.policy,
        &input,
        &options,
        &device.device,
    )
    .map_err(|err| format!("{err:#}"));
    let config = loaded.config.clone();
    *cache = Some(loaded);
    let completion = completion?;
    let chamfer_vs_full = completion
        .reconstruction
        .as_ref()
        .and_then(|r| r.chamfer_vs_full(full, 0));
    let result = CompletionResult {
        surface: program_surface(&completion.program, SURFACE_RESOLUTION),
        program: completion.program,
        chamfer_vs_full,
        seconds: started.elapsed().as_secs_f64(),
        method: format!("pretrained policy ({} candidates)", completion.candidates),
        refine_steps: 0,
        loaded_policy,
    };
    Ok((result, completion.start.map(|start| (start, config))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_extent_of_a_scaled_and_sheared_frame() {
        // A = diag(4, 2, 1): the unit box spans ½·(¼, ½, 1) along x, y, z.
        assert!((part_extent(&[4.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 1.0]) - 0.5).abs() < 1e-6);
        assert!((part_extent(&[4.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 2.0]) - 0.25).abs() < 1e-6);
        // Singular or malformed: a safe default.
        assert_eq!(part_extent(&[0.0; 9]), 0.5);
        assert_eq!(part_extent(&[1.0; 4]), 0.5);
    }
}
