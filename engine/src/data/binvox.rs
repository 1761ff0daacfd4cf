//! The binvox format: an ASCII header, then run-length encoded occupancy.
//!
//! Version 1 stores values 0 and 1. Version 2 (written by viewvox-era tools and by vengi)
//! has the same layout, but a value byte is a palette index: every non-zero value is a
//! filled voxel. Both read into a boolean grid; `write_binvox` writes version 1.
//!
//! ```text
//! #binvox 1
//! dim D D D
//! translate tx ty tz
//! scale s
//! data
//! <(value, count) byte pairs, counts 1..=255, summing to D³; index x·D·D + z·D + y>
//! ```

use super::{DataError, VoxelGrid};

/// Largest resolution accepted: 1024³ voxels is 1 GiB of booleans.
const MAX_RESOLUTION: usize = 1024;

fn malformed(message: impl Into<String>) -> DataError {
    DataError::Malformed {
        format: "binvox",
        message: message.into(),
    }
}

/// Parses a binvox file.
///
/// # Errors
/// A [`DataError`] for a bad header, a non-cubic or oversized grid, or a body whose runs
/// do not cover the grid exactly.
pub fn read_binvox(bytes: &[u8]) -> Result<VoxelGrid, DataError> {
    let mut rest = bytes;
    let mut next_line = || -> Result<String, DataError> {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| malformed("header ends before `data`"))?;
        let line = std::str::from_utf8(&rest[..end])
            .map_err(|_| malformed("header is not text"))?
            .trim()
            .to_owned();
        rest = &rest[end + 1..];
        Ok(line)
    };
    let magic = next_line()?;
    let version = magic
        .strip_prefix("#binvox")
        .ok_or_else(|| malformed("missing `#binvox` magic"))?
        .trim();
    if version != "1" && version != "2" {
        return Err(DataError::Unsupported {
            format: "binvox",
            message: format!("version {version:?} (versions 1 and 2 are read)"),
        });
    }
    let (mut dims, mut translate, mut scale) = (None, [0.0f32; 3], 1.0f32);
    loop {
        let line = next_line()?;
        let mut words = line.split_whitespace();
        match words.next() {
            Some("dim") => {
                let values: Vec<usize> = words
                    .map(|w| w.parse().map_err(|_| malformed(format!("bad dim {w:?}"))))
                    .collect::<Result<_, _>>()?;
                dims = Some(values);
            }
            Some("translate") => {
                let values: Vec<f32> = words
                    .map(|w| {
                        w.parse()
                            .map_err(|_| malformed(format!("bad translate {w:?}")))
                    })
                    .collect::<Result<_, _>>()?;
                translate = values
                    .try_into()
                    .map_err(|_| malformed("translate needs three numbers"))?;
            }
            Some("scale") => {
                scale = words
                    .next()
                    .and_then(|w| w.parse().ok())
                    .ok_or_else(|| malformed("bad scale"))?;
            }
            Some("data") => break,
            Some(other) if other.starts_with('#') => {}
            None => {}
            Some(other) => return Err(malformed(format!("unknown header line {other:?}"))),
        }
    }
    let dims = dims.ok_or_else(|| malformed("missing `dim`"))?;
    let [d0, d1, d2] = dims[..] else {
        return Err(malformed("dim needs three numbers"));
    };
    if d0 != d1 || d1 != d2 {
        return Err(DataError::Unsupported {
            format: "binvox",
            message: format!("non-cubic grid {d0}×{d1}×{d2}"),
        });
    }
    let resolution = d0;
    if resolution == 0 {
        return Err(malformed("dim 0"));
    }
    if resolution > MAX_RESOLUTION {
        return Err(DataError::TooLarge {
            what: "binvox resolution",
            got: resolution,
            limit: MAX_RESOLUTION,
        });
    }
    if !(scale.is_finite() && scale > 0.0) || translate.iter().any(|t| !t.is_finite()) {
        return Err(malformed("scale must be positive and translate finite"));
    }
    let total = resolution.pow(3);
    let mut grid = VoxelGrid::empty(resolution);
    grid.translate = translate;
    grid.scale = scale;
    let mut filled = 0usize;
    for pair in rest.chunks(2) {
        let [value, count] = *pair else {
            return Err(malformed("body ends inside a run"));
        };
        let count = usize::from(count);
        if count == 0 {
            return Err(malformed("run of length 0"));
        }
        if filled + count > total {
            return Err(malformed(format!("runs cover more than {total} voxels")));
        }
        if value != 0 {
            for file_index in filled..filled + count {
                // File order: x slowest, then z, then y.
                let x = file_index / (resolution * resolution);
                let z = (file_index / resolution) % resolution;
                let y = file_index % resolution;
                grid.set([x, y, z], true);
            }
        }
        filled += count;
        if filled == total {
            break;
        }
    }
    if filled != total {
        return Err(malformed(format!("runs cover {filled} of {total} voxels")));
    }
    Ok(grid)
}

