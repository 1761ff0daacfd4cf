//! The files every checkpoint is made of: JSON settings and burn records, written so that a
//! kill at any moment leaves the old file or the new one (never part of one), and read so
//! that a broken or hostile file is an error, not a panic or a giant allocation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Json { path: PathBuf, message: String },
    #[error("{}: not a record of this model: {message}", path.display())]
    Record { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl CheckpointError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Largest checkpoint file read (records of the models here are a few MB).
const MAX_FILE_BYTES: u64 = 1 << 30;

/// `Ok` if `value` lies in `lo..=hi`; else the setting named `what` in words (bounds on
/// what a checkpoint's settings may ask for, checked before anything is built from them).
///
/// # Errors
/// A value out of bounds.
pub fn within(what: &str, value: usize, lo: usize, hi: usize) -> Result<(), String> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("{what} is {value}, outside {lo}..={hi}"))
    }
}

/// Creates `dir` if needed.
///
/// # Errors
/// If it cannot be created.
pub fn create_dir(dir: &Path) -> Result<(), CheckpointError> {
    std::fs::create_dir_all(dir).map_err(|e| CheckpointError::io(dir, e))
}

/// Writes `value` as pretty JSON to `path`, atomically.
///
/// # Errors
/// If the file cannot be written.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), CheckpointError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CheckpointError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    crate::export::write_atomically(path, text.as_bytes()).map_err(|e| CheckpointError::io(path, e))
}

/// Reads the file at `path`, refusing one larger than a checkpoint can be.
///
/// # Errors
/// A missing, unreadable or oversized file.
pub fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let size = std::fs::metadata(path)
        .map_err(|e| CheckpointError::io(path, e))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(CheckpointError::Invalid {
            path: path.to_path_buf(),
            message: format!("{size} bytes, above the limit of {MAX_FILE_BYTES}"),
        });
    }
    std::fs::read(path).map_err(|e| CheckpointError::io(path, e))
}

/// Parses JSON settings read from `path`.
///
/// # Errors
/// Text that is not the expected JSON.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
) -> Result<T, CheckpointError> {
    serde_json::from_slice(bytes).map_err(|e| CheckpointError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes the module's parameters to `path` as a burn record, atomically.
///
/// # Errors
/// If the record cannot be encoded or written.
pub fn save_module<M: Module>(module: M, path: &Path) -> Result<(), CheckpointError> {
    let bytes = module
        .into_record()
        .into_bytes()
        .map_err(|e| CheckpointError::Record {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    crate::export::write_atomically(path, &bytes).map_err(|e| CheckpointError::io(path, e))
}

/// Loads the record `bytes` (read from `path`) into `module`, which must have the shape the
/// record was saved from.
///
/// # Errors
/// A record that is malformed or belongs to another model.
pub fn load_module<M: Module>(
    module: M,
    path: &Path,
    bytes: Vec<u8>,
) -> Result<M, CheckpointError> {
    let record_error = |message: String| CheckpointError::Record {
        path: path.to_path_buf(),
        message,
    };
    // burn panics on a record whose tensor types differ from the module's, so the record's
    // table of tensors (names, types, shapes) is compared with the module's own first.
    let expected = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| record_error(e.to_string()))
        .and_then(|own| tensor_table(own).map_err(record_error))?;
    let found = tensor_table(Bytes::from_bytes_vec(bytes.clone())).map_err(record_error)?;
    if found != expected {
        return Err(record_error(
            "its tensors' names, types or shapes differ from this model's".into(),
        ));
    }
    ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .and_then(|record| module.try_load_record(record))
        .map_err(|e| record_error(e.to_string()))
}

/// Every tensor of a burnpack record: name → (type, shape).
fn tensor_table(
    bytes: Bytes,
) -> Result<BTreeMap<String, (burn::tensor::DType, Vec<usize>)>, String> {
    let tensors = burn_pack::Reader::from_bytes(bytes)
        .and_then(burn_pack::Reader::into_tensors)
        .map_err(|e| e.to_string())?;
    Ok(tensors
        .into_iter()
        .map(|t| (t.name.clone(), (t.dtype, t.shape.to_vec())))
        .collect())
}
