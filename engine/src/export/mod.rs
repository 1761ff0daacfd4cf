//! Shapes out: isosurface meshes of occupancy grids or functions, written as OBJ, STL or PLY.

mod mesh;

pub use mesh::{
    ColoredPart, MeshFormat, isosurface_of_fn, isosurface_of_grid, write_mesh, write_parts,
};

/// What can go wrong writing results.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("nothing to write: {0}")]
    Empty(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
