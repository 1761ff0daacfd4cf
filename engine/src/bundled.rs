//! What ships with roap: the sample shapes, a Fashion-MNIST sample and the pretrained
//! completion policy. A binary finds them on disk — under `$ROAP_DATA`, the current folder,
//! `../share/roap` from the executable, beside it, or the platform's data folder (`roap`
//! under [`dirs::data_dir`]). All three are also compiled in: where no folder holds them,
//! [`locate`] writes them to the data folder, so a binary copied anywhere alone still opens
//! a sample, completes it, and trains on Fashion-MNIST.

use std::path::{Path, PathBuf};

/// The pretrained completion policy's folder, relative to a data root.
pub const CHECKPOINT: &str = "assets/checkpoints/procedural";
/// The sample shapes' folder, relative to a data root.
pub const SHAPES: &str = "samples/shapes";
/// The Fashion-MNIST sample's folder (IDX files), relative to a data root.
pub const FASHION_MNIST: &str = "samples/fashion-mnist";

/// A file compiled into the binary.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddedFile {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! embedded {
    ($folder:literal, $name:literal) => {
        EmbeddedFile {
            name: $name,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../",
                $folder,
                "/",
                $name
            )),
        }
    };
}

/// The sample shapes, as compiled in.
pub const EMBEDDED_SHAPES: [EmbeddedFile; 5] = [
    embedded!("samples/shapes", "chair.binvox"),
    embedded!("samples/shapes", "lamp.binvox"),
    embedded!("samples/shapes", "mug.binvox"),
    embedded!("samples/shapes", "shelf.binvox"),
    embedded!("samples/shapes", "table.binvox"),
];

/// The Fashion-MNIST sample (IDX files; MIT licence, see its README), as compiled in.
pub const EMBEDDED_FASHION_MNIST: [EmbeddedFile; 5] = [
    embedded!("samples/fashion-mnist", "README.md"),
    embedded!("samples/fashion-mnist", "train-images-idx3-ubyte.gz"),
    embedded!("samples/fashion-mnist", "train-labels-idx1-ubyte.gz"),
    embedded!("samples/fashion-mnist", "t10k-images-idx3-ubyte.gz"),
    embedded!("samples/fashion-mnist", "t10k-labels-idx1-ubyte.gz"),
];

/// The completion policy's `config.json` and `policy.bpk`, as compiled in (its
/// `baseline.bpk`, used only by `roap eval`, is not).
pub const EMBEDDED_POLICY: [EmbeddedFile; 2] = [
    embedded!("assets/checkpoints/procedural", "config.json"),
    embedded!("assets/checkpoints/procedural", "policy.bpk"),
];

/// The folders searched for bundled files, in order.
pub fn roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(dir) = std::env::var_os("ROAP_DATA") {
        roots.push(PathBuf::from(dir));
    }
    if let Ok(dir) = std::env::current_dir() {
        roots.push(dir);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        roots.push(dir.join("../share/roap"));
        roots.push(dir);
    }
    if let Some(dir) = dirs::data_dir() {
        roots.push(dir.join("roap"));
    }
    roots
}

/// The first `root/relative` of [`roots`] that exists (and, for a folder that is also
/// compiled in, holds every file of it).
pub fn find(relative: &str) -> Option<PathBuf> {
    let embedded = embedded(relative);
    roots()
        .into_iter()
        .map(|root| root.join(relative))
        .find(|path| path.exists() && embedded.iter().all(|f| path.join(f.name).is_file()))
}

/// `relative` on disk: where [`find`] finds it, else written from the copy compiled in to
/// the platform's data folder (or, if that cannot be written, the temporary folder), where
/// `find` finds it next time.
///
/// # Errors
/// If no folder holds `relative` and it is not compiled in, or it cannot be written.
pub fn locate(relative: &str) -> std::io::Result<PathBuf> {
    if let Some(path) = find(relative) {
        return Ok(path);
    }
    let files = embedded(relative);
    if files.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "{relative} is not in the current folder, beside the executable or in the data \
                 folder; set ROAP_DATA to a folder that holds it"
            ),
        ));
    }
    let targets = dirs::data_dir()
        .map(|dir| dir.join("roap"))
        .into_iter()
        .chain([std::env::temp_dir().join("roap")]);
    let mut failure = None;
    for root in targets {
        let folder = root.join(relative);
        let written = std::fs::create_dir_all(&folder).and_then(|()| {
            files
                .iter()
                .try_for_each(|f| crate::export::write_atomically(&folder.join(f.name), f.bytes))
        });
        match written {
            Ok(()) => return Ok(folder),
            Err(e) => failure = Some(e),
        }
    }
    Err(failure.unwrap_or_else(|| std::io::Error::other("nowhere to write")))
}

/// The files of `relative` compiled in (none for a folder that is not).
fn embedded(relative: &str) -> &'static [EmbeddedFile] {
    match relative {
        SHAPES => &EMBEDDED_SHAPES,
        FASHION_MNIST => &EMBEDDED_FASHION_MNIST,
        CHECKPOINT => &EMBEDDED_POLICY,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_files_are_the_bundled_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in EMBEDDED_SHAPES {
            let on_disk = std::fs::read(root.join(SHAPES).join(file.name)).unwrap_or_default();
            assert_eq!(on_disk, file.bytes, "{}", file.name);
        }
        for file in EMBEDDED_POLICY {
            let on_disk = std::fs::read(root.join(CHECKPOINT).join(file.name)).unwrap_or_default();
            assert_eq!(on_disk, file.bytes, "{}", file.name);
        }
        for file in EMBEDDED_FASHION_MNIST {
            let path = root.join(FASHION_MNIST).join(file.name);
            assert_eq!(
                std::fs::read(path).unwrap_or_default(),
                file.bytes,
                "{}",
                file.name
            );
        }
    }
}
