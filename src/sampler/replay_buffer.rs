//! FIFO replay buffer of fixed capacity with uniform sampling with replacement
//! (methods.md §1). Its capacity is independent of how many rows an iteration adds:
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

#[cfg(test)]
mod tests {
    use super::*;

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
