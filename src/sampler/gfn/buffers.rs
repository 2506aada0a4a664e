//! The two replay buffers of local search (docs/methods.md §5): D, terminal states of forward
//! trajectories drawn with rank-based priority p ∝ 1/(0.01·|D| + rank) (rank 0 = highest
//! log R), and D_LS, the accepted MALA proposals, drawn uniformly. Both are FIFO rings of
//! fixed capacity.

use crate::rng::Rng;

/// A FIFO ring of states (d values each) with their log R.
#[derive(Clone, Debug)]
pub struct StateBuffer {
    dim: usize,
    capacity: usize,
    states: Vec<f64>,
    log_r: Vec<f64>,
    next: usize,
    len: usize,
}

impl StateBuffer {
    pub fn new(capacity: usize, dim: usize) -> StateBuffer {
        assert!(capacity > 0 && dim > 0);
        StateBuffer {
            dim,
            capacity,
            states: Vec::new(),
            log_r: Vec::new(),
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

    /// Appends a state, overwriting the oldest when full. Storage grows with use, so a
    /// large capacity costs nothing until it is filled.
    pub fn push(&mut self, x: &[f64], log_r: f64) {
        debug_assert_eq!(x.len(), self.dim);
        if self.len < self.capacity && self.next == self.len {
            self.states.extend_from_slice(x);
            self.log_r.push(log_r);
        } else {
            let at = self.next * self.dim;
            self.states[at..at + self.dim].copy_from_slice(x);
            self.log_r[self.next] = log_r;
        }
        self.next = (self.next + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    pub fn state(&self, i: usize) -> &[f64] {
        &self.states[i * self.dim..(i + 1) * self.dim]
    }

    pub fn log_r(&self, i: usize) -> f64 {
        self.log_r[i]
    }

    /// Every stored state, n × d in storage order.
    pub fn states(&self) -> &[f64] {
        &self.states[..self.len * self.dim]
    }

    /// A uniformly drawn index.
    pub fn uniform_index(&self, rng: &mut Rng) -> usize {
        assert!(!self.is_empty(), "sampling from an empty buffer");
        rng.index(self.len)
    }

    /// `n` indices drawn with replacement with rank priority p ∝ 1/(0.01·|D| + rank).
    pub fn rank_prioritized(&self, n: usize, rng: &mut Rng) -> Vec<usize> {
        assert!(!self.is_empty(), "sampling from an empty buffer");
        let mut order: Vec<usize> = (0..self.len).collect();
        // Highest log R first; NaN (never stored by the sampler) would sort last.
        order.sort_by(|&a, &b| self.log_r[b].total_cmp(&self.log_r[a]));
        let p = rank_priorities(self.len);
        let mut cdf = Vec::with_capacity(p.len());
        let mut acc = 0.0;
        for q in p {
            acc += q;
            cdf.push(acc);
        }
        (0..n)
            .map(|_| {
                let u = rng.uniform() * acc;
                let rank = cdf.partition_point(|&c| c <= u).min(self.len - 1);
                order[rank]
            })
            .collect()
    }
}

/// Probabilities of ranks 0..n: p_r ∝ 1/(0.01·n + r), normalized.
pub fn rank_priorities(n: usize) -> Vec<f64> {
    let k = 0.01 * n as f64;
    let w: Vec<f64> = (0..n).map(|r| 1.0 / (k + r as f64)).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|v| v / total).collect()
}

impl StateBuffer {
    /// Saves the stored states, their log R and the write position under `prefix`.
    pub fn save_state(&self, out: &mut crate::state::StateMap, prefix: &str) {
        out.put_f64(&format!("{prefix}states"), &self.states);
        out.put_f64(&format!("{prefix}log_r"), &self.log_r);
        out.put_usize(&format!("{prefix}next"), self.next);
        out.put_usize(&format!("{prefix}len"), self.len);
    }

    pub fn load_state(
        &mut self,
        from: &crate::state::StateMap,
        prefix: &str,
    ) -> Result<(), String> {
        let states = from.f64s(&format!("{prefix}states"))?;
        let log_r = from.f64s(&format!("{prefix}log_r"))?;
        let next = from.usize(&format!("{prefix}next"))?;
        let len = from.usize(&format!("{prefix}len"))?;
        let stored = log_r.len();
        if states.len() != stored * self.dim
            || stored > self.capacity
            || len > stored
            || next >= self.capacity
        {
            return Err(format!(
                "saved state: the buffer {prefix} does not fit capacity {} and d = {}",
                self.capacity, self.dim
            ));
        }
        self.states = states;
        self.log_r = log_r;
        self.next = next;
        self.len = len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_priority_draws_follow_the_formula() {
        let mut b = StateBuffer::new(1000, 1);
        // log R = −((37·i) mod 200): distinct values, rank order unrelated to insertion.
        let n = 200;
        for i in 0..n {
            let lr = -(((i * 37) % n) as f64);
            b.push(&[i as f64], lr);
        }
        let p = rank_priorities(n);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // p_0/p_1 = (2 + 1)/2 at |D| = 200.
        assert!((p[0] / p[1] - 1.5).abs() < 1e-12);
        let mut rng = Rng::new(5);
        let draws = 200_000;
        let mut counts = vec![0usize; n];
        for i in b.rank_prioritized(draws, &mut rng) {
            // Rank of state i: its log R is −((i·37) mod n), so rank = (i·37) mod n.
            counts[(i * 37) % n] += 1;
        }
        for r in [0, 1, 2, 10, 50, 199] {
            let want = p[r] * draws as f64;
            let sd = (want * (1.0 - p[r])).sqrt();
            assert!(
                (counts[r] as f64 - want).abs() < 5.0 * sd,
                "rank {r}: {} vs {want}",
                counts[r]
            );
        }
    }

    #[test]
    fn fifo_overwrites_the_oldest() {
        let mut b = StateBuffer::new(3, 2);
        for i in 0..5 {
            b.push(&[i as f64, 0.0], -(i as f64));
        }
        assert_eq!(b.len(), 3);
        let mut firsts: Vec<f64> = (0..3).map(|i| b.state(i)[0]).collect();
        firsts.sort_by(f64::total_cmp);
        assert_eq!(firsts, vec![2.0, 3.0, 4.0]);
        for i in 0..3 {
            assert_eq!(b.log_r(i), -b.state(i)[0]);
        }
    }
}
