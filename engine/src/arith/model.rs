//! The networks of the arithmetic domain: a small residual CNN from an image to a scalar
//! (the perception module θ shared by every task), the amortized policy (a learned task
//! embedding through a shared MLP to every architecture logit), free per-task logits (the
//! "w/o amortized inference" ablation) and the "w/o program" reasoner (a small MLP in
//! place of the program).

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Distribution, Int, Tensor};
use serde::{Deserialize, Serialize};

use super::tasks::{DIGIT_SCALE, VARIABLES};
use crate::relaxed::ArchitectureLogits;

/// Sizes of the networks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelConfig {
    /// Image channels (1: MNIST / Fashion-MNIST; 3: CIFAR-10).
    pub image_channels: usize,
    /// Image height and width (28 × 28: MNIST / Fashion-MNIST; 32 × 32: CIFAR-10).
    pub image_size: [usize; 2],
    /// Channels of the CNN's residual blocks.
    pub channels: usize,
    /// Width of the CNN's hidden layer before its reading, per image read.
    pub head_width: usize,
    /// Code lines of the program (the paper's L = 30).
    pub lines: usize,
    /// Width of the task embedding and the policy's hidden layer.
    pub embedding: usize,
    pub hidden: usize,
    /// Images the CNN reads as one picture, side by side: 1 reads each image alone, 3 an
    /// example's three images as one contiguous picture (Table 1's contiguous-image row).
    /// Training sets it from the method, as it sets `lines`.
    pub images_per_picture: usize,
    /// How the CNN's last layer turns an image into the number the program reads.
    pub reading: DigitReading,
}

/// The CNN's last layer: what kind of number an image is read as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigitReading {
    /// The expected digit / 10 under a softmax over ten scores: bounded to [0, 0.9] and
    /// trained like a classifier.
    #[default]
    ExpectedDigit,
    /// One free linear unit, as the paper's CNN ("maps an image to a scalar"): no prior
    /// that images are digits at all.
    Scalar,
    /// The expected value of ten learned numbers (drawn uniform in [0, 1) at the start)
    /// under a softmax over ten scores: trained like a classifier, but not told which ten
    /// numbers the images stand for.
    LearnedValues,
}

impl DigitReading {
    /// Outputs of the last layer per image.
    fn outputs(self) -> usize {
        match self {
            Self::ExpectedDigit | Self::LearnedValues => DIGITS,
            Self::Scalar => 1,
        }
    }
}

impl ModelConfig {
    /// Whether a model of these settings can be built, at a size a checkpoint may ask for:
    /// settings read from a file are checked before anything is allocated for them.
    ///
    /// # Errors
    /// The first setting out of bounds, in words.
    pub fn check(&self) -> Result<(), String> {
        use crate::train::checkpoint::within;
        within("image_channels", self.image_channels, 1, 4)?;
        within("image height", self.image_size[0], 4, 256)?;
        within("image width", self.image_size[1], 4, 256)?;
        within("channels", self.channels, 1, 256)?;
        within("head_width", self.head_width, 1, 4096)?;
        within("lines", self.lines, 1, 256)?;
        within("embedding", self.embedding, 1, 4096)?;
        within("hidden", self.hidden, 1, 4096)?;
        within("images_per_picture", self.images_per_picture, 1, 3)
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            image_channels: 1,
            image_size: [28, 28],
            channels: 16,
            head_width: 64,
            lines: 30,
            embedding: 32,
            hidden: 128,
            images_per_picture: 1,
            reading: DigitReading::ExpectedDigit,
        }
    }
}

/// A 3×3 convolution (padding 1, stride 1) on channel-last activations `[B, H, W, C]`, as
/// one matrix product over the nine shifted copies of its input. burn's CPU backend runs
/// `conv2d` as a direct loop (~4 GFLOP/s here); channel-last patches keep the work in its
/// gemm, forward and backward, without transposes.
#[derive(Module, Debug)]
pub struct Conv3x3 {
    /// `[9 · C_in, C_out]`, rows ordered (dy, dx, channel).
    weight: Param<Tensor<2>>,
    bias: Param<Tensor<1>>,
}

