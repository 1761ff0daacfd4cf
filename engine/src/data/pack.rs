//! Packing many shapes into one training set in IM-NET's HDF5 layout, so the peers' tools
//! read it too: `voxels [N, D, D, D, 1]`, `points_D [N, K, 3]` (u8 indices in a 256³ grid,
//! model coordinates `(p + 0.5) / 256 − 0.5`) and `values_D [N, K, 1]` (u8 in {0, 1}).

use std::path::Path;

use super::hdf5::hdf5_error;
use super::{DataError, VoxelGrid, sample_points};

/// `grid` at `resolution³`, nearest-voxel resampled in the normalized frame.
pub fn resample(grid: &VoxelGrid, resolution: usize) -> VoxelGrid {
    if grid.resolution() == resolution {
        return grid.clone();
    }
    let mut resampled = VoxelGrid::from_fn(resolution, |p| grid.occupied_at(p));
    resampled.translate = grid.translate;
    resampled.scale = grid.scale;
    resampled
}

/// Writes `grids` (resampled to `resolution³`) and `points` labelled samples of each to an
/// HDF5 file at `path` (gzip-compressed, one chunk per shape). `progress` hears each shape.
///
/// # Errors
/// If the file cannot be written.
pub fn write_training_set(
    path: &Path,
    grids: &[VoxelGrid],
    resolution: usize,
    points: usize,
    seed: u64,
    progress: &dyn Fn(usize),
) -> Result<(), DataError> {
    let count = grids.len();
    let voxels_per_shape = resolution.pow(3);
    let mut voxels = Vec::with_capacity(count * voxels_per_shape);
    let mut point_bytes = Vec::with_capacity(count * points * 3);
    let mut values = Vec::with_capacity(count * points);
    for (index, grid) in grids.iter().enumerate() {
        let grid = resample(grid, resolution);
        voxels.extend(grid.occupied().iter().map(|&o| u8::from(o)));
        let samples = sample_points(&grid, points, seed.wrapping_add(index as u64));
        for p in &samples.points {
            // Quantise to the 256³ lattice, then label the lattice point itself so labels
            // and stored coordinates agree exactly.
            let q = p.map(|c| ((c + 0.5) * 256.0 - 0.5).round().clamp(0.0, 255.0) as u8);
            point_bytes.extend_from_slice(&q);
            let decoded = q.map(|v| (f32::from(v) + 0.5) / 256.0 - 0.5);
            values.push(u8::from(grid.occupied_at(decoded)));
        }
        progress(index + 1);
    }
    let write = || -> Result<(), rust_hdf5::Hdf5Error> {
        let file = rust_hdf5::H5File::create(path)?;
        let r = resolution;
        file.new_dataset::<u8>()
            .shape([count, r, r, r, 1])
            .chunk(&[1, r, r, r, 1])
            .deflate(6)
            .create("voxels")?
            .write_raw(&voxels)?;
        file.new_dataset::<u8>()
            .shape([count, points, 3])
            .chunk(&[1, points, 3])
            .deflate(6)
            .create(&format!("points_{r}"))?
            .write_raw(&point_bytes)?;
        file.new_dataset::<u8>()
            .shape([count, points, 1])
            .chunk(&[1, points, 1])
            .deflate(6)
            .create(&format!("values_{r}"))?
            .write_raw(&values)?;
        file.close()
    };
    write().map_err(|err| hdf5_error(err).in_file(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Furniture, generate, read_u8_dataset, read_voxel_dataset};

    #[test]
    fn packed_sets_read_back_in_the_im_net_layout() {
        let grids = vec![
            generate(Furniture::Table, 0, 16),
            generate(Furniture::Lamp, 0, 32),
        ];
        let dir = std::env::temp_dir().join(format!("roap-pack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("set.hdf5");
        write_training_set(&path, &grids, 16, 512, 0, &|_| {}).unwrap();
        let voxels = read_voxel_dataset(&path, "voxels").unwrap();
        assert_eq!(voxels[0], grids[0]);
        assert_eq!(voxels[1].resolution(), 16);
        let points = read_u8_dataset(&path, "points_16").unwrap();
        let values = read_u8_dataset(&path, "values_16").unwrap();
        assert_eq!(points.shape, vec![2, 512, 3]);
        assert_eq!(values.shape, vec![2, 512, 1]);
        for (p, &v) in points.values[..512 * 3]
            .chunks(3)
            .zip(&values.values[..512])
        {
            let decoded = [p[0], p[1], p[2]].map(|q| (f32::from(q) + 0.5) / 256.0 - 0.5);
            assert_eq!(v == 1, voxels[0].occupied_at(decoded));
        }
        assert!(values.values.contains(&1) && values.values.contains(&0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
