//! The shape a synthesis fits, in 2D (a binary image) or 3D (a voxel grid), behind one
//! interface: labelled training points, starting points for parts, a symmetry guess, the
//! query grid a program is rasterised on, and the metrics of a rasterised program.

use rand::SeedableRng as _;

use crate::data::{
    Crop, DataError, PixelGrid, PointSamples, VoxelGrid, image_of_dataset, read_png, read_shape,
    read_u8_dataset, read_voxel_dataset, sample_points,
};
use crate::metrics;

/// The shape to fit. Both live in the normalized frame `[-½, ½]^D`; an image's column runs
/// along x and its row along y.
#[derive(Clone, Debug)]
pub enum Target {
    Voxels(VoxelGrid),
    Pixels(PixelGrid),
}

/// A program rasterised like its target.
#[derive(Clone, Debug)]
pub enum Reconstruction {
    Voxels(VoxelGrid),
    Pixels(PixelGrid),
}

impl Reconstruction {
    /// Chamfer ×1000 against the whole shape `full` (for a program fitted to a crop of it);
    /// `None` in 2D or when either is empty.
    pub fn chamfer_vs_full(&self, full: &VoxelGrid, seed: u64) -> Option<f64> {
        match self {
            Self::Voxels(voxels) => crate::metrics::chamfer_x1000(full, voxels, seed),
            Self::Pixels(_) => None,
        }
    }
}

/// How a reconstruction compares with its target.
#[derive(Clone, Copy, Debug, Default)]
pub struct Score {
    /// 3D: ×1000, BSP-Net convention; 2D: pixels, CSGNet convention.
    pub chamfer: Option<f64>,
    pub iou: Option<f64>,
}

impl Score {
    /// One fit error, lower is better, for choosing among programs: the geometric mean of
    /// the Chamfer and 1 − IoU, so a program must fit both the surface and the volume (on
    /// thin shapes Chamfer alone prefers walls of the wrong thickness). Without an IoU,
    /// the Chamfer; without a Chamfer (no surface), infinite.
    pub fn error(&self) -> f64 {
        match (self.chamfer, self.iou) {
            (Some(chamfer), Some(iou)) => (chamfer * (1.0 - iou).max(0.0)).sqrt(),
            (Some(chamfer), None) => chamfer,
            (None, _) => f64::INFINITY,
        }
    }
}

/// How [`Target::open`] reads a file, beyond its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// 3D shapes are fitted at `resolution³`: binvox grids are resampled to it, meshes
    /// voxelized at it.
    pub resolution: usize,
    /// Which entry of an HDF5 dataset.
    pub index: usize,
    /// The HDF5 dataset: `None` reads `voxels` (IM-NET, 3D) when the file has it and
    /// `pixels` (BSP-Net, 2D) otherwise; CSGNet files name `train_images` etc.
    pub key: Option<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            resolution: crate::data::DEFAULT_RESOLUTION,
            index: 0,
            key: None,
        }
    }
}

