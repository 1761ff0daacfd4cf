//! Labelled image sets: MNIST / Fashion-MNIST IDX files (optionally gzipped) and CIFAR-10's
//! binary batches. Pixels become `f32` in [0, 1], channel-major.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::data::DataError;

/// Images of one size with a class label (0–9) each.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// `[N, C, H, W]`, row-major.
    pub pixels: Vec<f32>,
    pub labels: Vec<u8>,
}

/// Refuse files that claim more than this many images (a corrupt header, not a dataset).
const MAX_IMAGES: usize = 2_000_000;

impl ImageSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image_size(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let size = self.image_size();
        &self.pixels[i * size..(i + 1) * size]
    }

    /// Appends image `i` moved by `[dy, dx]` pixels (down, right) to `pixels`, the uncovered
    /// border black: a translated copy for data augmentation.
    pub fn push_shifted(&self, i: usize, [dy, dx]: [isize; 2], pixels: &mut Vec<f32>) {
        let image = self.image(i);
        let (h, w) = (self.height as isize, self.width as isize);
        for channel in image.chunks_exact(self.height * self.width) {
            for y in 0..h {
                let source_y = y - dy;
                for x in 0..w {
                    let source_x = x - dx;
                    let inside = (0..h).contains(&source_y) && (0..w).contains(&source_x);
                    pixels.push(if inside {
                        channel[(source_y * w + source_x) as usize]
                    } else {
                        0.0
                    });
                }
            }
        }
    }

    /// The first `count` images of each label in turn until `count` are taken, so a small
    /// subset keeps every class.
    pub fn balanced_subset(&self, count: usize) -> Self {
        let mut per_label = [0usize; 256];
        let quota = count.div_ceil(10).max(1);
        let mut chosen = Vec::new();
        for (i, &label) in self.labels.iter().enumerate() {
            if chosen.len() == count {
                break;
            }
            if per_label[label as usize] < quota {
                per_label[label as usize] += 1;
                chosen.push(i);
            }
        }
        self.select(&chosen)
    }

    pub fn select(&self, indices: &[usize]) -> Self {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_size());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        Self {
            channels: self.channels,
            height: self.height,
            width: self.width,
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

fn malformed(message: impl Into<String>) -> DataError {
    DataError::Malformed {
        format: "IDX",
        message: message.into(),
    }
}

/// The bytes of `path`, gunzipped when they start with gzip's magic number.
fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::from(e).in_file(path))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| DataError::from(e).in_file(path))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Parses an IDX file of unsigned bytes: magic `0x00 0x00 0x08 D`, D big-endian u32
/// dimensions, then the data.
fn parse_idx(bytes: &[u8]) -> Result<(Vec<usize>, &[u8]), DataError> {
    let [0, 0, 0x08, rank, ..] = *bytes else {
        return Err(malformed("not an IDX file of unsigned bytes"));
    };
    let rank = rank as usize;
    let header = 4 + 4 * rank;
    let dims: Vec<usize> = bytes
        .get(4..header)
        .ok_or_else(|| malformed("header cut short"))?
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if dims.first().is_some_and(|&n| n > MAX_IMAGES) {
        return Err(DataError::TooLarge {
            what: "IDX item count",
            got: dims[0],
            limit: MAX_IMAGES,
        });
    }
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| malformed("dimensions overflow"))?;
    let data = bytes
        .get(header..header + count)
        .ok_or_else(|| malformed(format!("{count} values announced, fewer present")))?;
    Ok((dims, data))
}

/// Reads an MNIST-style pair: `images` (IDX, `[N, H, W]`) and `labels` (IDX, `[N]`).
///
/// # Errors
/// Unreadable or malformed files, or counts that disagree.
pub fn read_idx_pair(images: &Path, labels: &Path) -> Result<ImageSet, DataError> {
    let image_bytes = read_maybe_gzipped(images)?;
    let label_bytes = read_maybe_gzipped(labels)?;
    let (image_dims, pixels) = parse_idx(&image_bytes).map_err(|e| e.in_file(images))?;
    let (label_dims, label_data) = parse_idx(&label_bytes).map_err(|e| e.in_file(labels))?;
    let [count, height, width] = image_dims[..] else {
        return Err(malformed(format!(
            "images have dimensions {image_dims:?}, not [N, H, W]"
        ))
        .in_file(images));
    };
    if label_dims[..] != [count] {
        return Err(
            malformed(format!("{count} images but labels of shape {label_dims:?}")).in_file(labels),
        );
    }
    if let Some(bad) = label_data.iter().find(|&&l| l > 9) {
        return Err(malformed(format!("label {bad} is not a digit class 0–9")).in_file(labels));
    }
    Ok(ImageSet {
        channels: 1,
        height,
        width,
        pixels: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        labels: label_data.to_vec(),
    })
}

/// A train and a test set.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
    pub train: ImageSet,
    pub test: ImageSet,
}

