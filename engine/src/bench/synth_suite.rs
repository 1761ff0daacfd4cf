//! `roap bench synth-suite`: per-shape synthesis, with the defaults a user gets, over the
//! shapes users bring — ShapeNet solids stored in a corner, small binvox files, scanned and
//! CAD meshes, the bundled samples, and shapes made here to be hard (thin, corner-aligned).
//! One JSON line per shape, a summary line last.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::Serialize;

use crate::data::{VoxelGrid, read_binvox};
use crate::graphics::{OpenOptions, SynthConfig, SynthError, Target, synthesize};
use crate::train::RunControl;

/// Where a suite shape comes from.
#[derive(Clone, Debug)]
pub enum SuiteSource {
    /// A file `Target::open` reads (normalized on the way in).
    File { path: PathBuf, index: usize },
    /// A grid made by code, normalized before synthesis like any file.
    Grid(VoxelGrid),
}

#[derive(Clone, Debug)]
pub struct SuiteShape {
    pub name: String,
    pub source: SuiteSource,
}

/// One shape's result.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteRow {
    pub bench: &'static str,
    pub shape: String,
    /// 3D only: ×1000, BSP-Net convention, in the normalized frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chamfer_x1000: Option<f64>,
    /// 2D only: pixels, CSGNet convention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chamfer_2d_px: Option<f64>,
    pub iou: Option<f64>,
    /// Live non-skip lines, summed over enabled components.
    pub live_lines: usize,
    pub operators: BTreeMap<String, usize>,
    /// Synthesis alone (the file is read and normalized before the clock starts).
    pub seconds: f64,
    pub entropy_start: Option<f64>,
    pub entropy_end: Option<f64>,
    /// Mirror IoU of the best axis-aligned plane, and whether it counted as a symmetry.
    pub mirror_iou: f64,
    pub symmetric: bool,
    /// The program found, as text.
    #[serde(skip)]
    pub program: String,
}

/// The 3D suite's summary line.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteSummary {
    pub bench: &'static str,
    pub shapes: usize,
    pub median_chamfer_x1000: Option<f64>,
    pub worst_chamfer_x1000: Option<f64>,
    pub min_iou: Option<f64>,
    pub median_live_lines: Option<f64>,
    pub max_seconds: Option<f64>,
}

/// The 2D suite's summary line.
#[derive(Clone, Debug, Serialize)]
pub struct ImagesSummary {
    pub bench: &'static str,
    pub images: usize,
    pub mean_chamfer_2d_px: Option<f64>,
    pub mean_live_lines: Option<f64>,
}

/// The 3D suite: files under `data` (the shared test data: `shapenet/`, `binvox/`,
/// `meshes/`) and `samples` (the bundled `samples/shapes`), plus two shapes made by code.
/// Returns the shapes found and, for each one missing, a line saying which.
pub fn shapes_3d(data: &Path, samples: &Path) -> (Vec<SuiteShape>, Vec<String>) {
    let mut shapes = Vec::new();
    let mut missing = Vec::new();
    let mut file = |name: &str, path: PathBuf| {
        if path.is_file() {
            shapes.push(SuiteShape {
                name: name.to_owned(),
                source: SuiteSource::File { path, index: 0 },
            });
        } else {
            missing.push(format!("{name}: {} not found", path.display()));
        }
    };
    let biplane = data.join("shapenet/model_normalized.solid.binvox");
    file("shapenet-biplane", biplane.clone());
    file("chair.binvox", data.join("binvox/chair.binvox"));
    file("8a85.binvox", data.join("binvox/8a85.binvox"));
    for mesh in ["teapot", "suzanne", "cow", "fandisk"] {
        file(mesh, data.join(format!("meshes/{mesh}.obj")));
    }
    for sample in ["chair", "lamp", "mug", "shelf", "table"] {
        file(
            &format!("sample-{sample}"),
            samples.join(format!("{sample}.binvox")),
        );
    }
    match std::fs::read(&biplane)
        .ok()
        .and_then(|bytes| read_binvox(&bytes).ok())
    {
        Some(grid) => shapes.push(SuiteShape {
            name: "biplane-in-corner".into(),
            source: SuiteSource::Grid(shifted_to_far_corner(&grid)),
        }),
        None => missing.push(format!("biplane-in-corner: needs {}", biplane.display())),
    }
    shapes.push(SuiteShape {
        name: "thin-chair-128".into(),
        source: SuiteSource::Grid(thin_chair(128)),
    });
    (shapes, missing)
}

