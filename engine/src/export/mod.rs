//! Shapes out: isosurface meshes of occupancy grids or functions, written as OBJ, STL or PLY.

mod closed_surface;
mod mesh;
mod simplify;

pub use closed_surface::{closed_isosurface_of_box, is_closed_and_oriented};
pub use mesh::{
    ColoredPart, MeshFormat, isosurface_of_box, isosurface_of_fn, isosurface_of_grid, write_mesh,
    write_parts,
};
pub use simplify::{Triangles, fit_to_surface, self_intersects, simplify_closed, simplify_for_csg};

/// What can go wrong writing results.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("nothing to write: {0}")]
    Empty(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes `bytes` to `path` so that `path` never holds a partial file: into a temporary
/// file beside it first, flushed to disk, then renamed over it. On failure (a full disk,
/// say) the temporary file is removed and whatever `path` held before is untouched.
///
/// # Errors
/// If the folder cannot be written or the rename fails.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let file_name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the output path has no file name",
        )
    })?;
    let temporary = path.with_file_name(format!(".{}.partial", file_name.to_string_lossy()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, path));
    if renamed.is_err() {
        // Best effort: the error being returned matters more than a leftover temporary.
        let _ = std::fs::remove_file(&temporary);
    }
    renamed
}

#[cfg(test)]
mod tests {
    #[test]
    fn atomic_write_replaces_and_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("roap_atomic_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.txt");
        super::write_atomically(&path, b"first").unwrap();
        super::write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // A folder that does not exist: an error, no panic.
        assert!(super::write_atomically(&dir.join("missing/out.txt"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