impl Conv3x3 {
    fn new(inputs: usize, outputs: usize, device: &Device) -> Self {
        // He initialisation for ReLU networks.
        let std = (2.0 / (9 * inputs) as f64).sqrt();
        Self {
            weight: Param::from_tensor(Tensor::random(
                [9 * inputs, outputs],
                Distribution::Normal(0.0, std),
                device,
            )),
            bias: Param::from_tensor(Tensor::zeros([outputs], device)),
        }
    }

    /// # Shapes
    /// `[B, H, W, C]` → `[B, H, W, O]`.
    ///
    /// The patches are built in two passes of three shifts each: the three column shifts
    /// side by side (`[B, H + 2, W, 3C]`), then three row shifts of that (`[B, H, W, 9C]`),
    /// so every copy moves rows of 3C or 9C values rather than nine pieces of C.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, h, w, c] = x.dims();
        let device = x.device();
        let rows_of_zeros = Tensor::<4>::zeros([b, 1, w, c], &device);
        let x = Tensor::cat(vec![rows_of_zeros.clone(), x, rows_of_zeros], 1); // [B, H+2, W, C]
        let column_of_zeros = Tensor::<4>::zeros([b, h + 2, 1, c], &device);
        let x = Tensor::cat(vec![column_of_zeros.clone(), x, column_of_zeros], 2); // [B, H+2, W+2, C]
        let columns = Tensor::cat(
            (0..3)
                .map(|dx| x.clone().slice([0..b, 0..h + 2, dx..dx + w, 0..c]))
                .collect(),
            3,
        ); // [B, H+2, W, 3C], (dx, channel)
        let patches = Tensor::cat(
            (0..3)
                .map(|dy| columns.clone().slice([0..b, dy..dy + h, 0..w, 0..3 * c]))
                .collect(),
            3,
        ); // [B, H, W, 9C], (dy, dx, channel)
        let outputs = self.weight.dims()[1];
        let y = patches
            .reshape([b * h * w, 9 * c])
            .matmul(self.weight.val())
            + self.bias.val().unsqueeze_dim::<2>(0);
        y.reshape([b, h, w, outputs])
    }
}

/// Two 3×3 convolutions with a skip connection (He et al. 2016's basic block, without
/// normalisation: batches mix tasks, and the network is shallow).
#[derive(Module, Debug)]
pub struct ResidualBlock {
    first: Conv3x3,
    second: Conv3x3,
}

