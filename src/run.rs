//! A training run: a target with its ground truth, a sampler, the map between the
//! sampler's and the target's coordinates, and the metric history. The page, the command
//! line and the tests all drive samplers through this.
//!
//! Energy evaluations are counted here, not by the samplers: the sampler is built with the
//! target's energy wrapped by an [`EvalCounter`] (one evaluation = one E or one (E, ∇E) at
//! one point, `crate::energy::counted`). The count is training's: whatever the sampler
//! evaluates while it is built and in [`Sampler::work`]; the evaluation draws
//! ([`Sampler::draw`] for [`Run::evaluate`] and [`Run::report`]) are not counted. It is
//! saved and restored with the run and rolled back with it on divergence.

use crate::config::Config;
use crate::energy::{Affine, Energy, EvalCounter, GroundTruth, Pulled, Target};
use crate::metrics::log_z::estimate_log_z;
use crate::metrics::marginals::{axis_histogram, axis_moments, histogram_tv};
use crate::metrics::modes::{mode_coverage, mode_masses};
use crate::metrics::wasserstein::{w1_1d, w2};
use crate::rng::Rng;
use crate::sampler::{Rollout, Sampler, Work};
use crate::state::StateMap;
use serde::Serialize;
use std::sync::Arc;

/// Metrics of one outer iteration, from its training rollout, in original coordinates.
#[derive(Clone, Debug, Serialize)]
pub struct IterationMetrics {
    pub iteration: usize,
    pub loss: f64,
    /// None where the sampler has no path weights (DDPM).
    pub log_z_elbo: Option<f64>,
    pub log_z_iw: Option<f64>,
    pub ess: Option<f64>,
    pub x_mean: f64,
    pub x_std: f64,
    pub mode_masses: Vec<f64>,
    pub mode_coverage: f64,
    /// 1-D only (docs/methods.md §7, DDPM): W1 and W2 to the truth, each sample matched to the
    /// truth's quantile at its rank (see [`quantile_distances`]), and the histogram total
    /// variation over the display window's bins.
    pub w1: Option<f64>,
    pub w2: Option<f64>,
    pub tv: Option<f64>,
    /// Samples behind these numbers.
    pub samples: usize,
}

/// Ground-truth draws behind the 1-D quantile function of the live W1/W2.
const REFERENCE_1D: usize = 20_000;

/// W1 and W2 between the samples `x` and the distribution whose sorted sample is
/// `reference`: the i-th smallest of n samples is matched to the reference's quantile at
/// (i + ½)/n. With a large reference this is the 1-D optimal coupling of the empirical
/// measure with the truth (sorted matching, docs/methods.md §7) for any n, so the page's live
/// rollout and an evaluation of another size are judged alike.
pub fn quantile_distances(x: &[f64], reference: &[f64]) -> (f64, f64) {
    let n = x.len();
    let m = reference.len();
    if n == 0 || m == 0 || x.iter().any(|v| !v.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let mut sorted = x.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, &v) in sorted.iter().enumerate() {
        // Index of the reference's (i + ½)/n quantile, in integers to avoid rounding down.
        let k = (2 * i + 1) * m / (2 * n);
        let e = v - reference[k.min(m - 1)];
        s1 += e.abs();
        s2 += e * e;
    }
    (s1 / n as f64, (s2 / n as f64).sqrt())
}

/// Per-iteration series for the page's charts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct History {
    pub iteration: Vec<f64>,
    pub loss: Vec<f64>,
    /// NaN where unavailable.
    pub log_z_elbo: Vec<f64>,
    pub log_z_iw: Vec<f64>,
    pub ess: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MarginalReport {
    pub x_mean: f64,
    pub x_std: f64,
    pub true_x_mean: f64,
    pub true_x_std: f64,
}

