//! 2D shapes: binary images (PNG, or one image of an HDF5 `pixels` dataset).

use super::{DataError, U8Dataset};

/// Largest image side accepted.
const MAX_SIDE: u32 = 4096;

/// A binary image, row-major: pixel `(row, column)` is at `row · width + column`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PixelGrid {
    pub width: usize,
    pub height: usize,
    pub occupied: Vec<bool>,
}

impl PixelGrid {
    pub fn from_fn(width: usize, height: usize, inside: impl Fn(usize, usize) -> bool) -> Self {
        let occupied = (0..height)
            .flat_map(|r| (0..width).map(move |c| (r, c)))
            .map(|(r, c)| inside(r, c))
            .collect();
        Self {
            width,
            height,
            occupied,
        }
    }

    /// Occupancy at `(row, column)`; outside the image is empty.
    pub fn get(&self, row: isize, column: isize) -> bool {
        row >= 0
            && column >= 0
            && (row as usize) < self.height
            && (column as usize) < self.width
            && self.occupied[row as usize * self.width + column as usize]
    }

    /// Occupied pixels with an empty 4-neighbour inside the image: the shape's edge. Like an
    /// edge detector, the image border itself is no edge, so a full image has none.
    pub fn edges(&self) -> Vec<[f32; 2]> {
        let (height, width) = (self.height as isize, self.width as isize);
        let mut edges = Vec::new();
        for row in 0..height {
            for column in 0..width {
                let boundary = [(-1, 0), (1, 0), (0, -1), (0, 1)].iter().any(|(dr, dc)| {
                    let (r, c) = (row + dr, column + dc);
                    (0..height).contains(&r) && (0..width).contains(&c) && !self.get(r, c)
                });
                if self.get(row, column) && boundary {
                    edges.push([row as f32, column as f32]);
                }
            }
        }
        edges
    }
}

/// Reads a PNG mask (any colour type): pixels brighter than half are occupied.
///
/// # Errors
/// [`DataError::Malformed`] if the PNG does not decode, [`DataError::TooLarge`] above
/// 4096 pixels a side, [`DataError::Unsupported`] if over a quarter of its pixels are grey
/// (not a mask).
pub fn read_png(bytes: &[u8]) -> Result<PixelGrid, DataError> {
    let malformed = |message: String| DataError::Malformed {
        format: "PNG",
        message,
    };
    let decoder =
        image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Png);
    let (width, height) = decoder
        .into_dimensions()
        .map_err(|e| malformed(e.to_string()))?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(DataError::TooLarge {
            what: "PNG side",
            got: width.max(height) as usize,
            limit: MAX_SIDE as usize,
        });
    }
    let luma = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .map_err(|e| malformed(e.to_string()))?
        .into_luma8();
    // A shape image is a mask; a photo or a soft drawing thresholded at half would give a
    // shape the user never drew. Anti-aliased edges leave far fewer grey pixels than this.
    let grey = luma
        .pixels()
        .filter(|p| (48..=207).contains(&p.0[0]))
        .count();
    if grey * 4 > luma.len() {
        return Err(DataError::Unsupported {
            format: "PNG",
            message: format!(
                "not a black-and-white mask: {}% of its pixels are grey",
                grey * 100 / luma.len()
            ),
        });
    }
    Ok(PixelGrid {
        width: width as usize,
        height: height as usize,
        occupied: luma.pixels().map(|p| p.0[0] > 127).collect(),
    })
}

/// Image `index` of a `[N, H, W, 1]` u8 dataset (BSP-Net's `pixels`, CSGNet's
/// `train_images`); `None` if out of range or not of that shape.
pub fn image_of_dataset(dataset: &U8Dataset, index: usize) -> Option<PixelGrid> {
    let ([count, height, width, 1] | [count, height, width]) = dataset.shape[..] else {
        return None;
    };
    if index >= count {
        return None;
    }
    let pixels = dataset
        .values
        .get(index * height * width..(index + 1) * height * width)?;
    Some(PixelGrid {
        width,
        height,
        occupied: pixels.iter().map(|&v| v != 0).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_and_errors() {
        let grid = PixelGrid::from_fn(12, 8, |r, c| r > 2 && c < 5);
        let mut bytes = Vec::new();
        let luma = image::GrayImage::from_fn(12, 8, |c, r| {
            image::Luma([if grid.get(r as isize, c as isize) {
                255
            } else {
                0
            }])
        });
        luma.write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
        assert_eq!(read_png(&bytes).unwrap(), grid);
        assert!(read_png(b"\x89PNG\r\n\x1a\nbroken").is_err());
        assert!(read_png(&bytes[..bytes.len() / 2]).is_err());
    }
}