impl Target {
    /// Reads a shape file by extension: `.binvox` and meshes (`.obj .off .stl .ply`) as 3D
    /// targets, `.png` and entries of `.hdf5`/`.h5` datasets as what they hold. 3D targets
    /// are [normalized](VoxelGrid::normalized): centred, their longest side spanning the
    /// grid, their frame still mapping back to the file's model space.
    ///
    /// # Errors
    /// If the file cannot be read, is malformed, or has no entry `options.index`.
    pub fn open(path: &std::path::Path, options: &OpenOptions) -> Result<Self, DataError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let missing = |count: String| {
            DataError::Malformed {
                format: "HDF5",
                message: format!("no entry {} ({count})", options.index),
            }
            .in_file(path)
        };
        match extension.as_str() {
            "png" => {
                let bytes = crate::data::read_file(path).map_err(|err| err.in_file(path))?;
                Ok(Self::Pixels(
                    read_png(&bytes).map_err(|err| err.in_file(path))?,
                ))
            }
            "hdf5" | "h5" => {
                let key = options.key.as_deref();
                if key.is_none_or(|k| k == "voxels")
                    && let Ok(shapes) = read_voxel_dataset(path, "voxels")
                {
                    let count = shapes.len();
                    let shape = shapes
                        .into_iter()
                        .nth(options.index)
                        .ok_or_else(|| missing(format!("{count} shapes")))?;
                    return Ok(Self::Voxels(shape.normalized(options.resolution)));
                }
                let dataset = read_u8_dataset(path, key.unwrap_or("pixels"))?;
                image_of_dataset(&dataset, options.index)
                    .map(Self::Pixels)
                    .ok_or_else(|| missing(format!("dataset of shape {:?}", dataset.shape)))
            }
            _ => Ok(Self::Voxels(
                read_shape(path, options.resolution)?.normalized(options.resolution),
            )),
        }
    }

    pub fn dim(&self) -> usize {
        match self {
            Self::Voxels(_) => 3,
            Self::Pixels(_) => 2,
        }
    }

    /// Cell centres of the target's own grid at `resolution` (3D) or its own size (2D),
    /// flattened, and how many there are.
    pub fn query_points(&self, resolution: usize) -> (Vec<f32>, usize) {
        match self {
            Self::Voxels(_) => {
                let r = resolution.max(1);
                let frame = VoxelGrid::empty(r);
                let points = (0..r * r * r)
                    .flat_map(|i| frame.normalized_centre([i / (r * r), (i / r) % r, i % r]))
                    .collect();
                (points, r * r * r)
            }
            Self::Pixels(image) => {
                let (w, h) = (image.width, image.height);
                let points = (0..w * h)
                    .flat_map(|i| pixel_centre(image, i / w, i % w))
                    .collect();
                (points, w * h)
            }
        }
    }

    /// Occupancies at [`Self::query_points`] thresholded at ½.
    pub fn rasterise(&self, resolution: usize, occupancy: &[f32]) -> Reconstruction {
        match self {
            Self::Voxels(grid) => {
                let r = resolution.max(1);
                let mut voxels = VoxelGrid::empty(r);
                for (i, value) in occupancy.iter().enumerate() {
                    if *value > 0.5 {
                        voxels.set([i / (r * r), (i / r) % r, i % r], true);
                    }
                }
                voxels.translate = grid.translate;
                voxels.scale = grid.scale;
                Reconstruction::Voxels(voxels)
            }
            Self::Pixels(image) => Reconstruction::Pixels(PixelGrid {
                width: image.width,
                height: image.height,
                occupied: occupancy.iter().map(|v| *v > 0.5).collect(),
            }),
        }
    }

    /// Chamfer and IoU of `reconstruction` against the target.
    pub fn score(&self, reconstruction: &Reconstruction, seed: u64) -> Score {
        match (self, reconstruction) {
            (Self::Voxels(grid), Reconstruction::Voxels(voxels)) => Score {
                chamfer: metrics::chamfer_x1000(grid, voxels, seed),
                iou: metrics::iou(grid, &crate::data::resample(voxels, grid.resolution())),
            },
            (Self::Pixels(image), Reconstruction::Pixels(pixels)) => Score {
                chamfer: metrics::chamfer_2d(image, pixels),
                iou: iou_2d(image, pixels),
            },
            _ => Score::default(),
        }
    }

    /// `count` labelled points (flattened) and their labels: IM-NET-style in 3D; in 2D
    /// half jittered around edge pixels, half uniform, labelled by their pixel.
    pub fn samples(&self, count: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        match self {
            Self::Voxels(grid) => {
                let PointSamples { points, labels } = sample_points(grid, count, seed);
                (points.into_iter().flatten().collect(), labels)
            }
            Self::Pixels(image) => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                let edges = image.edges();
                let pixel = 1.0 / image.width.max(image.height) as f32;
                let mut points = Vec::with_capacity(count * 2);
                for i in 0..count {
                    let p =
                        match edges.get(rand::Rng::random_range(&mut rng, 0..edges.len().max(1))) {
                            Some(&[row, column]) if i < count / 2 => {
                                let centre = pixel_centre(image, row as usize, column as usize);
                                let mut jitter = || {
                                    (rand::Rng::random::<f32>(&mut rng)
                                        + rand::Rng::random::<f32>(&mut rng)
                                        - 1.0)
                                        * pixel
                                };
                                [centre[0] + jitter(), centre[1] + jitter()]
                            }
                            _ => [
                                rand::Rng::random::<f32>(&mut rng) - 0.5,
                                rand::Rng::random::<f32>(&mut rng) - 0.5,
                            ],
                        };
                    points.extend(p.map(|c| c.clamp(-0.5, 0.5 - f32::EPSILON)));
                }
                let labels = points
                    .chunks_exact(2)
                    .map(|p| f32::from(u8::from(pixel_at(image, [p[0], p[1]]))))
                    .collect();
                (points, labels)
            }
        }
    }

    /// Whether no cell of the shape is occupied.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Voxels(grid) => grid.occupied().iter().all(|&o| !o),
            Self::Pixels(image) => image.occupied.iter().all(|&o| !o),
        }
    }

    /// The mirror plane through the centre that the shape agrees with most, among the
    /// axis-aligned ones, scored by the mirror IoU `|S ∩ flip(S)| / |S ∪ flip(S)|`. 3D
    /// targets are centred by [`VoxelGrid::normalized`], so a symmetric shape's plane passes
    /// through the centre, up to the rounding of its box to whole cells: the plane may sit
    /// one cell off, which a one-cell-thin wing would otherwise read as asymmetry.
    pub fn symmetry(&self) -> Symmetry {
        self.symmetry_seen(Crop::None)
    }

    /// [`Self::symmetry`] of a cropped input: only voxel pairs the crop left both of count,
    /// so the removed region reads as unknown, not as asymmetry.
    pub fn symmetry_seen(&self, unseen: Crop) -> Symmetry {
        let dim = self.dim();
        let shifted_mirror_iou = |axis: usize, shift: isize| -> f64 {
            let (mut both, mut either) = (0usize, 0usize);
            let mut tally = |a: bool, b: bool| {
                both += usize::from(a && b);
                either += usize::from(a || b);
            };
            match self {
                Self::Voxels(grid) => {
                    let r = grid.resolution();
                    let seen = |xyz: [usize; 3]| {
                        unseen == Crop::None
                            || !unseen.removes(grid.normalized_centre(xyz).map(|c| 2.0 * c))
                    };
                    for i in 0..r * r * r {
                        let xyz = [i / (r * r), (i / r) % r, i % r];
                        let m = r as isize - 1 - xyz[axis] as isize + shift;
                        let mirrored = usize::try_from(m).ok().filter(|&m| m < r).map(|m| {
                            let mut mirrored = xyz;
                            mirrored[axis] = m;
                            mirrored
                        });
                        if !seen(xyz) || mirrored.is_some_and(|m| !seen(m)) {
                            continue;
                        }
                        tally(grid.get(xyz), mirrored.is_some_and(|m| grid.get(m)));
                    }
                }
                Self::Pixels(image) => {
                    let (w, h) = (image.width as isize, image.height as isize);
                    for r in 0..h {
                        for c in 0..w {
                            // Axis 0 is x (columns), axis 1 is y (rows).
                            let mirrored = if axis == 0 {
                                image.get(r, w - 1 - c + shift)
                            } else {
                                image.get(h - 1 - r + shift, c)
                            };
                            tally(image.get(r, c), mirrored);
                        }
                    }
                }
            }
            if either == 0 {
                0.0
            } else {
                both as f64 / either as f64
            }
        };
        let mirror_iou = |axis: usize| {
            [-1, 0, 1]
                .into_iter()
                .map(|shift| shifted_mirror_iou(axis, shift))
                .fold(0.0, f64::max)
        };
        let scores: Vec<f64> = (0..dim).map(mirror_iou).collect();
        let best = (0..dim)
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap_or(0);
        let mut normal = vec![0.0; dim];
        normal[best] = 1.0;
        Symmetry {
            normal,
            mirror_iou: scores[best],
        }
    }
}