impl ResidualBlock {
    fn new(channels: usize, device: &Device) -> Self {
        Self {
            first: Conv3x3::new(channels, channels, device),
            second: Conv3x3::new(channels, channels, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.second.forward(relu(self.first.forward(x.clone())));
        relu(x + y)
    }
}

/// Side of the stem's non-overlapping patches.
const PATCH: usize = 4;

/// Image → scalar: a patchify stem (4×4 patches, like ConvNeXt's), two residual blocks of
/// 3×3 convolutions at 1/4 resolution, two linear layers to the reading (by default ten
/// digit scores and their softmax's expected digit / 10, in [0, 0.9]). ~60k parameters at
/// the default width. ResNet-18 (11M parameters) is far too slow to train on two CPU
/// cores, and 28×28 images need no such depth; the bounded reading keeps the products the
/// program forms in range.
#[derive(Module, Debug)]
pub struct DigitNet {
    stem: Linear,
    block1: ResidualBlock,
    block2: ResidualBlock,
    hidden: Linear,
    out: Linear,
    images_per_picture: usize,
    #[module(skip)]
    reading: DigitReading,
    /// `[1, 10]`: the numbers the ten scores stand for, with [`DigitReading::LearnedValues`].
    values: Option<Param<Tensor<2>>>,
}

impl DigitNet {
    pub fn new(config: &ModelConfig, device: &Device) -> Self {
        let c1 = config.channels;
        let k = config.images_per_picture.max(1);
        let [h, w] = config.image_size;
        Self {
            stem: LinearConfig::new(config.image_channels * PATCH * PATCH, c1).init(device),
            block1: ResidualBlock::new(c1, device),
            block2: ResidualBlock::new(c1, device),
            // As wide per image read as the one-image CNN.
            hidden: LinearConfig::new(c1 * (h / PATCH) * (k * w / PATCH), k * config.head_width)
                .init(device),
            out: LinearConfig::new(k * config.head_width, k * config.reading.outputs())
                .init(device),
            images_per_picture: k,
            reading: config.reading,
            values: (config.reading == DigitReading::LearnedValues).then(|| {
                Param::from_tensor(Tensor::random([1, DIGITS], Distribution::Default, device))
            }),
        }
    }

    /// Batches passed to `forward` are whole pictures: multiples of this many images.
    pub fn images_per_picture(&self) -> usize {
        self.images_per_picture
    }

    /// # Shapes
    /// `[B, C, H, W]` (H, W multiples of 4, B a multiple of `images_per_picture`) → `[B]`:
    /// every image's reading. Each run of `images_per_picture` images is read as one
    /// picture with the images side by side, and yields one reading per image.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<1> {
        let [b, c, h, w] = images.dims();
        let k = self.images_per_picture;
        let pictures = images
            .reshape([b / k, k, c, h, w])
            .permute([0, 2, 3, 1, 4])
            .reshape([b / k, c, h, k * w]);
        self.read_pictures(pictures)
    }

    /// `[P, C, H, k · W]` → `[P · k]`: a picture of k images side by side gives k readings.
    fn read_pictures(&self, images: Tensor<4>) -> Tensor<1> {
        let [b, c, h, w] = images.dims();
        let (gh, gw) = (h / PATCH, w / PATCH);
        let patches = images
            .slice([0..b, 0..c, 0..gh * PATCH, 0..gw * PATCH])
            .reshape([b, c, gh, PATCH, gw, PATCH])
            .permute([0, 2, 4, 1, 3, 5])
            .reshape([b * gh * gw, c * PATCH * PATCH]);
        let c1 = self.stem.weight.dims()[1];
        let x = relu(self.stem.forward(patches)).reshape([b, gh, gw, c1]);
        let x = self.block2.forward(self.block1.forward(x)); // [B, gh, gw, c1]
        // Flattened, not pooled: where the parts of a garment sit tells the classes apart
        // (supervised on the labels, Test-Symbolic-Acc 65 % flattened vs ~55 % pooled).
        let features = x.reshape([b, gh * gw * c1]);
        // `[P, k · n]` is `[P · k, n]`: n outputs per image.
        let outputs = self.out.forward(relu(self.hidden.forward(features)));
        let n = self.reading.outputs();
        let scores = outputs.reshape([b * self.images_per_picture, n]);
        match self.reading {
            DigitReading::Scalar => scores.flatten::<1>(0, 1),
            // The expected value under a softmax over the ten: a scalar, as the program
            // needs, that learns like a classifier (73 % vs 65 % for one sigmoid unit,
            // supervised, 2000 steps).
            DigitReading::ExpectedDigit | DigitReading::LearnedValues => {
                let values = match &self.values {
                    Some(learned) => learned.val(),
                    None => Tensor::<1, Int>::arange(0..DIGITS as i64, &scores.device())
                        .float()
                        .mul_scalar(DIGIT_SCALE)
                        .unsqueeze_dim::<2>(0),
                };
                (softmax(scores, 1) * values).sum_dim(1).flatten::<1>(0, 1)
            }
        }
    }
}

/// The CNN reads each image as one of ten digits.
const DIGITS: usize = 10;

fn logit_width(lines: usize, ops: usize) -> usize {
    lines * ops + 2 * lines * (VARIABLES + lines)
}

/// Splits `[T, width]` into architecture logits.
fn to_logits(flat: Tensor<2>, lines: usize, ops: usize) -> ArchitectureLogits {
    let tasks = flat.dims()[0];
    let width = VARIABLES + lines;
    let op = lines * ops;
    let side = lines * width;
    ArchitectureLogits {
        op_logits: flat
            .clone()
            .slice([0..tasks, 0..op])
            .reshape([tasks, lines, ops]),
        left_logits: flat
            .clone()
            .slice([0..tasks, op..op + side])
            .reshape([tasks, lines, width]),
        right_logits: flat
            .slice([0..tasks, op + side..op + 2 * side])
            .reshape([tasks, lines, width]),
        inputs: VARIABLES,
    }
}

/// The amortized policy: `task → embedding → MLP → α logits`, one network for all tasks.
#[derive(Module, Debug)]
pub struct TaskPolicy {
    embedding: Param<Tensor<2>>,
    hidden: Linear,
    head: Linear,
    lines: usize,
    ops: usize,
}

impl TaskPolicy {
    pub fn new(config: &ModelConfig, tasks: usize, ops: usize, device: &Device) -> Self {
        Self {
            embedding: Param::from_tensor(Tensor::random(
                [tasks, config.embedding],
                Distribution::Normal(0.0, 1.0),
                device,
            )),
            hidden: LinearConfig::new(config.embedding, config.hidden).init(device),
            head: LinearConfig::new(config.hidden, logit_width(config.lines, ops)).init(device),
            lines: config.lines,
            ops,
        }
    }

