//! Real files from ../shared/data (not part of a fresh clone: each test says so and skips).

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use std::path::PathBuf;

use roap_engine::data::read_shape;
use roap_engine::metrics;

fn shared(relative: &str) -> Option<PathBuf> {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("tests run under cargo"),
    )
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
        let grid = read_shape(&path, 64).unwrap();
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
    let solid = read_shape(&solid, 64).unwrap();
    let surface = read_shape(&surface, 64).unwrap();
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

/// Meshes voxelize into solids: the interior is filled, not just a shell.
#[test]
fn meshes_voxelize_into_solids() {
    use roap_engine::data::{read_mesh, voxelize};
    for (file, min_fill) in [
        ("meshes/teapot.obj", 0.05),
        ("meshes/cow.obj", 0.02),
        ("meshes/fandisk.obj", 0.05),
        ("meshes/suzanne.obj", 0.05),
        ("shapenet/model_normalized.obj", 0.01),
    ] {
        let Some(path) = shared(file) else { return };
        let mesh = read_mesh(&path).unwrap();
        let grid = voxelize(&mesh, 24).unwrap();
        let r = grid.resolution();
        let fill = grid.count() as f64 / r.pow(3) as f64;
        // Voxels whose six neighbours are all solid: a hollow shell has almost none.
        let mut interior = 0;
        for x in 1..r - 1 {
            for y in 1..r - 1 {
                for z in 1..r - 1 {
                    let all = [
                        [x + 1, y, z],
                        [x - 1, y, z],
                        [x, y + 1, z],
                        [x, y - 1, z],
                        [x, y, z + 1],
                        [x, y, z - 1],
                    ]
                    .iter()
                    .all(|&n| grid.get(n));
                    interior += usize::from(grid.get([x, y, z]) && all);
                }
            }
        }
        eprintln!(
            "{file}: fill {fill:.3}, {interior} interior voxels of {}",
            grid.count()
        );
        assert!(fill > min_fill && fill < 0.9, "{file}: fill {fill}");
        assert!(
            interior * 5 > grid.count() / 4,
            "{file}: looks hollow ({interior} interior of {})",
            grid.count()
        );
    }
}

#[test]
fn shapenet_binvox_and_its_mesh_agree() {
    let (Some(binvox), Some(mesh)) = (
        shared("shapenet/model_normalized.solid.binvox"),
        shared("shapenet/model_normalized.obj"),
    ) else {
        return;
    };
    let solid = read_shape(&binvox, 64).unwrap();
    let voxelized = read_shape(&mesh, 32).unwrap();
    let chamfer = metrics::chamfer_x1000(&solid, &voxelized, 0).unwrap();
    eprintln!("chamfer ×1000, 128³ binvox vs OBJ voxelized at 32³: {chamfer:.3}");
    assert!(chamfer < 2.0, "{chamfer}");
}

#[test]
fn bsp_net_2d_images_load() {
    let Some(path) = shared("images2d/bsp2d_complex_elements.hdf5") else {
        return;
    };
    let images = roap_engine::data::read_u8_dataset(&path, "pixels").unwrap();
    assert_eq!(images.shape, vec![2000, 64, 64, 1]);
    let filled =
        images.values.iter().filter(|&&v| v != 0).count() as f64 / images.values.len() as f64;
    assert!(filled > 0.05 && filled < 0.6, "{filled}");
}

#[test]
fn bsp_net_2d_images_compare_by_chamfer() {
    let Some(path) = shared("images2d/bsp2d_complex_elements.hdf5") else {
        return;
    };
    let images = roap_engine::data::read_u8_dataset(&path, "pixels").unwrap();
    let first = roap_engine::data::image_of_dataset(&images, 0).unwrap();
    let second = roap_engine::data::image_of_dataset(&images, 1).unwrap();
    assert_eq!((first.width, first.height), (64, 64));
    assert_eq!(metrics::chamfer_2d(&first, &first), Some(0.0));
    let between = metrics::chamfer_2d(&first, &second).unwrap();
    assert!(between > 0.0 && between < 16.0, "{between}");
    assert!(roap_engine::data::image_of_dataset(&images, 2000).is_none());
}