/// The command line's final JSON line (docs/product.md, Command line).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub sampler: String,
    pub energy: String,
    pub dim: usize,
    pub iters: usize,
    pub seed: u64,
    pub preset: String,
    pub seconds: f64,
    pub energy_evals: u64,
    pub log_z_true: Option<f64>,
    /// log Ẑ, log Ẑ^RW and ESS: null for samplers without path weights (DDPM).
    pub log_z_elbo: Option<f64>,
    pub log_z_iw: Option<f64>,
    pub ess: Option<f64>,
    /// 1-D only: exact W1 from sorted samples, and the histogram total variation over the
    /// display window's 100 bins against the true density (docs/methods.md §7, DDPM).
    pub w1: Option<f64>,
    pub tv: Option<f64>,
    /// Exact-OT W2 between `w2_points` model and ground-truth samples.
    pub w2: f64,
    /// W2 between two independent ground-truth sets of the same size: the noise floor.
    pub w2_floor: f64,
    pub w2_points: usize,
    pub mode_coverage: f64,
    pub mode_masses: Vec<f64>,
    pub true_mode_masses: Vec<f64>,
    pub marginal: MarginalReport,
    /// Samples behind the sample statistics.
    pub samples: usize,
    /// Trajectories behind log Ẑ and ESS (docs/methods.md §7: K = 2000).
    pub log_z_paths: usize,
}

pub struct Run {
    pub config: Config,
    pub target: Target,
    pub truth: GroundTruth,
    /// Sampler coordinates → original coordinates.
    pub map: Affine,
    sampler: Box<dyn Sampler>,
    /// The sampler's saved state after its last completed iteration ([`Sampler::save_state`]):
    /// what a divergence rolls back to and what [`Run::save_state`] exports.
    last_good: StateMap,
    /// The energy evaluations counted when `last_good` was saved.
    last_good_evals: u64,
    /// Counts what the sampler evaluates through `sampler_energy` (module doc).
    evals: EvalCounter,
    /// The target's energy in the sampler's coordinates, counted by `evals`, to rebuild
    /// the sampler from.
    sampler_energy: Arc<dyn Energy>,
    pub history: History,
    latest: Option<IterationMetrics>,
    eval_rng: Rng,
    /// 1-D: sorted ground-truth sample for [`quantile_distances`].
    reference_1d: Option<Vec<f64>>,
    /// The coordinates drawn and judged per mode (d > 2: a projection that
    /// [`Target::check_display_axes`] allows; default the first min(d, 2)).
    display_axes: Vec<usize>,
}

impl Run {
    pub fn new(config: Config) -> Result<Run, String> {
        config.validate()?;
        let target = Target::new(&config.energy, config.temperature)?;
        let truth = target.ground_truth();
        let d = target.dim();
        if config.whiten && !target.moments_known() {
            return Err(format!(
                "whiten: {} has d = {d} and no known covariance to whiten with; set whiten to false",
                config.energy.name()
            ));
        }
        let (map, energy): (Affine, Arc<dyn Energy>) = if config.whiten {
            let map = Affine::whitening(&truth.mean, &truth.cov);
            let pulled = Pulled {
                inner: target.energy.clone(),
                map: map.clone(),
            };
            (map, Arc::new(pulled))
        } else {
            (Affine::identity(d), target.energy.clone())
        };
        let evals = EvalCounter::new();
        let energy = evals.wrap(energy);
        let sampler = config.build_sampler(energy.clone())?;
        // Its own stream, so that the evaluation draws stay those of earlier builds.
        let mut reference_rng = Rng::new(config.seed ^ 0x0E7E_2E4C);
        let reference_1d = (d == 1).then(|| {
            let mut r = target
                .exact_samples(REFERENCE_1D, &mut reference_rng)
                .unwrap_or_else(|| target.reference_samples(REFERENCE_1D, &mut reference_rng));
            r.sort_unstable_by(f64::total_cmp);
            r
        });
        Ok(Run {
            display_axes: (0..target.display_dim()).collect(),
            last_good: sampler.save_state(),
            last_good_evals: evals.count(),
            evals,
            sampler_energy: energy,
            sampler,
            eval_rng: Rng::new(config.seed ^ 0x5EED_E7A1),
            reference_1d,
            config,
            target,
            truth,
            map,
            history: History::default(),
            latest: None,
        })
    }

    pub fn sampler(&self) -> &dyn Sampler {
        self.sampler.as_ref()
    }

