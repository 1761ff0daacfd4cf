//! Minibatches in epochs, as every training loop draws them.

use rand::Rng;
use rand::seq::SliceRandom as _;

/// Batches of `batch` items of `order`, taken in turn; the order is reshuffled (with the
/// caller's generator, so a run's draws stay in one sequence) whenever the next batch would
/// run past its end. The first call shuffles.
#[derive(Clone, Debug)]
pub struct Batcher<T> {
    order: Vec<T>,
    cursor: usize,
    batch: usize,
}

impl<T> Batcher<T> {
    /// `batch` must be at most `order.len()` (callers clamp it).
    pub fn new(order: Vec<T>, batch: usize) -> Self {
        let cursor = order.len();
        Self {
            order,
            cursor,
            batch,
        }
    }

    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// The next batch.
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> &[T] {
        if self.cursor + self.batch > self.order.len() {
            self.order.shuffle(rng);
            self.cursor = 0;
        }
        let batch = &self.order[self.cursor..self.cursor + self.batch];
        self.cursor += self.batch;
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn every_item_comes_once_per_epoch() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut batches = Batcher::new((0..10).collect::<Vec<u32>>(), 5);
        for _ in 0..4 {
            let mut epoch: Vec<u32> = batches.next(&mut rng).to_vec();
            epoch.extend_from_slice(batches.next(&mut rng));
            epoch.sort_unstable();
            assert_eq!(epoch, (0..10).collect::<Vec<u32>>());
        }
    }
}