/// Encodes a grid as binvox version 1.
pub fn write_binvox(grid: &VoxelGrid) -> Vec<u8> {
    let r = grid.resolution();
    let [tx, ty, tz] = grid.translate;
    let mut out = format!(
        "#binvox 1\ndim {r} {r} {r}\ntranslate {tx} {ty} {tz}\nscale {}\ndata\n",
        grid.scale
    )
    .into_bytes();
    let mut run: Option<(bool, u8)> = None;
    for x in 0..r {
        for z in 0..r {
            for y in 0..r {
                let value = grid.get([x, y, z]);
                run = match run {
                    Some((current, count)) if current == value && count < u8::MAX => {
                        Some((current, count + 1))
                    }
                    Some((current, count)) => {
                        out.extend_from_slice(&[u8::from(current), count]);
                        Some((value, 1))
                    }
                    None => Some((value, 1)),
                };
            }
        }
    }
    if let Some((current, count)) = run {
        out.extend_from_slice(&[u8::from(current), count]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_honours_the_axis_order() {
        let mut grid = VoxelGrid::empty(5);
        grid.translate = [1.0, -2.0, 0.5];
        grid.scale = 3.0;
        for xyz in [[0, 0, 0], [4, 1, 2], [1, 4, 3], [2, 2, 2]] {
            grid.set(xyz, true);
        }
        let bytes = write_binvox(&grid);
        assert_eq!(read_binvox(&bytes).unwrap(), grid);
        // File index of (x=4, y=1, z=2) is x·25 + z·5 + y = 111: the 112th voxel.
        let body = &bytes[bytes.windows(5).position(|w| w == b"data\n").unwrap() + 5..];
        let mut index = 0;
        let mut on = Vec::new();
        for pair in body.chunks(2) {
            if pair[0] == 1 {
                on.extend(index..index + usize::from(pair[1]));
            }
            index += usize::from(pair[1]);
        }
        assert!(on.contains(&111));
        let centre = grid.model_centre([4, 1, 2]);
        for (got, want) in centre.iter().zip([1.0 + 2.7, -2.0 + 0.9, 0.5 + 1.5]) {
            assert!((got - want).abs() < 1e-5, "{centre:?}");
        }
    }

    #[test]
    fn version_2_palette_values_are_filled() {
        // 2³ grid: value 7 (a palette index) for 3 voxels, empty for 5.
        let mut bytes = b"#binvox 2\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n".to_vec();
        bytes.extend_from_slice(&[7, 3, 0, 5]);
        let grid = read_binvox(&bytes).unwrap();
        assert_eq!(grid.count(), 3);
        assert!(grid.get([0, 0, 0]) && grid.get([0, 1, 0]) && grid.get([0, 0, 1]));
        let mut v3 = bytes.clone();
        v3[8] = b'3';
        assert!(matches!(
            read_binvox(&v3),
            Err(DataError::Unsupported { .. })
        ));
    }

    #[test]
    fn malformed_files_are_errors() {
        let good = write_binvox(&VoxelGrid::empty(2));
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"#binvox 3\ndim 2 2 2\ndata\n\x00\x08".to_vec(),
            b"#binvox 1\ndim 2 2 3\ndata\n\x00\x0c".to_vec(),
            b"#binvox 1\ndim 2 2 2\ndata\n\x00\x07".to_vec(),
            b"#binvox 1\ndim 2 2 2\ndata\n\x00\x09".to_vec(),
            b"#binvox 1\ndim 2 2 2\ndata\n\x00\x00\x00\x08".to_vec(),
            b"#binvox 1\ndim 2000 2000 2000\ndata\n".to_vec(),
            b"#binvox 1\ndim 2 2 2\nscale -1\ndata\n\x00\x08".to_vec(),
            b"#binvox 1\ndim 2 2\ndata\n\x00\x08".to_vec(),
            b"#binvox 1\nwhat 2 2 2\ndata\n\x00\x08".to_vec(),
        ];
        cases.push(good[..good.len() - 1].to_vec());
        for case in cases {
            assert!(
                read_binvox(&case).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(&case)
            );
        }
        assert!(read_binvox(&good).is_ok());
    }
}