    pub fn forward(&self, tasks: Tensor<1, Int>) -> ArchitectureLogits {
        let embedded = self.embedding.val().select(0, tasks);
        let flat = self.head.forward(relu(self.hidden.forward(embedded)));
        to_logits(flat, self.lines, self.ops)
    }
}

/// Free logits per task (Terpret-style; shared CNN = "Terpret + multitasking").
#[derive(Module, Debug)]
pub struct FreeTaskLogits {
    logits: Param<Tensor<2>>,
    lines: usize,
    ops: usize,
}

impl FreeTaskLogits {
    pub fn new(config: &ModelConfig, tasks: usize, ops: usize, device: &Device) -> Self {
        Self {
            logits: Param::from_tensor(Tensor::random(
                [tasks, logit_width(config.lines, ops)],
                Distribution::Normal(0.0, 0.01),
                device,
            )),
            lines: config.lines,
            ops,
        }
    }

    pub fn forward(&self, tasks: Tensor<1, Int>) -> ArchitectureLogits {
        to_logits(self.logits.val().select(0, tasks), self.lines, self.ops)
    }
}

/// "w/o program": the CNN's three values and the task's embedding through an MLP.
#[derive(Module, Debug)]
pub struct NeuralReasoner {
    embedding: Param<Tensor<2>>,
    hidden: Linear,
    second: Linear,
    out: Linear,
}

impl NeuralReasoner {
    pub fn new(config: &ModelConfig, tasks: usize, device: &Device) -> Self {
        Self {
            embedding: Param::from_tensor(Tensor::random(
                [tasks, config.embedding],
                Distribution::Normal(0.0, 1.0),
                device,
            )),
            hidden: LinearConfig::new(config.embedding + VARIABLES, config.hidden).init(device),
            second: LinearConfig::new(config.hidden, config.hidden).init(device),
            out: LinearConfig::new(config.hidden, 1).init(device),
        }
    }

