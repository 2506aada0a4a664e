//! A persistent pool of worker threads for the rollout (native only): the threads are
//! spawned once per process and woken per job, instead of spawning scoped threads for every
//! Euler–Maruyama step.
//!
//! A job is a borrowed `Fn(task) + Sync`; `run` returns only after every task finished, so
//! the borrow outlives its use even though the workers are `'static` threads.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, TryLockError};

/// A job with its borrow's lifetime erased (see the SAFETY notes in `Pool::run`).
#[derive(Clone, Copy)]
struct JobPtr(*const (dyn Fn(usize) + Sync + 'static));

// SAFETY: the pointee is `Sync`, so calling it from another thread is sound; the pointer is
// only dereferenced while `Pool::run` keeps the borrow alive.
unsafe impl Send for JobPtr {}

struct State {
    /// Bumped for every job, so a worker sees a new job exactly once.
    generation: u64,
    job: Option<JobPtr>,
    /// Tasks of the current job (task 0 runs on the calling thread).
    tasks: usize,
    /// Worker tasks of the current job not yet finished.
    pending: usize,
    /// A worker's task panicked in the current job.
    panicked: bool,
}

struct Shared {
    state: Mutex<State>,
    start: Condvar,
    done: Condvar,
}

/// Worker threads that stay parked between jobs.
pub(crate) struct Pool {
    shared: Arc<Shared>,
    workers: usize,
}

impl Pool {
    fn new() -> Pool {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    generation: 0,
                    job: None,
                    tasks: 0,
                    pending: 0,
                    panicked: false,
                }),
                start: Condvar::new(),
                done: Condvar::new(),
            }),
            workers: 0,
        }
    }

    /// The process's pool, or None while another thread is running a job on it (the caller
    /// then runs its tasks itself; results never depend on the number of threads).
    pub(crate) fn try_global() -> Option<MutexGuard<'static, Pool>> {
        static GLOBAL: OnceLock<Mutex<Pool>> = OnceLock::new();
        match GLOBAL.get_or_init(|| Mutex::new(Pool::new())).try_lock() {
            Ok(pool) => Some(pool),
            // A job that panicked left the pool consistent (`run` waits before unwinding).
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    fn grow_to(&mut self, workers: usize) {
        while self.workers < workers {
            let shared = Arc::clone(&self.shared);
            let index = self.workers + 1;
            std::thread::Builder::new()
                .name(format!("rollout-{index}"))
                .spawn(move || worker(&shared, index))
                .expect("spawning a rollout worker thread");
            self.workers += 1;
        }
    }

    /// Runs `job(t)` for t in 0..tasks, task 0 on this thread and the others on workers,
    /// and returns when all have finished. A panic in any task is re-raised here.
    pub(crate) fn run(&mut self, tasks: usize, job: &(dyn Fn(usize) + Sync)) {
        if tasks <= 1 {
            if tasks == 1 {
                job(0);
            }
            return;
        }
        self.grow_to(tasks - 1);
        // SAFETY: the erased borrow is dereferenced only by workers between the publication
        // below and their `pending` decrement; this function does not return (nor unwind)
        // before `pending` is 0, and then clears the pointer.
        let ptr = JobPtr(unsafe {
            std::mem::transmute::<
                *const (dyn Fn(usize) + Sync + '_),
                *const (dyn Fn(usize) + Sync + 'static),
            >(job as *const _)
        });
        {
            let mut s = self.shared.state.lock().expect("pool state");
            s.generation += 1;
            s.job = Some(ptr);
            s.tasks = tasks;
            s.pending = tasks - 1;
            s.panicked = false;
        }
        self.shared.start.notify_all();
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        let panicked = {
            let mut s = self.shared.state.lock().expect("pool state");
            while s.pending > 0 {
                s = self.shared.done.wait(s).expect("pool state");
            }
            s.job = None;
            s.panicked
        };
        if let Err(payload) = mine {
            resume_unwind(payload);
        }
        assert!(!panicked, "a rollout worker thread panicked");
    }
}

/// Worker `index` (1-based) runs task `index` of every job that has that many tasks.
fn worker(shared: &Shared, index: usize) {
    let mut seen = 0;
    loop {
        let (job, tasks) = {
            let mut s = shared.state.lock().expect("pool state");
            while s.generation == seen {
                s = shared.start.wait(s).expect("pool state");
            }
            seen = s.generation;
            (s.job, s.tasks)
        };
        let Some(job) = job.filter(|_| index < tasks) else {
            continue;
        };
        // SAFETY: see `Pool::run`: the job is alive until this task is counted as done.
        let ok = catch_unwind(AssertUnwindSafe(|| unsafe { (*job.0)(index) })).is_ok();
        let mut s = shared.state.lock().expect("pool state");
        s.panicked |= !ok;
        s.pending -= 1;
        if s.pending == 0 {
            shared.done.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_task_runs_exactly_once_per_job() {
        let mut pool = Pool::new();
        for tasks in [1, 3, 2, 4, 1, 4] {
            let counts: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..50 {
                pool.run(tasks, &|t| {
                    counts[t].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 50));
        }
        assert_eq!(pool.workers, 3);
    }

    #[test]
    fn a_panicking_worker_task_is_reported_and_the_pool_stays_usable() {
        let mut pool = Pool::new();
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.run(2, &|t| assert!(t != 1, "task 1 fails"));
        }));
        assert!(r.is_err());
        let sum = AtomicUsize::new(0);
        pool.run(2, &|t| {
            sum.fetch_add(t + 1, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 3);
    }
}