/// A mirror plane through the centre of the normalized frame and how well a shape agrees
/// with it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Symmetry {
    /// Unit normal of the plane.
    pub normal: Vec<f32>,
    /// `|S ∩ flip(S)| / |S ∪ flip(S)|`: 1 for a mirror-symmetric shape.
    pub mirror_iou: f64,
}

impl Symmetry {
    /// Mirror IoU from which a shape counts as symmetric: below it a flip-union would
    /// force the missing half onto the shape.
    pub const THRESHOLD: f64 = 0.8;

    pub fn is_symmetric(&self) -> bool {
        self.mirror_iou >= Self::THRESHOLD
    }

    /// The axis of the plane's normal: "x", "y" or "z".
    pub fn axis_name(&self) -> &'static str {
        match self.normal.iter().position(|&n| n != 0.0) {
            Some(0) => "x",
            Some(1) => "y",
            _ => "z",
        }
    }
}

/// Normalized centre `[x, y]` of pixel `(row, column)`.
fn pixel_centre(image: &PixelGrid, row: usize, column: usize) -> [f32; 2] {
    let side = image.width.max(image.height) as f32;
    [
        (column as f32 + 0.5) / side - 0.5,
        (row as f32 + 0.5) / side - 0.5,
    ]
}

/// The pixel containing normalized point `p`; outside the image is empty.
fn pixel_at(image: &PixelGrid, [x, y]: [f32; 2]) -> bool {
    let side = image.width.max(image.height) as f32;
    let column = ((x + 0.5) * side).floor();
    let row = ((y + 0.5) * side).floor();
    row.is_finite() && column.is_finite() && image.get(row as isize, column as isize)
}