/// Images `indices` of an HDF5 file of binary images (BSP-Net's `pixels`).
pub fn shapes_2d(file: &Path, indices: std::ops::Range<usize>) -> Vec<SuiteShape> {
    indices
        .map(|index| SuiteShape {
            name: format!("image-{index}"),
            source: SuiteSource::File {
                path: file.to_owned(),
                index,
            },
        })
        .collect()
}

/// `grid` with its occupied box moved against the grid's far corner (x, y, z maximal):
/// the frame ShapeNet's solid binvox files use, mirrored.
pub fn shifted_to_far_corner(grid: &VoxelGrid) -> VoxelGrid {
    let r = grid.resolution();
    let mut shifted = VoxelGrid::empty(r);
    shifted.translate = grid.translate;
    shifted.scale = grid.scale;
    let Some((_, hi)) = grid.occupied_bounds() else {
        return shifted;
    };
    let offset = hi.map(|h| r - 1 - h);
    for x in 0..r {
        for y in 0..r {
            for z in 0..r {
                if grid.get([x, y, z]) {
                    shifted.set([x + offset[0], y + offset[1], z + offset[2]], true);
                }
            }
        }
    }
    shifted
}

/// A chair of one-to-two-voxel-thin legs, seat and back slats at `resolution³`, sitting in
/// the grid's minimum corner as ShapeNet stores thin objects.
pub fn thin_chair(resolution: usize) -> VoxelGrid {
    let cell = 1.0 / resolution as f32;
    let thin = 1.5 * cell; // half-width of a leg or a board
    let inside = |[x, y, z]: [f32; 3]| -> bool {
        let b =
            |lo: [f32; 3], hi: [f32; 3]| (0..3).all(|a| (lo[a]..=hi[a]).contains(&[x, y, z][a]));
        let (x0, x1, z0, z1) = (-0.5, -0.2, -0.5, -0.22);
        let seat = -0.3;
        let legs = [(x0, z0), (x0, z1), (x1, z0), (x1, z1)]
            .into_iter()
            .any(|(lx, lz)| b([lx, -0.5, lz], [lx + 2.0 * thin, seat, lz + 2.0 * thin]));
        let seat_board = b(
            [x0, seat, z0],
            [x1 + 2.0 * thin, seat + 2.0 * thin, z1 + 2.0 * thin],
        );
        let back_posts = [x0, x1]
            .into_iter()
            .any(|lx| b([lx, seat, z0], [lx + 2.0 * thin, 0.1, z0 + 2.0 * thin]));
        let slats = (0..3).any(|i| {
            let y = -0.15 + 0.1 * i as f32;
            b(
                [x0, y, z0],
                [x1 + 2.0 * thin, y + 2.0 * thin, z0 + 2.0 * thin],
            )
        });
        legs || seat_board || back_posts || slats
    };
    VoxelGrid::from_fn(resolution, inside)
}

/// Opens (and normalizes) a suite shape.
///
/// # Errors
/// If its file cannot be read.
pub fn open(shape: &SuiteShape, resolution: usize) -> Result<Target, crate::data::DataError> {
    match &shape.source {
        SuiteSource::File { path, index } => Target::open(
            path,
            &OpenOptions {
                resolution,
                index: *index,
                key: None,
            },
        ),
        SuiteSource::Grid(grid) => Ok(Target::Voxels(grid.normalized(resolution))),
    }
}