/// Reads a dataset folder by what it holds: MNIST / Fashion-MNIST IDX files
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-…`) or CIFAR-10's
/// binary batches (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`).
///
/// # Errors
/// A folder holding neither, or malformed files.
pub fn read_dataset(folder: &Path) -> Result<Dataset, DataError> {
    let find = |stem: &str| -> Option<PathBuf> {
        [stem.to_owned(), format!("{stem}.gz")]
            .iter()
            .map(|name| folder.join(name))
            .find(|p| p.exists())
    };
    let name = folder
        .file_name()
        .map_or_else(|| "dataset".into(), |n| n.to_string_lossy().into_owned());
    if let (Some(train_images), Some(train_labels), Some(test_images), Some(test_labels)) = (
        find("train-images-idx3-ubyte"),
        find("train-labels-idx1-ubyte"),
        find("t10k-images-idx3-ubyte"),
        find("t10k-labels-idx1-ubyte"),
    ) {
        return Ok(Dataset {
            name,
            train: read_idx_pair(&train_images, &train_labels)?,
            test: read_idx_pair(&test_images, &test_labels)?,
        });
    }
    let batches: Vec<PathBuf> = (1..=5)
        .map(|i| folder.join(format!("data_batch_{i}.bin")))
        .filter(|p| p.exists())
        .collect();
    let test = folder.join("test_batch.bin");
    if !batches.is_empty() && test.exists() {
        return Ok(Dataset {
            name,
            train: read_cifar_batches(&batches)?,
            test: read_cifar_batches(&[test])?,
        });
    }
    Err(DataError::Unsupported {
        format: "image dataset",
        message: format!(
            "{} holds neither MNIST-style IDX files (train-images-idx3-ubyte[.gz], …) nor CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin)",
            folder.display()
        ),
    })
}

/// CIFAR-10 binary records: one label byte, then 3 × 32 × 32 channel-major pixels.
///
/// # Errors
/// Unreadable files or a length that is not a whole number of records.
pub fn read_cifar_batches(paths: &[PathBuf]) -> Result<ImageSet, DataError> {
    const RECORD: usize = 1 + 3 * 32 * 32;
    let mut set = ImageSet {
        channels: 3,
        height: 32,
        width: 32,
        pixels: Vec::new(),
        labels: Vec::new(),
    };
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| DataError::from(e).in_file(path))?;
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            return Err(DataError::Malformed {
                format: "CIFAR-10 binary",
                message: format!(
                    "{} bytes is not a whole number of {RECORD}-byte records",
                    bytes.len()
                ),
            }
            .in_file(path));
        }
        for record in bytes.chunks_exact(RECORD) {
            if record[0] > 9 {
                return Err(DataError::Malformed {
                    format: "CIFAR-10 binary",
                    message: format!("label {} is not a class 0–9", record[0]),
                }
                .in_file(path));
            }
            set.labels.push(record[0]);
            set.pixels
                .extend(record[1..].iter().map(|&p| f32::from(p) / 255.0));
        }
    }
    Ok(set)
}

/// Writes an IDX file of unsigned bytes (gzipped): `dims` then `data`. Used to cut the
/// bundled subset; also lets tests make files.
pub fn write_idx_gz(dims: &[usize], data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut raw = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        raw.extend_from_slice(&(d as u32).to_be_bytes());
    }
    raw.extend_from_slice(data);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(&raw);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idx_round_trip_and_bad_files() {
        let dir = std::env::temp_dir().join(format!("roap_idx_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let images: Vec<u8> = (0..2 * 3 * 2).map(|i| i as u8 * 20).collect();
        std::fs::write(dir.join("i.gz"), write_idx_gz(&[2, 3, 2], &images)).unwrap();
        std::fs::write(dir.join("l.gz"), write_idx_gz(&[2], &[7, 1])).unwrap();
        let set = read_idx_pair(&dir.join("i.gz"), &dir.join("l.gz")).unwrap();
        assert_eq!(
            (set.len(), set.height, set.width, set.channels),
            (2, 3, 2, 1)
        );
        assert_eq!(set.labels, vec![7, 1]);
        assert!((set.image(1)[0] - 120.0 / 255.0).abs() < 1e-6);
        // Counts that disagree, truncated data, a non-IDX file, a label that is no digit.
        std::fs::write(dir.join("l3.gz"), write_idx_gz(&[3], &[1, 2, 3])).unwrap();
        assert!(read_idx_pair(&dir.join("i.gz"), &dir.join("l3.gz")).is_err());
        std::fs::write(dir.join("cut"), &write_idx_gz(&[2, 3, 2], &images)[..20]).unwrap();
        assert!(read_idx_pair(&dir.join("cut"), &dir.join("l.gz")).is_err());
        std::fs::write(dir.join("junk"), b"hello").unwrap();
        assert!(read_idx_pair(&dir.join("junk"), &dir.join("l.gz")).is_err());
        std::fs::write(dir.join("l12.gz"), write_idx_gz(&[2], &[12, 1])).unwrap();
        assert!(read_idx_pair(&dir.join("i.gz"), &dir.join("l12.gz")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shifted_images_move_and_fill_black() {
        // Two channels of 2 × 3: values 1..=6 and 7..=12.
        let set = ImageSet {
            channels: 2,
            height: 2,
            width: 3,
            pixels: (1..=12).map(|v| v as f32).collect(),
            labels: vec![0],
        };
        let shifted = |offset| {
            let mut pixels = Vec::new();
            set.push_shifted(0, offset, &mut pixels);
            pixels
        };
        assert_eq!(shifted([0, 0]), set.image(0));
        let down_left = [0., 0., 0., 2., 3., 0., 0., 0., 0., 8., 9., 0.];
        assert_eq!(shifted([1, -1]), down_left);
        assert!(shifted([2, 0]).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn cifar_records_and_bad_lengths() {
        let dir = std::env::temp_dir().join(format!("roap_cifar_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut record = vec![3u8];
        record.extend(std::iter::repeat_n(255u8, 3072));
        std::fs::write(dir.join("b.bin"), [record.clone(), record].concat()).unwrap();
        let set = read_cifar_batches(&[dir.join("b.bin")]).unwrap();
        assert_eq!((set.len(), set.channels, set.height), (2, 3, 32));
        assert_eq!(set.labels, vec![3, 3]);
        std::fs::write(dir.join("bad.bin"), [0u8; 100]).unwrap();
        assert!(read_cifar_batches(&[dir.join("bad.bin")]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
