//! FIFO replay buffer of fixed capacity with uniform sampling with replacement
//! (docs/methods.md §1). Its capacity is independent of how many rows an iteration adds:
//! the original tied the two together, which made it no replay at all.

use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    width: usize,
    capacity: usize,
    data: Vec<f32>,
    /// Slot the next row is written to.
    next: usize,
    len: usize,
}

impl ReplayBuffer {
    /// A buffer of `capacity` rows of `width` values each.
    pub fn new(capacity: usize, width: usize) -> ReplayBuffer {
        assert!(capacity > 0 && width > 0);
        ReplayBuffer {
            width,
            capacity,
            data: vec![0.0; capacity * width],
            next: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Appends one row, overwriting the oldest when full.
    pub fn push(&mut self, row: &[f32]) {
        debug_assert_eq!(row.len(), self.width);
        let at = self.next * self.width;
        self.data[at..at + self.width].copy_from_slice(row);
        self.next = (self.next + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// Row `i` in storage order (0..len).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.width..(i + 1) * self.width]
    }

    /// A uniformly drawn stored row.
    pub fn sample<'a>(&'a self, rng: &mut Rng) -> &'a [f32] {
        assert!(!self.is_empty(), "sampling from an empty replay buffer");
        self.row(rng.index(self.len))
    }

    pub fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }
}

/// Draws indices 0..n in proportion to weights given as logarithms (self-normalized
/// importance resampling): a cumulative table, rebuilt when the weights change, and a
/// binary search per draw.
#[derive(Clone, Debug, Default)]
pub struct WeightedIndex {
    cumulative: Vec<f64>,
}

impl WeightedIndex {
    /// Rebuilds the table for weights exp(`log_weights`). Non-finite log weights count as
    /// zero weight (a path whose weight overflowed carries no usable information). Fails when
    /// every weight is zero.
    pub fn rebuild(
        &mut self,
        log_weights: impl Iterator<Item = f64> + Clone,
    ) -> Result<(), String> {
        let max = log_weights
            .clone()
            .filter(|w| w.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        if !max.is_finite() {
            return Err("every path weight is zero or not finite".into());
        }
        self.cumulative.clear();
        let mut total = 0.0;
        for w in log_weights {
            // Shifted by the largest, so the largest weight is 1 and nothing overflows.
            if w.is_finite() {
                total += (w - max).exp();
            }
            self.cumulative.push(total);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// An index drawn with probability w_i / Σw.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = *self
            .cumulative
            .last()
            .expect("sampling from an empty index");
        let u = rng.uniform() * total;
        // The first i with cumulative[i] > u; zero-weight entries have cumulative equal to
        // their predecessor's and are never chosen.
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len() - 1)
    }
}

impl ReplayBuffer {
    /// Saves the stored rows and the write position under `prefix`.
    pub fn save_state(&self, out: &mut crate::state::StateMap, prefix: &str) {
        out.put_f32(
            &format!("{prefix}data"),
            &self.data[..self.len * self.width],
        );
        out.put_usize(&format!("{prefix}next"), self.next);
    }

    pub fn load_state(
        &mut self,
        from: &crate::state::StateMap,
        prefix: &str,
    ) -> Result<(), String> {
        let data = from.f32s(&format!("{prefix}data"))?;
        let next = from.usize(&format!("{prefix}next"))?;
        let len = data.len() / self.width;
        if data.len() % self.width != 0 || len > self.capacity || next >= self.capacity {
            return Err(format!(
                "saved state: the replay buffer {prefix} does not fit {} rows of width {}",
                self.capacity, self.width
            ));
        }
        self.data[..data.len()].copy_from_slice(&data);
        self.len = len;
        self.next = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_index_draws_in_proportion_to_the_weights() {
        let weights = [0.1f64, 0.0, 0.6, 0.3];
        let mut index = WeightedIndex::default();
        // Shifted log weights: only ratios matter; a NaN counts as zero weight.
        index
            .rebuild(weights.iter().map(|w| w.ln() + 700.0).chain([f64::NAN]))
            .unwrap();
        assert_eq!(index.len(), 5);
        let mut rng = Rng::new(4);
        let mut counts = [0usize; 5];
        let n = 100_000;
        for _ in 0..n {
            counts[index.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1] + counts[4], 0, "zero weights drawn: {counts:?}");
        for (i, &w) in weights.iter().enumerate() {
            let p = counts[i] as f64 / n as f64;
            // 4 binomial standard errors.
            let se = (w * (1.0 - w) / n as f64).sqrt();
            assert!((p - w).abs() <= 4.0 * se + 1e-12, "index {i}: {p} vs {w}");
        }
        assert!(index
            .rebuild([f64::NEG_INFINITY, f64::NAN].into_iter())
            .is_err());
    }

    #[test]
    fn fifo_keeps_the_newest_rows() {
        let mut b = ReplayBuffer::new(3, 2);
        for i in 0..5 {
            b.push(&[i as f32, -(i as f32)]);
        }
        assert_eq!(b.len(), 3);
        let mut firsts: Vec<f32> = (0..3).map(|i| b.row(i)[0]).collect();
        firsts.sort_by(f32::total_cmp);
        assert_eq!(firsts, vec![2.0, 3.0, 4.0]);
    }

    #[test]
    fn sampling_is_uniform_over_stored_rows() {
        let mut b = ReplayBuffer::new(10, 1);
        for i in 0..4 {
            b.push(&[i as f32]);
        }
        let mut rng = Rng::new(2);
        let mut counts = [0usize; 4];
        for _ in 0..40_000 {
            counts[b.sample(&mut rng)[0] as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (c as f64 - 10_000.0).abs() < 400.0),
            "{counts:?}"
        );
    }
}