/// Synthesizes `target` with `config` and reports it as a row.
///
/// # Errors
/// As [`synthesize`].
pub fn run_shape(
    name: &str,
    target: &Target,
    config: &SynthConfig,
    device: &Device,
) -> Result<SuiteRow, SynthError> {
    let outcome = synthesize(target, config, device, &mut |_| {}, &RunControl::default())?;
    let three_d = target.dim() == 3;
    Ok(SuiteRow {
        bench: if three_d {
            "synth-suite"
        } else {
            "synth-suite-images"
        },
        shape: name.to_owned(),
        chamfer_x1000: outcome.chamfer.filter(|_| three_d),
        chamfer_2d_px: outcome.chamfer.filter(|_| !three_d),
        iou: outcome.iou,
        live_lines: outcome.live_lines,
        operators: outcome.program.operator_counts(),
        seconds: outcome.seconds,
        entropy_start: outcome.entropy_start,
        entropy_end: outcome.entropy_end,
        mirror_iou: outcome.symmetry.mirror_iou,
        symmetric: outcome.symmetry.is_symmetric(),
        program: outcome.program.to_string(),
    })
}

/// The summary of 3D rows.
pub fn summarize(rows: &[SuiteRow]) -> SuiteSummary {
    let chamfers: Vec<f64> = rows.iter().filter_map(|r| r.chamfer_x1000).collect();
    let lines: Vec<f64> = rows.iter().map(|r| r.live_lines as f64).collect();
    SuiteSummary {
        bench: "synth-suite-summary",
        shapes: rows.len(),
        median_chamfer_x1000: median(&chamfers),
        worst_chamfer_x1000: chamfers.iter().copied().reduce(f64::max),
        min_iou: rows.iter().filter_map(|r| r.iou).reduce(f64::min),
        median_live_lines: median(&lines),
        max_seconds: rows.iter().map(|r| r.seconds).reduce(f64::max),
    }
}

/// The summary of 2D rows.
pub fn summarize_images(rows: &[SuiteRow]) -> ImagesSummary {
    let mean = |values: Vec<f64>| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    ImagesSummary {
        bench: "synth-suite-images-summary",
        images: rows.len(),
        mean_chamfer_2d_px: mean(rows.iter().filter_map(|r| r.chamfer_2d_px).collect()),
        mean_live_lines: mean(rows.iter().map(|r| r.live_lines as f64).collect()),
    }
}

/// The rows as a Markdown table.
pub fn markdown(rows: &[SuiteRow]) -> String {
    let three_d = rows.iter().any(|r| r.chamfer_x1000.is_some());
    let mut table = format!(
        "| shape | {} | IoU | live lines | ∪ / ∩ / − | mirror IoU | entropy start → end | seconds |\n|---|---|---|---|---|---|---|---|\n",
        if three_d {
            "Chamfer ×1000"
        } else {
            "Chamfer px"
        }
    );
    let number =
        |v: Option<f64>, digits: usize| v.map_or("—".into(), |v| format!("{v:.digits$}"));
    for row in rows {
        let op = |name: &str| row.operators.get(name).copied().unwrap_or(0);
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} / {} / {} | {:.2}{} | {} → {} | {:.1} |\n",
            row.shape,
            number(row.chamfer_x1000.or(row.chamfer_2d_px), 2),
            number(row.iou, 3),
            row.live_lines,
            op("union"),
            op("intersection"),
            op("difference"),
            row.mirror_iou,
            if row.symmetric { " (flip)" } else { "" },
            number(row.entropy_start, 2),
            number(row.entropy_end, 3),
            row.seconds,
        ));
    }
    table
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(0.5 * (sorted[n / 2 - 1] + sorted[n / 2])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_shapes_are_what_they_claim() {
        let chair = thin_chair(64);
        let (lo, hi) = chair.occupied_bounds().unwrap();
        assert_eq!(lo, [0, 0, 0], "the chair sits in the corner");
        assert!(hi.iter().all(|&h| h < 48), "{hi:?}");
        let shifted = shifted_to_far_corner(&chair);
        assert_eq!(shifted.count(), chair.count());
        assert_eq!(shifted.occupied_bounds().unwrap().1, [63; 3]);
        // Both normalize to the same grid.
        assert_eq!(
            shifted.normalized(32).occupied(),
            chair.normalized(32).occupied()
        );
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
