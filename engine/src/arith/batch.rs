//! Tensors from tasks and images: image batches (optionally shifted), the variables' values,
//! the targets, and the CNN's readings.

use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

use super::images::ImageSet;
use super::model::DigitNet;
use super::tasks::{DIGIT_SCALE, Example, VARIABLES};

/// A batch of images `[n, C, H, W]` from `set`.
fn image_batch(set: &ImageSet, indices: &[u32], device: &Device) -> Tensor<4> {
    let pixels = indices
        .iter()
        .flat_map(|&i| set.image(i as usize))
        .copied()
        .collect();
    images_tensor(set, pixels, device)
}

/// [`image_batch`] with every image moved by up to `shift` pixels each way, at random; at 0
/// the images as they are, and `rng` untouched (runs without augmentation draw as before).
fn shifted_image_batch(
    set: &ImageSet,
    indices: &[u32],
    shift: usize,
    rng: &mut impl Rng,
    device: &Device,
) -> Tensor<4> {
    if shift == 0 {
        return image_batch(set, indices, device);
    }
    // Further than the image is wide moves every pixel out all the same.
    let shift = shift.min(set.height.max(set.width)) as i64;
    let mut pixels = Vec::with_capacity(indices.len() * set.image_size());
    for &i in indices {
        let offset = [(); 2].map(|()| rng.random_range(-shift..=shift) as isize);
        set.push_shifted(i as usize, offset, &mut pixels);
    }
    images_tensor(set, pixels, device)
}

/// Whole images of `set`, one after another, as `[n, C, H, W]`.
fn images_tensor(set: &ImageSet, pixels: Vec<f32>, device: &Device) -> Tensor<4> {
    let n = pixels.len() / set.image_size().max(1);
    Tensor::from_data(
        TensorData::new(pixels, [n, set.channels, set.height, set.width]),
        device,
    )
}

/// CNN values of training examples: `[T, V, N]` for T tasks of N examples each, every
/// image moved by up to `shift` pixels.
pub(super) fn example_values(
    digits: &DigitNet,
    set: &ImageSet,
    examples: &[Vec<Example>],
    shift: usize,
    rng: &mut impl Rng,
    device: &Device,
) -> Tensor<3> {
    let tasks = examples.len();
    let n = examples.first().map_or(0, Vec::len);
    let indices = image_indices(examples);
    digits
        .forward(shifted_image_batch(set, &indices, shift, rng, device))
        .reshape([tasks, n, VARIABLES])
        .swap_dims(1, 2)
}

pub(super) fn targets(examples: &[Vec<Example>], device: &Device) -> Tensor<2> {
    let tasks = examples.len();
    let n = examples.first().map_or(0, Vec::len);
    let values: Vec<f32> = examples
        .iter()
        .flat_map(|task| task.iter().map(|e| e.output))
        .collect();
    Tensor::from_data(TensorData::new(values, [tasks, n]), device)
}

/// Every example's images, task by task, example by example.
fn image_indices(examples: &[Vec<Example>]) -> Vec<u32> {
    examples
        .iter()
        .flat_map(|task| task.iter().flat_map(|e| e.images))
        .collect()
}

/// The examples' digits / 10, laid out like `example_values`: `[T, V, N]`.
pub(super) fn digit_targets(
    examples: &[Vec<Example>],
    set: &ImageSet,
    device: &Device,
) -> Tensor<3> {
    let tasks = examples.len();
    let n = examples.first().map_or(0, Vec::len);
    let digits: Vec<f32> = image_indices(examples)
        .into_iter()
        .map(|i| f32::from(set.labels[i as usize]) * DIGIT_SCALE)
        .collect();
    Tensor::<3>::from_data(TensorData::new(digits, [tasks, n, VARIABLES]), device).swap_dims(1, 2)
}

/// CNN values of images, in batches of whole pictures (no gradients kept).
pub(super) fn image_values(
    digits: &DigitNet,
    set: &ImageSet,
    indices: &[u32],
    device: &Device,
) -> Vec<f32> {
    indices
        .chunks(512 / digits.images_per_picture() * digits.images_per_picture())
        .flat_map(|chunk| {
            let values = digits.forward(image_batch(set, chunk, device)).detach();
            values
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap_or_default()
        })
        .collect()
}