/// Intersection over union of two images of one size; `None` if sizes differ or both are empty.
pub fn iou_2d(a: &PixelGrid, b: &PixelGrid) -> Option<f64> {
    if (a.width, a.height) != (b.width, b.height) {
        return None;
    }
    let both = a
        .occupied
        .iter()
        .zip(&b.occupied)
        .filter(|(x, y)| **x && **y)
        .count();
    let either = a
        .occupied
        .iter()
        .zip(&b.occupied)
        .filter(|(x, y)| **x || **y)
        .count();
    (either > 0).then(|| both as f64 / either as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetry_finds_the_mirror_plane_or_says_there_is_none() {
        // A box off-centre along x only: mirror-symmetric across y and z planes, not x...
        let grid = VoxelGrid::from_fn(16, |[x, y, z]| {
            (0.0..0.4).contains(&x) && y.abs() < 0.1 && z.abs() < 0.3
        });
        let symmetry = Target::Voxels(grid.clone()).symmetry();
        assert!(symmetry.is_symmetric(), "{symmetry:?}");
        assert_ne!(symmetry.axis_name(), "x");
        // ...until it is normalized: centred, it is symmetric across every axis plane.
        let centred = Target::Voxels(grid.normalized(16)).symmetry();
        assert!((centred.mirror_iou - 1.0).abs() < 1e-9, "{centred:?}");
        // Three bars from one corner of a box have no axis mirror plane.
        let tripod = VoxelGrid::from_fn(16, |[x, y, z]| {
            let low = |c: f32| c < -0.3;
            (low(y) && low(z)) || (low(x) && low(z)) || (low(x) && low(y))
        });
        let symmetry = Target::Voxels(tripod.normalized(16)).symmetry();
        assert!(!symmetry.is_symmetric(), "{symmetry:?}");
    }
}
