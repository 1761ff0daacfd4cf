//! Shapes in: voxel grids and the file formats that carry them.

mod binvox;
mod crop;
mod hdf5;
mod image2d;
mod mesh;
mod normalize;
mod pack;
mod procedural;
mod sampling;
mod voxelize;
mod voxels;
mod winding;

pub use binvox::{read_binvox, write_binvox};
pub use crop::Crop;
pub use hdf5::{U8Dataset, read_u8_dataset, read_voxel_dataset};
pub use image2d::{PixelGrid, image_of_dataset, read_png};
pub use mesh::{TriangleMesh, read_obj, read_off, read_ply, read_stl};
pub use normalize::NORMALIZE_MARGIN_VOXELS;
pub use pack::{resample, write_training_set};
pub use procedural::{Furniture, generate, generate_varied};
pub use sampling::{DEFAULT_SAMPLE_POINTS, PointSamples, sample_points};
pub use voxelize::{
    MAX_VOXELIZE_RESOLUTION, voxelize, voxelize_normalized, voxelize_with_progress,
};
pub use voxels::VoxelGrid;
pub use winding::FastWinding;

/// What can go wrong reading or writing shape data. Paths come last in messages.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("malformed {format} data: {message}")]
    Malformed {
        format: &'static str,
        message: String,
    },
    #[error("{what} is {got}, above the limit of {limit}")]
    TooLarge {
        what: &'static str,
        got: usize,
        limit: usize,
    },
    #[error("unsupported {format} file: {message}")]
    Unsupported {
        format: &'static str,
        message: String,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{error}: {}", path.display())]
    File {
        error: Box<DataError>,
        path: std::path::PathBuf,
    },
}

impl DataError {
    /// Attaches the file the error came from.
    pub fn in_file(self, path: &std::path::Path) -> Self {
        Self::File {
            error: Box::new(self),
            path: path.to_owned(),
        }
    }
}

/// Largest shape file read (1 GiB): a bigger one is refused before it is read.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads a whole shape file, refusing folders and files above [`MAX_FILE_BYTES`] before
/// reading a byte.
///
/// # Errors
/// A missing, unreadable or oversized file, or a folder.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, DataError> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_dir() {
        return Err(DataError::Unsupported {
            format: "shape",
            message: "this is a folder, not a file".into(),
        });
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(DataError::TooLarge {
            what: "file size in bytes",
            got: usize::try_from(metadata.len()).unwrap_or(usize::MAX),
            limit: MAX_FILE_BYTES as usize,
        });
    }
    Ok(std::fs::read(path)?)
}

/// Resolution meshes are voxelized at unless asked otherwise (IM-NET's 64³).
pub const DEFAULT_RESOLUTION: usize = 64;

/// Reads a mesh file (`.obj`, `.off`, `.stl`, `.ply`) by extension.
///
/// # Errors
/// If the file cannot be read, its extension is unknown, or its content is malformed.
pub fn read_mesh(path: &std::path::Path) -> Result<TriangleMesh, DataError> {
    let read = || -> Result<TriangleMesh, DataError> {
        let bytes = read_file(path)?;
        match extension_of(path).as_str() {
            "obj" => read_obj(&bytes),
            "off" => read_off(&bytes),
            "stl" => read_stl(&bytes),
            "ply" => read_ply(&bytes),
            other => Err(DataError::Unsupported {
                format: "mesh",
                message: format!("unknown extension {other:?} (supported: .obj .off .stl .ply)"),
            }),
        }
    };
    read().map_err(|err| err.in_file(path))
}

/// Reads a shape as a voxel grid: `.binvox` as stored, meshes voxelized at `resolution` in
/// the normalized frame ([`voxelize_normalized`]).
///
/// # Errors
/// If the file cannot be read, its extension is unknown, or its content is malformed.
pub fn read_shape(path: &std::path::Path, resolution: usize) -> Result<VoxelGrid, DataError> {
    match extension_of(path).as_str() {
        "binvox" => read_file(path)
            .and_then(|bytes| read_binvox(&bytes))
            .map_err(|err| err.in_file(path)),
        "obj" | "off" | "stl" | "ply" => {
            voxelize_normalized(&read_mesh(path)?, resolution, &|_| {})
                .map_err(|err| err.in_file(path))
        }
        other => Err(DataError::Unsupported {
            format: "shape",
            message: format!(
                "unknown extension {other:?} (supported: .binvox .obj .off .stl .ply)"
            ),
        }
        .in_file(path)),
    }
}

fn extension_of(path: &std::path::Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}
