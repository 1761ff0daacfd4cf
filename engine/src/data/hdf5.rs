//! HDF5 datasets as the research peers store them, read by a pure-Rust reader (rust-hdf5:
//! gzip-compressed chunks, no system libhdf5):
//! - IM-NET / BSP-Net 3D: `voxels` `[N, D, D, D, 1]` u8 (axes x, y, z);
//! - BSP-Net 2D: `pixels` `[N, 64, 64, 1]` u8; CSGNet's cad.h5: `train_images`,
//!   `val_images`, `test_images`.

use std::path::Path;

use super::{DataError, VoxelGrid};

/// Elements above which a dataset is refused (4 GiB of u8).
const MAX_ELEMENTS: usize = 1 << 32;

pub(super) fn hdf5_error(err: impl std::fmt::Display) -> DataError {
    DataError::Malformed {
        format: "HDF5",
        message: err.to_string(),
    }
}

/// A u8 dataset: its shape and values in row-major order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct U8Dataset {
    pub shape: Vec<usize>,
    pub values: Vec<u8>,
}

/// Reads the u8 dataset `key` of the HDF5 file at `path`.
///
/// # Errors
/// If the file is not HDF5, lacks `key`, or the dataset is too large or not u8.
pub fn read_u8_dataset(path: &Path, key: &str) -> Result<U8Dataset, DataError> {
    let read = || -> Result<U8Dataset, DataError> {
        let file = rust_hdf5::H5File::open(path).map_err(hdf5_error)?;
        let dataset = file.dataset(key).map_err(hdf5_error)?;
        let shape: Vec<usize> = dataset.shape().to_vec();
        let elements = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .unwrap_or(usize::MAX);
        if elements > MAX_ELEMENTS {
            return Err(DataError::TooLarge {
                what: "HDF5 dataset elements",
                got: elements,
                limit: MAX_ELEMENTS,
            });
        }
        let values = dataset.read_raw::<u8>().map_err(hdf5_error)?;
        if values.len() != elements {
            return Err(hdf5_error(format!(
                "{key}: {} values for shape {shape:?}",
                values.len()
            )));
        }
        Ok(U8Dataset { shape, values })
    };
    read().map_err(|err| err.in_file(path))
}

/// The IM-NET / BSP-Net `voxels` dataset (`[N, D, D, D, 1]`) as `N` grids in the unit cube.
///
/// # Errors
/// As [`read_u8_dataset`], or if the shape is not `[N, D, D, D, 1]`.
pub fn read_voxel_dataset(path: &Path, key: &str) -> Result<Vec<VoxelGrid>, DataError> {
    let dataset = read_u8_dataset(path, key)?;
    let [count, d0, d1, d2, 1] = dataset.shape[..] else {
        return Err(hdf5_error(format!(
            "{key}: shape {:?} is not [N, D, D, D, 1]",
            dataset.shape
        ))
        .in_file(path));
    };
    if d0 != d1 || d1 != d2 || d0 == 0 {
        return Err(hdf5_error(format!("{key}: non-cubic grids {d0}×{d1}×{d2}")).in_file(path));
    }
    let voxels = d0.pow(3);
    Ok((0..count)
        .map(|shape| {
            let mut grid = VoxelGrid::empty(d0);
            for (index, &value) in dataset.values[shape * voxels..(shape + 1) * voxels]
                .iter()
                .enumerate()
            {
                let (x, y, z) = (index / (d0 * d0), (index / d0) % d0, index % d0);
                grid.set([x, y, z], value != 0);
            }
            grid
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_compressed_voxels_round_trip() {
        let grids = [
            crate::data::generate(crate::data::Furniture::Chair, 0, 8),
            crate::data::generate(crate::data::Furniture::Mug, 1, 8),
        ];
        let values: Vec<u8> = grids
            .iter()
            .flat_map(|g| g.occupied().iter().map(|&o| u8::from(o)))
            .collect();
        let dir = std::env::temp_dir().join(format!("roap-hdf5-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("voxels.hdf5");
        {
            let file = rust_hdf5::H5File::create(&path).unwrap();
            let dataset = file
                .new_dataset::<u8>()
                .shape([2usize, 8, 8, 8, 1])
                .chunk(&[1usize, 8, 8, 8, 1])
                .deflate(9)
                .create("voxels")
                .unwrap();
            dataset.write_raw(&values).unwrap();
            file.close().unwrap();
        }
        let back = read_voxel_dataset(&path, "voxels").unwrap();
        assert_eq!(back, grids);
        assert!(read_voxel_dataset(&path, "missing").is_err());
        std::fs::write(dir.join("not.hdf5"), b"not hdf5 at all").unwrap();
        assert!(read_u8_dataset(&dir.join("not.hdf5"), "voxels").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn csgnet_cad_layout_reads_as_images() {
        let dir = std::env::temp_dir().join(format!("roap-cad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cad.h5");
        let pixels: Vec<u8> = (0..3 * 64 * 64)
            .map(|i| u8::from((i / 64) % 64 > 32))
            .collect();
        {
            let file = rust_hdf5::H5File::create(&path).unwrap();
            for key in ["train_images", "val_images", "test_images"] {
                file.new_dataset::<u8>()
                    .shape([3usize, 64, 64])
                    .chunk(&[1usize, 64, 64])
                    .deflate(4)
                    .create(key)
                    .unwrap()
                    .write_raw(&pixels)
                    .unwrap();
            }
            file.close().unwrap();
        }
        for key in ["train_images", "val_images", "test_images"] {
            let dataset = read_u8_dataset(&path, key).unwrap();
            let image = crate::data::image_of_dataset(&dataset, 2).unwrap();
            assert_eq!((image.width, image.height), (64, 64));
            assert_eq!(image.occupied.iter().filter(|&&o| o).count(), 31 * 64);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
