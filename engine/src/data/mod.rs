//! Shapes in: voxel grids and the file formats that carry them.

mod binvox;
mod voxels;

pub use binvox::{read_binvox, write_binvox};
pub use voxels::VoxelGrid;

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

/// Reads a shape file by extension (`.binvox` today; meshes and HDF5 follow).
///
/// # Errors
/// If the file cannot be read, its extension is unknown, or its content is malformed.
pub fn read_shape(path: &std::path::Path) -> Result<VoxelGrid, DataError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let result = match extension.as_str() {
        "binvox" => std::fs::read(path)
            .map_err(DataError::from)
            .and_then(|bytes| read_binvox(&bytes)),
        other => Err(DataError::Unsupported {
            format: "shape",
            message: format!("unknown extension {other:?} (supported: .binvox)"),
        }),
    };
    result.map_err(|err| err.in_file(path))
}