    /// # Shapes
    /// `tasks [T]`, `values [T, V, N]` → `[T, N]`.
    pub fn forward(&self, tasks: Tensor<1, Int>, values: Tensor<3>) -> Tensor<2> {
        let [t, v, n] = values.dims();
        let embedded = self.embedding.val().select(0, tasks); // [T, E]
        let e = embedded.dims()[1];
        let embedded = embedded.unsqueeze_dim::<3>(1).expand([t, n, e]);
        let features = Tensor::cat(vec![values.swap_dims(1, 2), embedded], 2); // [T, N, V + E]
        let flat = features.reshape([t * n, v + e]);
        let h = relu(self.second.forward(relu(self.hidden.forward(flat))));
        self.out.forward(h).reshape([t, n])
    }
}

/// Everything trained: the shared CNN and one way of reasoning.
#[derive(Module, Debug)]
pub struct ArithModel {
    pub digits: DigitNet,
    pub policy: Option<TaskPolicy>,
    pub free: Option<FreeTaskLogits>,
    pub neural: Option<NeuralReasoner>,
}

impl ArithModel {
    /// Architecture logits for `tasks`, from whichever policy the model has.
    pub fn logits(&self, tasks: Tensor<1, Int>) -> Option<ArchitectureLogits> {
        match (&self.policy, &self.free) {
            (Some(policy), _) => Some(policy.forward(tasks)),
            (None, Some(free)) => Some(free.forward(tasks)),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Tolerance;

    use super::*;

    /// The contiguous-image CNN reads three images as one picture, laid side by side, with
    /// every reading.
    #[test]
    fn pictures_are_images_side_by_side() {
        for reading in [
            DigitReading::ExpectedDigit,
            DigitReading::Scalar,
            DigitReading::LearnedValues,
        ] {
            let device = Device::flex();
            let config = ModelConfig {
                images_per_picture: 3,
                reading,
                ..ModelConfig::default()
            };
            let net = DigitNet::new(&config, &device);
            let images = Tensor::<4>::random([6, 1, 28, 28], Distribution::Default, &device);
            let side_by_side = |first: usize| {
                Tensor::cat(
                    (first..first + 3)
                        .map(|i| images.clone().narrow(0, i, 1))
                        .collect(),
                    3,
                )
            };
            let pictures = Tensor::cat(vec![side_by_side(0), side_by_side(3)], 0);
            let readings = net.forward(images.clone());
            assert_eq!(readings.dims(), [6]);
            readings.clone().into_data().assert_approx_eq::<f32>(
                &net.read_pictures(pictures).into_data(),
                Tolerance::default(),
            );
            // One picture: moving an image to another place changes what is read.
            let swapped = Tensor::cat(
                vec![
                    images.clone().narrow(0, 1, 1),
                    images.clone().narrow(0, 0, 1),
                    images.clone().narrow(0, 2, 4),
                ],
                0,
            );
            let moved: f32 = net.forward(swapped).narrow(0, 0, 1).into_scalar();
            let in_place: f32 = readings.narrow(0, 1, 1).into_scalar();
            assert_ne!(moved, in_place);
        }
    }

    /// With learned values the ten numbers are parameters: a loss on the readings moves them.
    #[test]
    fn learned_values_train() {
        let device = Device::flex().autodiff();
        let config = ModelConfig {
            reading: DigitReading::LearnedValues,
            ..ModelConfig::default()
        };
        let net = DigitNet::new(&config, &device);
        let images = Tensor::<4>::random([4, 1, 28, 28], Distribution::Default, &device);
        let grads = net.forward(images).sum().backward();
        let values = net.values.as_ref().expect("learned values");
        let gradient: Vec<f32> = values
            .grad(&grads)
            .expect("a gradient")
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        assert_eq!(gradient.len(), DIGITS);
        assert!(gradient.iter().all(|g| g.is_finite()) && gradient.iter().any(|&g| g != 0.0));
        // The fixed readings have no such parameters.
        assert!(
            DigitNet::new(&ModelConfig::default(), &device)
                .values
                .is_none()
        );
    }

    #[test]
    fn conv3x3_matches_burns_conv2d() {
        let device = Device::flex();
        let conv = Conv3x3::new(3, 4, &device);
        let x = Tensor::<4>::random([2, 5, 6, 3], Distribution::Normal(0.0, 1.0), &device);
        let ours = conv.forward(x.clone());
        // The same weights as burn's `[O, C, 3, 3]`, rows ordered (dy, dx, channel).
        let weight = conv
            .weight
            .val()
            .reshape([3, 3, 3, 4])
            .permute([3, 2, 0, 1]);
        let mut reference = Conv2dConfig::new([3, 4], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        reference.weight = Param::from_tensor(weight);
        reference.bias = Some(Param::from_tensor(conv.bias.val()));
        let expected = reference
            .forward(x.permute([0, 3, 1, 2]))
            .permute([0, 2, 3, 1]);
        ours.into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
    }
}