    /// Energy evaluations training has made so far (module doc).
    pub fn energy_evals(&self) -> u64 {
        self.evals.count()
    }

    /// The sampler's training rollout opened for Web Workers (`shared_rollout`), if it has one.
    pub fn open_rollout(&mut self) -> Option<crate::sampler::rollout::OpenRollout<'_>> {
        self.sampler.open_rollout()
    }

    pub fn dim(&self) -> usize {
        self.target.dim()
    }

    /// Dimension of what is drawn: min(d, 2) (the target's displayed axes, see
    /// [`Target::project`]).
    pub fn display_dim(&self) -> usize {
        self.target.display_dim()
    }

    /// The displayed coordinates (see [`Run::set_display_axes`]).
    pub fn display_axes(&self) -> &[usize] {
        &self.display_axes
    }

    /// Shows (and judges per mode) another 2-D projection of a d > 2 target; the message
    /// names the allowed ones. The latest metrics are recomputed on it.
    pub fn set_display_axes(&mut self, axes: &[usize]) -> Result<(), String> {
        self.target.check_display_axes(axes)?;
        self.display_axes = axes.to_vec();
        if let (Some(latest), Some(rollout)) = (&self.latest, self.sampler.observe().last_rollout) {
            let m = self.rollout_metrics(rollout, latest.loss);
            self.latest = Some(m);
        }
        Ok(())
    }

    /// The displayed coordinates of every row of `xs` (n × d): n × display_dim.
    pub fn project<T: Copy>(&self, xs: &[T]) -> Vec<T> {
        let d = self.dim();
        xs.chunks_exact(d)
            .flat_map(|x| self.display_axes.iter().map(|&a| x[a]))
            .collect()
    }

    /// Maps flat sampler-coordinate points to original coordinates and keeps the displayed
    /// axes: n × display_dim.
    pub fn to_display_f32(&self, y: &[f32], out: &mut Vec<f32>) {
        self.to_original_f32(y, out);
        if self.dim() > self.display_dim() {
            *out = self.project(out);
        }
    }

    /// The sampler's auxiliary field (ASBS's corrector h) at points given in original
    /// coordinates, as vectors in original coordinates (h maps by the linear part A of the
    /// whitening map); None when the sampler has none.
    pub fn corrector_field(&self, points: &[f32]) -> Option<Vec<f32>> {
        let field = self.sampler.observe().corrector?;
        let d = self.dim();
        let (mut x, mut y) = (vec![0f64; d], vec![0f64; d]);
        let mut ys = Vec::with_capacity(points.len());
        for p in points.chunks_exact(d) {
            for k in 0..d {
                x[k] = p[k] as f64;
            }
            self.map.to_sampler(&x, &mut y);
            ys.extend(y.iter().map(|&v| v as f32));
        }
        let h = field.at(&ys);
        let zero = vec![0f64; d];
        let mut origin = vec![0f64; d];
        self.map.to_original(&zero, &mut origin);
        let mut out = Vec::with_capacity(h.len());
        for v in h.chunks_exact(d) {
            for k in 0..d {
                y[k] = v[k] as f64;
            }
            self.map.to_original(&y, &mut x);
            out.extend((0..d).map(|k| (x[k] - origin[k]) as f32));
        }
        Some(out)
    }

    /// n draws from the source μ of AS/ASBS, in original coordinates (points at the origin
    /// of the sampler's coordinates for the point source); empty for other samplers.
    pub fn source_samples(&mut self, n: usize) -> Vec<f32> {
        if !self.config.sampler_info().capabilities.source {
            return Vec::new();
        }
        let Ok(source) = crate::sampler::source::Source::parse(&self.config.source) else {
            return Vec::new();
        };
        let d = self.dim();
        let mut y = vec![0f32; n * d];
        source.fill(&mut y, d, &mut self.eval_rng);
        let mut out = Vec::new();
        self.to_original_f32(&y, &mut out);
        out
    }

    pub fn latest(&self) -> Option<&IterationMetrics> {
        self.latest.as_ref()
    }

    /// log Z in original coordinates = log Z in sampler coordinates + log|det A|.
    pub fn log_z_shift(&self) -> f64 {
        self.map.log_abs_det()
    }

    /// The ground truth's log Z: closed form where known, else quadrature.
    pub fn log_z_true(&self) -> f64 {
        self.target.log_z.unwrap_or(self.truth.log_z)
    }

    /// One unit of work. On divergence the last good state is restored and the error says
    /// what happened and what to change.
    pub fn work(&mut self) -> Result<Work, String> {
        match self.sampler.work() {
            Ok(w) => {
                if let Work::IterationDone { loss } = w {
                    self.record_iteration(loss);
                    self.last_good = self.sampler.save_state();
                    self.last_good_evals = self.evals.count();
                }
                Ok(w)
            }
            Err(msg) => {
                self.sampler = self.rebuilt_sampler(&self.last_good)?;
                // Evaluations since the last good state are rolled back with it.
                self.evals.set(self.last_good_evals);
                Err(format!(
                    "{msg}. Training stopped and was rolled back to iteration {}.",
                    self.sampler.iteration()
                ))
            }
        }
    }

    /// The run between its last two iterations (the state a divergence would roll back
    /// to): the sampler's [`Sampler::save_state`] under "sampler.", the energy evaluations
    /// counted until then, the metric history and the evaluation generator. With the
    /// configuration it restores the run ([`Run::restore`]).
    pub fn save_state(&self) -> StateMap {
        let mut out = StateMap::new();
        out.put_map("sampler.", &self.last_good);
        out.put_u64("energy_evals", &[self.last_good_evals]);
        out.put_u64("eval_rng", &self.eval_rng.state());
        let h = &self.history;
        out.put_f64("history.iteration", &h.iteration);
        out.put_f64("history.loss", &h.loss);
        out.put_f64("history.log_z_elbo", &h.log_z_elbo);
        out.put_f64("history.log_z_iw", &h.log_z_iw);
        out.put_f64("history.ess", &h.ess);
        out
    }

    /// A run built from `config` and loaded with [`Run::save_state`]'s map: it goes on
    /// exactly as the saved run would have from its last completed iteration. An error
    /// names what does not fit (a map saved under other settings).
    pub fn restore(config: Config, state: &StateMap) -> Result<Run, String> {
        let mut run = Run::new(config)?;
        run.last_good = state.sub_map("sampler.");
        run.sampler.load_state(&run.last_good)?;
        // Saved by the run; earlier files kept the count in the sampler's state (MALA's in
        // its chains'), and DDPM's, which never evaluates the energy, kept none: 0.
        let count = [
            "energy_evals",
            "sampler.energy_evals",
            "sampler.chains.energy_evals",
        ]
        .into_iter()
        .find(|key| state.contains(key))
        .map_or(Ok(0), |key| state.u64(key))?;
        run.evals.set(count);
        run.last_good_evals = count;
        run.eval_rng = Rng::from_state(&state.u64s("eval_rng")?)?;
        let history = History {
            iteration: state.f64s("history.iteration")?,
            loss: state.f64s("history.loss")?,
            log_z_elbo: state.f64s("history.log_z_elbo")?,
            log_z_iw: state.f64s("history.log_z_iw")?,
            ess: state.f64s("history.ess")?,
        };
        let n = history.iteration.len();
        if [
            &history.loss,
            &history.log_z_elbo,
            &history.log_z_iw,
            &history.ess,
        ]
        .iter()
        .any(|s| s.len() != n)
        {
            return Err("saved state: the history's series differ in length".into());
        }
        // The latest metrics are a function of the last rollout (no randomness).
        if let (Some(rollout), Some(&loss)) =
            (run.sampler.observe().last_rollout, history.loss.last())
        {
            run.latest = Some(run.rollout_metrics(rollout, loss));
        }
        run.history = history;
        Ok(run)
    }

    /// A sampler built afresh from the configuration and loaded with `state`.
    fn rebuilt_sampler(&self, state: &StateMap) -> Result<Box<dyn Sampler>, String> {
        let mut sampler = self.config.build_sampler(self.sampler_energy.clone())?;
        sampler.load_state(state)?;
        Ok(sampler)
    }

    /// Runs until `n` more outer iterations have completed.
    pub fn run_iterations(
        &mut self,
        n: usize,
        mut progress: impl FnMut(&IterationMetrics),
    ) -> Result<(), String> {
        let goal = self.sampler.iteration() + n;
        while self.sampler.iteration() < goal {
            if let Work::IterationDone { .. } = self.work()? {
                if let Some(m) = &self.latest {
                    progress(m);
                }
            }
        }
        Ok(())
    }

    /// Maps flat sampler-coordinate points to original coordinates.
    pub fn to_original_f32(&self, y: &[f32], out: &mut Vec<f32>) {
        let d = self.dim();
        out.clear();
        let (mut yi, mut xi) = (vec![0f64; d], vec![0f64; d]);
        for p in y.chunks_exact(d) {
            for k in 0..d {
                yi[k] = p[k] as f64;
            }
            self.map.to_original(&yi, &mut xi);
            out.extend(xi.iter().map(|&v| v as f32));
        }
    }

    fn to_original_f64(&self, y: &[f32]) -> Vec<f64> {
        let d = self.dim();
        let mut out = Vec::with_capacity(y.len());
        let (mut yi, mut xi) = (vec![0f64; d], vec![0f64; d]);
        for p in y.chunks_exact(d) {
            for k in 0..d {
                yi[k] = p[k] as f64;
            }
            self.map.to_original(&yi, &mut xi);
            out.extend_from_slice(&xi);
        }
        out
    }

    fn record_iteration(&mut self, loss: f64) {
        let Some(rollout) = self.sampler.observe().last_rollout else {
            return;
        };
        let m = self.rollout_metrics(rollout, loss);
        let h = &mut self.history;
        h.iteration.push(m.iteration as f64);
        h.loss.push(m.loss);
        h.log_z_elbo.push(m.log_z_elbo.unwrap_or(f64::NAN));
        h.log_z_iw.push(m.log_z_iw.unwrap_or(f64::NAN));
        h.ess.push(m.ess.unwrap_or(f64::NAN));
        self.latest = Some(m);
    }

    fn rollout_metrics(&self, rollout: &Rollout, loss: f64) -> IterationMetrics {
        let x = self.to_original_f64(&rollout.samples);
        self.sample_metrics(&x, rollout.log_weights.as_deref(), loss)
    }

    /// The metrics of samples `x` (original coordinates) and their path log weights.
    fn sample_metrics(
        &self,
        x: &[f64],
        log_weights: Option<&[f64]>,
        loss: f64,
    ) -> IterationMetrics {
        let d = self.dim();
        let lz = log_weights.map(estimate_log_z);
        // The shown projection's first axis (x₀ unless another pair is shown).
        let moments = axis_moments(x, d, self.display_axes[0]);
        let masses = mode_masses(&self.project(x), self.display_dim(), &self.target.modes);
        let distances = self
            .reference_1d
            .as_deref()
            .map(|r| quantile_distances(x, r));
        IterationMetrics {
            iteration: self.sampler.iteration(),
            loss,
            log_z_elbo: lz.map(|l| l.elbo + self.log_z_shift()),
            log_z_iw: lz.map(|l| l.iw + self.log_z_shift()),
            ess: lz.map(|l| l.ess),
            x_mean: moments.mean,
            x_std: moments.std,
            mode_coverage: mode_coverage(&masses, &self.truth.mode_masses),
            mode_masses: masses,
            w1: distances.map(|w| w.0),
            w2: distances.map(|w| w.1),
            tv: (d == 1).then(|| self.histogram_tv(x)),
            samples: x.len() / d,
        }
    }

    /// 1-D: total variation between the histogram of `x` over the display window's bins
    /// and the true density there.
    fn histogram_tv(&self, x: &[f64]) -> f64 {
        let marginal = &self.truth.marginals[0];
        let mut hist = vec![0.0; marginal.density.len()];
        axis_histogram(x, 1, 0, marginal.lo, marginal.hi, &mut hist);
        let width = (marginal.hi - marginal.lo) / hist.len() as f64;
        histogram_tv(&hist, &marginal.density, width)
    }

    /// The page's evaluation: the metrics of `n` fresh samples from the current sampler
    /// (a rollout that trains nothing), with the latest training loss.
    pub fn evaluate(&mut self, n: usize) -> IterationMetrics {
        let rollout = self.draw(n);
        let x = self.to_original_f64(&rollout.samples);
        let loss = self.latest.as_ref().map_or(f64::NAN, |m| m.loss);
        self.sample_metrics(&x, rollout.log_weights.as_deref(), loss)
    }

    /// Final evaluation: `n_samples` fresh samples for the sample statistics, the first
    /// `log_z_paths` of them for log Ẑ and ESS, and `w2_points` for W2 (docs/product.md).
    pub fn report(&mut self, n_samples: usize, log_z_paths: usize, w2_points: usize) -> Report {
        let d = self.dim();
        let rollout = self.draw(n_samples);
        let x = self.to_original_f64(&rollout.samples);
        let k = rollout
            .log_weights
            .as_ref()
            .map_or(0, |w| log_z_paths.min(w.len()));
        let lz = rollout
            .log_weights
            .as_deref()
            .map(|w| estimate_log_z(&w[..k]));
        let moments = axis_moments(&x, d, 0);
        let masses = mode_masses(&self.project(&x), self.display_dim(), &self.target.modes);
        let m = w2_points.min(n_samples);
        let truth_a = self.ground_truth_samples(m);
        let truth_b = self.ground_truth_samples(m);
        Report {
            sampler: self.config.sampler.clone(),
            energy: self.config.energy.name(),
            dim: d,
            iters: self.sampler.iteration(),
            seed: self.config.seed,
            preset: self.config.preset.name().into(),
            seconds: 0.0,
            energy_evals: self.energy_evals(),
            log_z_true: Some(self.log_z_true()),
            log_z_elbo: lz.map(|l| l.elbo + self.log_z_shift()),
            log_z_iw: lz.map(|l| l.iw + self.log_z_shift()),
            ess: lz.map(|l| l.ess),
            w1: (d == 1).then(|| w1_1d(&x, &self.ground_truth_samples(n_samples))),
            tv: (d == 1).then(|| self.histogram_tv(&x)),
            w2: w2(&x[..m * d], &truth_a, d),
            w2_floor: w2(&truth_b, &truth_a, d),
            w2_points: m,
            mode_coverage: mode_coverage(&masses, &self.truth.mode_masses),
            true_mode_masses: self.truth.mode_masses.clone(),
            mode_masses: masses,
            marginal: MarginalReport {
                x_mean: moments.mean,
                x_std: moments.std,
                true_x_mean: self.truth.marginals[0].mean,
                true_x_std: self.truth.marginals[0].std,
            },
            samples: n_samples,
            log_z_paths: k,
        }
    }

    /// n fresh samples for evaluation from the evaluation generator; their energy
    /// evaluations are not training's and are not counted.
    fn draw(&mut self, n: usize) -> Rollout {
        let (sampler, rng) = (&mut self.sampler, &mut self.eval_rng);
        self.evals.uncounted(|| sampler.draw(n, rng))
    }

    /// Exact samples where the target has a sampler, else quadrature-grid samples.
    pub fn ground_truth_samples(&mut self, n: usize) -> Vec<f64> {
        self.target
            .exact_samples(n, &mut self.eval_rng)
            .unwrap_or_else(|| self.target.reference_samples(n, &mut self.eval_rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_sampler_runs_on_high_dimensional_targets() {
        for energy in ["manywell:4", "funnel:3", "gmm40"] {
            for sampler in ["adjoint", "asbs", "mala"] {
                let config = Config::from_partial(&json!({
                    "sampler": sampler, "energy": energy, "paths": 16, "steps": 5,
                    "inner_steps": 1, "batch": 16, "hidden": 8, "layers": 1,
                    "adjoint_iters": 1, "corrector_iters": 1, "source": "point"
                }))
                .unwrap();
                let mut run =
                    Run::new(config).unwrap_or_else(|e| panic!("{sampler} {energy}: {e}"));
                run.run_iterations(2, |_| {})
                    .unwrap_or_else(|e| panic!("{sampler} {energy}: {e}"));
                let m = run.latest().unwrap();
                assert_eq!(m.mode_masses.len(), run.target.modes.len());
                let r = run.report(64, 64, 32);
                assert_eq!(r.dim, run.dim());
                assert!(
                    r.w2.is_finite() && r.w2_floor.is_finite(),
                    "{sampler} {energy}"
                );
                let mut shown = Vec::new();
                run.to_display_f32(run.sampler().observe().particles, &mut shown);
                assert_eq!(shown.len(), 16 * run.display_dim());
            }
        }
    }

    #[test]
    fn quantile_distances_are_zero_on_the_reference_and_measure_a_shift() {
        let mut rng = Rng::new(4);
        let mut reference: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
        reference.sort_unstable_by(f64::total_cmp);
        // The reference's own quantiles at (i + ½)/n: distance 0 up to the rank rounding.
        let n = 500;
        let own: Vec<f64> = (0..n)
            .map(|i| reference[(i * 40 + 20).min(19_999)])
            .collect();
        let (w1, w2) = quantile_distances(&own, &reference);
        assert!(w1 < 1e-12 && w2 < 1e-12, "{w1} {w2}");
        // A shift by c moves every matched pair by c: W1 = W2 = c exactly.
        let shifted: Vec<f64> = own.iter().map(|v| v + 0.3).collect();
        let (w1, w2) = quantile_distances(&shifted, &reference);
        assert!(
            (w1 - 0.3).abs() < 1e-12 && (w2 - 0.3).abs() < 1e-12,
            "{w1} {w2}"
        );
        // A scale by s: W2 = |s − 1|·std (≈ 1 here) for a Gaussian; W1 = |s − 1|·E|x|.
        let wide: Vec<f64> = own.iter().map(|v| 1.5 * v).collect();
        let (w1, w2) = quantile_distances(&wide, &reference);
        assert!((w2 - 0.5).abs() < 0.03, "{w2}");
        assert!(
            (w1 - 0.5 * (2.0 / std::f64::consts::PI).sqrt()).abs() < 0.03,
            "{w1}"
        );
        assert!(quantile_distances(&[f64::NAN], &reference).0.is_nan());
    }

    #[test]
    fn evaluation_reports_1d_distances_and_agrees_with_the_report() {
        let config = Config::from_partial(&json!({"sampler": "ddpm", "energy": "gmm1d-demo",
                                                  "paths": 64, "inner_steps": 5, "steps": 20}))
        .unwrap();
        let mut run = Run::new(config).unwrap();
        run.run_iterations(2, |_| {}).unwrap();
        let live = run.latest().unwrap().clone();
        assert_eq!(live.samples, 64);
        assert!(live.w1.unwrap().is_finite() && live.tv.unwrap().is_finite());
        let e = run.evaluate(4000);
        assert_eq!((e.samples, e.iteration), (4000, 2));
        // The untrained-ish denoiser is wider than the target: W2 ≥ W1 > 0 (Jensen).
        let (w1, w2) = (e.w1.unwrap(), e.w2.unwrap());
        assert!(w1 > 0.05 && w2 >= w1, "{w1} {w2}");
        // Against the command line's W1 (sorted matching with fresh truth samples), which
        // carries the truth's own sampling noise of a few 0.01 at this size.
        let r = run.report(4000, 0, 200);
        assert!(
            (r.w1.unwrap() - w1).abs() < 0.05,
            "{} vs {w1}",
            r.w1.unwrap()
        );
        assert!(e.tv.unwrap() > 0.0 && e.tv.unwrap() <= 1.0);
        // 2-D runs have none of the 1-D numbers.
        let mut flat =
            Run::new(Config::from_partial(&json!({"paths": 32, "steps": 10})).unwrap()).unwrap();
        let e = flat.evaluate(64);
        assert!(e.w1.is_none() && e.w2.is_none() && e.tv.is_none());
    }
}
