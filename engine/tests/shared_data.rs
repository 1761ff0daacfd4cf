//! Real files from ../shared/data (not part of a fresh clone: each test says so and skips).

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use std::path::PathBuf;

use roap_engine::data::read_shape;
use roap_engine::metrics;

fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is absent (../shared/data is not part of the repository)",
            path.display()
        );
        None
    }
}

#[test]
fn binvox_files_load_with_their_frames() {
    for (file, resolution) in [
        ("binvox/chair.binvox", 32),
        ("binvox/8a85.binvox", 32),
        ("shapenet/model_normalized.solid.binvox", 128),
        ("shapenet/model_normalized.surface.binvox", 128),
    ] {
        let Some(path) = shared(file) else { return };
        let grid = read_shape(&path).unwrap();
        assert_eq!(grid.resolution(), resolution, "{file}");
        let count = grid.count();
        assert!(
            count > 0 && count < resolution.pow(3),
            "{file}: {count} voxels occupied"
        );
        assert!(grid.scale > 0.0);
    }
}

#[test]
fn solid_shapenet_chair_contains_its_surface() {
    let (Some(solid), Some(surface)) = (
        shared("shapenet/model_normalized.solid.binvox"),
        shared("shapenet/model_normalized.surface.binvox"),
    ) else {
        return;
    };
    let solid = read_shape(&solid).unwrap();
    let surface = read_shape(&surface).unwrap();
    // Every surface voxel is inside the solid, and the solid has more voxels.
    let outside = surface
        .occupied()
        .iter()
        .zip(solid.occupied())
        .filter(|(s, o)| **s && !**o)
        .count();
    assert_eq!(outside, 0);
    assert!(solid.count() > surface.count());
    let iou = metrics::iou(&solid, &surface).unwrap();
    assert!(iou < 1.0 && iou > 0.0);
    let chamfer = metrics::chamfer_x1000(&solid, &surface, 0).unwrap();
    assert!(chamfer.is_finite() && chamfer < 5.0, "{chamfer}");
}
