//! Counting energy evaluations where they happen: a [`Counted`] energy forwards every call
//! to the energy it wraps and adds to a shared [`EvalCounter`].
//!
//! **One evaluation** is one energy value E(x), or one pair (E(x), ∇E(x)), at one point x:
//! [`Energy::energy`] and [`Energy::energy_grad`] count 1 each, and the batch calls
//! [`Energy::energy_batch`] and [`Energy::energy_grad_batch`] count one per row. A gradient
//! costs no more than a value here because every energy returns E with ∇E.
//!
//! Contract: the count is exact whatever thread evaluates (an atomic counter, so paths
//! advanced by the native rollout's worker threads count too), and nothing evaluated inside
//! [`EvalCounter::uncounted`] is counted: `Run` wraps the energy it gives the sampler and
//! keeps the sampler's evaluation draws (metrics, the report) out of the count this way, so
//! the count is what training has spent.

use super::Energy;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// A count of energy evaluations shared by the [`Counted`] energies it wrapped; clones
/// share the count.
#[derive(Clone, Debug, Default)]
pub struct EvalCounter(Arc<CounterState>);

#[derive(Debug, Default)]
struct CounterState {
    count: AtomicU64,
    paused: AtomicBool,
}

impl EvalCounter {
    pub fn new() -> EvalCounter {
        EvalCounter::default()
    }

    /// `inner`, counting its evaluations here.
    pub fn wrap(&self, inner: Arc<dyn Energy>) -> Arc<dyn Energy> {
        Arc::new(Counted {
            inner,
            counter: self.clone(),
        })
    }

    /// Evaluations counted so far.
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }

    /// Sets the count (a run restored or rolled back to a saved state takes its count).
    pub fn set(&self, count: u64) {
        self.0.count.store(count, Ordering::Relaxed);
    }

    /// Runs `f` without counting the evaluations it makes through the wrapped energies.
    pub fn uncounted<T>(&self, f: impl FnOnce() -> T) -> T {
        let was = self.0.paused.swap(true, Ordering::Relaxed);
        let out = f();
        self.0.paused.store(was, Ordering::Relaxed);
        out
    }

    fn add(&self, n: usize) {
        if !self.0.paused.load(Ordering::Relaxed) {
            self.0.count.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

/// An energy whose evaluations are counted by an [`EvalCounter`] (module doc); its values
/// are the wrapped energy's, bit for bit, batch calls included.
pub struct Counted {
    inner: Arc<dyn Energy>,
    counter: EvalCounter,
}

impl Energy for Counted {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn energy(&self, x: &[f64]) -> f64 {
        self.counter.add(1);
        self.inner.energy(x)
    }

    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        self.counter.add(1);
        self.inner.energy_grad(x, grad)
    }

    fn energy_batch(&self, xs: &[f64], out: &mut [f64]) {
        self.counter.add(xs.len() / self.inner.dim());
        self.inner.energy_batch(xs, out)
    }

    fn energy_grad_batch(&self, xs: &[f64], grads: &mut [f64], out: &mut [f64]) {
        self.counter.add(xs.len() / self.inner.dim());
        self.inner.energy_grad_batch(xs, grads, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::wells::HarmonicWell;

    #[test]
    fn single_and_batch_calls_count_points_and_pauses_count_nothing() {
        let counter = EvalCounter::new();
        let plain: Arc<dyn Energy> = Arc::new(HarmonicWell::new(2, 1.0));
        let e = counter.wrap(plain.clone());
        let xs = [0.5, -1.0, 2.0, 0.25, -3.0, 1.5];
        let (mut g, mut out, mut grads) = ([0.0; 2], [0.0; 3], [0.0; 6]);
        assert_eq!(e.energy(&xs[..2]), plain.energy(&xs[..2]));
        e.energy_grad(&xs[..2], &mut g);
        assert_eq!(counter.count(), 2);
        e.energy_batch(&xs, &mut out);
        e.energy_grad_batch(&xs, &mut grads, &mut out);
        assert_eq!(counter.count(), 8);
        // Counted from another thread too.
        let moved = e.clone();
        std::thread::spawn(move || moved.energy(&[0.0, 0.0]))
            .join()
            .unwrap();
        assert_eq!(counter.count(), 9);
        let inside = counter.uncounted(|| {
            counter.uncounted(|| e.energy(&xs[..2]));
            e.energy_batch(&xs, &mut out);
            counter.count()
        });
        assert_eq!((inside, counter.count()), (9, 9));
        e.energy(&xs[..2]);
        assert_eq!(counter.count(), 10);
        counter.set(3);
        assert_eq!(counter.count(), 3);
    }
}
