//! The multilayer perceptron of docs/methods.md §1 with hand-written backprop.
//!
//! All parameters live in one flat `Vec<f32>`. Layer l (fan_in → fan_out) owns
//! its weight matrix W (fan_out × fan_in, row-major, as torch's `nn.Linear.weight`)
//! followed by its bias (fan_out); layers follow each other in order. Batches
//! are row-major: one sample per row, so a layer computes Z = X·Wᵀ + 1·bᵀ.

use ndarray::{ArrayView2, ArrayViewMut2};
use std::sync::atomic::{AtomicU64, Ordering};

use super::gemm::{gemm, gemm_nt_narrow, scale_by_derivative, Epilogue, Strided};
use super::Activation;
use crate::rng::Rng;

/// Outputs narrower than this go through dot products rather than the register-tile kernel.
const NARROW: usize = 8;

/// Source of parameter stamps: every change of a network's parameters takes a fresh one,
/// so a workspace knows when its transposed weights are stale.
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

fn fresh_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}

/// Where one Linear layer sits in the flat parameter vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layer {
    fan_in: usize,
    fan_out: usize,
    /// Offset of W (fan_out × fan_in); the bias follows at `weights + fan_in·fan_out`.
    weights: usize,
}

impl Layer {
    fn bias(&self) -> usize {
        self.weights + self.fan_in * self.fan_out
    }

    fn end(&self) -> usize {
        self.bias() + self.fan_out
    }
}

/// sizes = [in, h1, ..., out]. Hidden layers use `act`; the output layer is linear.
#[derive(Clone, Debug)]
pub struct Mlp {
    sizes: Vec<usize>,
    act: Activation,
    layers: Vec<Layer>,
    params: Vec<f32>,
    /// Changes whenever `params` may have changed (clones share it while equal).
    stamp: u64,
}

impl PartialEq for Mlp {
    fn eq(&self, other: &Mlp) -> bool {
        self.sizes == other.sizes && self.act == other.act && self.params == other.params
    }
}

impl Mlp {
    /// Hidden-layer weights and biases ~ U(−1/√fan_in, 1/√fan_in) (torch.nn.Linear's default);
    /// output layer zero weights and zero bias (docs/methods.md §1: untrained sampler = base
    /// process).
    /// Panics unless there are at least two sizes, all non-zero.
    pub fn new(sizes: &[usize], act: Activation, rng: &mut Rng) -> Mlp {
        assert!(
            sizes.len() >= 2,
            "Mlp needs at least input and output sizes"
        );
        assert!(
            sizes.iter().all(|&s| s > 0),
            "Mlp layer sizes must be positive"
        );
        let mut layers = Vec::with_capacity(sizes.len() - 1);
        let mut offset = 0;
        for w in sizes.windows(2) {
            let layer = Layer {
                fan_in: w[0],
                fan_out: w[1],
                weights: offset,
            };
            offset = layer.end();
            layers.push(layer);
        }
        let mut params = vec![0.0f32; offset];
        let hidden = &layers[..layers.len() - 1];
        for layer in hidden {
            let bound = 1.0 / (layer.fan_in as f64).sqrt();
            for p in &mut params[layer.weights..layer.end()] {
                *p = ((2.0 * rng.uniform() - 1.0) * bound) as f32;
            }
        }
        Mlp {
            sizes: sizes.to_vec(),
            act,
            layers,
            params,
            stamp: fresh_stamp(),
        }
    }

    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    pub fn activation(&self) -> Activation {
        self.act
    }

    pub fn input_dim(&self) -> usize {
        self.sizes[0]
    }

    pub fn output_dim(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    pub fn params(&self) -> &[f32] {
        &self.params
    }

    pub fn params_mut(&mut self) -> &mut [f32] {
        self.stamp = fresh_stamp();
        &mut self.params
    }

    /// Replaces all parameters (len must equal n_params; panics otherwise).
    pub fn set_params(&mut self, p: &[f32]) {
        assert_eq!(p.len(), self.params.len(), "Mlp::set_params: wrong length");
        self.params.copy_from_slice(p);
        self.stamp = fresh_stamp();
    }

    /// Multiply-adds of one forward pass for one sample (for GFLOP/s reporting).
    pub fn forward_macs(&self) -> usize {
        self.layers.iter().map(|l| l.fan_in * l.fan_out).sum()
    }

    fn weights(&self, layer: &Layer) -> &[f32] {
        &self.params[layer.weights..layer.bias()]
    }

    fn bias(&self, layer: &Layer) -> &[f32] {
        &self.params[layer.bias()..layer.end()]
    }

    /// Batched forward; keeps what backward needs in `ws`. Returns the output (batch × out) view into ws.
    /// Panics if x does not have `input_dim` columns.
    pub fn forward<'w>(&self, x: ArrayView2<f32>, ws: &'w mut Workspace) -> ArrayView2<'w, f32> {
        assert_eq!(x.ncols(), self.input_dim(), "Mlp::forward: input width");
        let batch = x.nrows();
        ws.prepare(&self.sizes, batch);
        view_mut(&mut ws.input, batch, self.input_dim()).assign(&x);
        self.refresh_transposed(ws);

        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (done, rest) = ws.layers.split_at_mut(l);
            let prev: &[f32] = if l == 0 {
                &ws.input[..batch * layer.fan_in]
            } else {
                &done[l - 1].post[..batch * layer.fan_in]
            };
            let buffers = &mut rest[0];
            let (k, n) = (layer.fan_in, layer.fan_out);
            let pre = &mut buffers.pre[..batch * n];
            if n < NARROW {
                // Z = X·Wᵀ + 1·bᵀ as dot products of X's rows with W's rows.
                gemm_nt_narrow(
                    batch,
                    n,
                    k,
                    prev,
                    self.weights(layer),
                    pre,
                    Some(self.bias(layer)),
                );
                if l < last {
                    self.act.apply_slice(pre, &mut buffers.post[..batch * n]);
                }
            } else {
                // Z = X·Wᵀ + 1·bᵀ with Wᵀ (fan_in × fan_out) from the workspace, bias and
                // activation fused into the kernel's tiles.
                let post = (l < last).then(|| (self.act, &mut buffers.post[..batch * n]));
                gemm(
                    batch,
                    n,
                    k,
                    Strided {
                        data: prev,
                        rs: k,
                        cs: 1,
                    },
                    &ws.transposed[l],
                    n,
                    pre,
                    n,
                    Epilogue {
                        bias: Some(self.bias(layer)),
                        accumulate: false,
                    },
                    post,
                );
            }
        }
        ws.batch = Some(batch);
        view(&ws.layers[last].pre, batch, self.output_dim())
    }

    /// Brings the workspace's copies of Wᵀ up to date with the parameters (once per change).
    fn refresh_transposed(&self, ws: &mut Workspace) {
        if ws.transposed_stamp == Some(self.stamp) {
            return;
        }
        for (layer, wt) in self.layers.iter().zip(&mut ws.transposed) {
            if layer.fan_out < NARROW {
                continue;
            }
            let w = self.weights(layer);
            for (o, row) in w.chunks_exact(layer.fan_in).enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    wt[i * layer.fan_out + o] = v;
                }
            }
        }
        ws.transposed_stamp = Some(self.stamp);
    }

    /// Backward for the last forward on `ws`, given dL/d(output) (batch × out).
    /// Writes (overwrites, not accumulates) dL/dθ into grad_params (len n_params).
    /// If grad_input is Some, writes dL/d(input) (batch × in) — the input vector–Jacobian product.
    /// Panics if `ws` holds no forward pass of this network's shape or a shape is wrong.
    pub fn backward(
        &self,
        ws: &mut Workspace,
        grad_out: ArrayView2<f32>,
        grad_params: &mut [f32],
        grad_input: Option<ArrayViewMut2<f32>>,
    ) {
        let batch = ws
            .batch
            .expect("Mlp::backward: no forward pass on this workspace");
        assert_eq!(
            ws.sizes, self.sizes,
            "Mlp::backward: workspace holds another network"
        );
        assert_eq!(
            grad_out.dim(),
            (batch, self.output_dim()),
            "Mlp::backward: grad_out shape"
        );
        assert_eq!(
            grad_params.len(),
            self.n_params(),
            "Mlp::backward: grad_params length"
        );
        let mut grad_input = grad_input;
        if let Some(gi) = &grad_input {
            assert_eq!(
                gi.dim(),
                (batch, self.input_dim()),
                "Mlp::backward: grad_input shape"
            );
        }

        let Workspace {
            input,
            layers: buffers,
            delta,
            grad_out: grad_out_buf,
            grad_in,
            ..
        } = ws;
        let out_dim = self.output_dim();
        view_mut(grad_out_buf, batch, out_dim).assign(&grad_out);
        let [d0, d1] = delta;
        // δ of the layer being processed lives in `src` (or is grad_out for the
        // output layer); the next δ is written to `dst`, then they swap.
        let (mut src, mut dst) = (&mut d0[..], &mut d1[..]);
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let (k, n) = (layer.fan_in, layer.fan_out);
            let delta: &[f32] = if l == last {
                &grad_out_buf[..batch * n]
            } else {
                &src[..batch * n]
            };
            let prev: &[f32] = if l == 0 {
                &input[..batch * k]
            } else {
                &buffers[l - 1].post[..batch * k]
            };
            // dL/dW = δᵀ·A_prev (fan_out × fan_in), dL/db = Σ_rows δ.
            let (grad_w, grad_b) = grad_params[layer.weights..layer.end()].split_at_mut(k * n);
            gemm(
                n,
                k,
                batch,
                Strided {
                    data: delta,
                    rs: 1,
                    cs: n,
                },
                prev,
                k,
                grad_w,
                k,
                Epilogue::OVERWRITE,
                None,
            );
            grad_b.fill(0.0);
            for row in delta.chunks_exact(n) {
                for (gb, &d) in grad_b.iter_mut().zip(row) {
                    *gb += d;
                }
            }
            // dL/dA_prev = δ·W (batch × fan_in).
            let into_input = l == 0 && grad_input.is_some();
            if l > 0 || into_input {
                let next = if l > 0 {
                    &mut dst[..batch * k]
                } else {
                    &mut grad_in[..batch * k]
                };
                gemm(
                    batch,
                    k,
                    n,
                    Strided {
                        data: delta,
                        rs: n,
                        cs: 1,
                    },
                    self.weights(layer),
                    k,
                    next,
                    k,
                    Epilogue::OVERWRITE,
                    None,
                );
            }
            if l > 0 {
                // Through the activation: δ_prev = dL/dA_prev ⊙ act'(Z_prev).
                let pre = &buffers[l - 1].pre[..batch * k];
                scale_by_derivative(self.act, pre, &mut dst[..batch * k]);
                std::mem::swap(&mut src, &mut dst);
            } else if let Some(gi) = grad_input.as_mut() {
                gi.assign(&view(grad_in, batch, k));
            }
        }
    }
}

fn view(buf: &[f32], rows: usize, cols: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, cols), &buf[..rows * cols]).expect("workspace view")
}

fn view_mut(buf: &mut [f32], rows: usize, cols: usize) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((rows, cols), &mut buf[..rows * cols]).expect("workspace view")
}

/// Per-layer activations kept between forward and backward.
#[derive(Clone, Debug, Default)]
struct LayerBuffers {
    /// Z = A_prev·Wᵀ + b (batch × fan_out); for the output layer, the output.
    pre: Vec<f32>,
    /// A = act(Z) (batch × fan_out); unused for the output layer.
    post: Vec<f32>,
}

/// Preallocated buffers for forward/backward; grows to the largest batch seen, never shrinks.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// Layer sizes the buffers are laid out for.
    sizes: Vec<usize>,
    /// Rows every buffer can hold.
    capacity: usize,
    /// Rows of the last forward pass (None before the first).
    batch: Option<usize>,
    /// Copy of the last forward's input (batch × in), needed for the first layer's dW.
    input: Vec<f32>,
    layers: Vec<LayerBuffers>,
    /// Ping-pong buffers for backpropagated δ (batch × widest hidden layer).
    delta: [Vec<f32>; 2],
    /// Contiguous copy of backward's dL/d(output) (batch × out).
    grad_out: Vec<f32>,
    /// dL/d(input) before it is copied to the caller's view (batch × in).
    grad_in: Vec<f32>,
    /// Wᵀ (fan_in × fan_out) of every layer wide enough for the tile kernel.
    transposed: Vec<Vec<f32>>,
    /// The parameter stamp `transposed` was made from.
    transposed_stamp: Option<u64>,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace::default()
    }

    /// Makes room for `batch` rows of a network with `sizes`. Allocates only when
    /// the shape changes or the batch exceeds every earlier one.
    fn prepare(&mut self, sizes: &[usize], batch: usize) {
        self.batch = None;
        if self.sizes != sizes {
            self.sizes = sizes.to_vec();
            self.layers = vec![LayerBuffers::default(); sizes.len() - 1];
            self.transposed = sizes.windows(2).map(|w| vec![0.0; w[0] * w[1]]).collect();
            self.transposed_stamp = None;
            self.capacity = 0;
        }
        if batch <= self.capacity {
            return;
        }
        let n_layers = sizes.len() - 1;
        self.input.resize(batch * sizes[0], 0.0);
        for (l, buffers) in self.layers.iter_mut().enumerate() {
            let width = sizes[l + 1];
            buffers.pre.resize(batch * width, 0.0);
            if l + 1 < n_layers {
                buffers.post.resize(batch * width, 0.0);
            }
        }
        let widest_hidden = sizes[1..n_layers].iter().copied().max().unwrap_or(0);
        for d in &mut self.delta {
            d.resize(batch * widest_hidden, 0.0);
        }
        self.grad_out.resize(batch * sizes[n_layers], 0.0);
        self.grad_in.resize(batch * sizes[0], 0.0);
        self.capacity = batch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    const ACTIVATIONS: [Activation; 3] = [Activation::Gelu, Activation::Silu, Activation::Relu];

    fn random_matrix(rng: &mut Rng, rows: usize, cols: usize, scale: f64) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |_| (scale * rng.normal()) as f32)
    }

    /// A network with every parameter random (including the output layer), so
    /// every gradient entry is exercised.
    fn random_network(sizes: &[usize], act: Activation, seed: u64) -> Mlp {
        let mut rng = Rng::new(seed);
        let mut mlp = Mlp::new(sizes, act, &mut rng);
        let p: Vec<f32> = (0..mlp.n_params())
            .map(|_| (0.6 * rng.normal()) as f32)
            .collect();
        mlp.set_params(&p);
        mlp
    }

    /// L = Σ c ⊙ f(x), summed in f64 from the f32 outputs; dL/d(output) = c.
    fn linear_loss(mlp: &Mlp, x: &Array2<f32>, c: &Array2<f32>, ws: &mut Workspace) -> f64 {
        let y = mlp.forward(x.view(), ws);
        y.iter()
            .zip(c.iter())
            .map(|(&y, &c)| y as f64 * c as f64)
            .sum()
    }

    /// Smallest |Z| over the hidden pre-activations of the last forward: how far
    /// the batch is from any ReLU kink.
    fn kink_margin(ws: &Workspace, mlp: &Mlp) -> f32 {
        let batch = ws.batch.unwrap();
        let n_hidden = mlp.layers.len() - 1;
        ws.layers[..n_hidden]
            .iter()
            .zip(&mlp.sizes[1..])
            .flat_map(|(b, &w)| b.pre[..batch * w].iter().map(|z| z.abs()))
            .fold(f32::INFINITY, f32::min)
    }

    fn assert_grad_close(analytic: f64, fd: f64, what: &str) {
        let err = (analytic - fd).abs();
        assert!(
            err <= 1e-3 || err <= 1e-2 * fd.abs(),
            "{what}: analytic {analytic} vs finite difference {fd}"
        );
    }

    /// Seeds whose batches keep every hidden pre-activation at least 0.03 away
    /// from 0, so the finite differences below never cross a ReLU kink.
    fn kink_free_setup(
        act: Activation,
        sizes: &[usize],
        batch: usize,
    ) -> (Mlp, Array2<f32>, Array2<f32>) {
        for seed in 0..1000u64 {
            let mlp = random_network(sizes, act, seed);
            let mut rng = Rng::new(1000 + seed);
            let x = random_matrix(&mut rng, batch, sizes[0], 1.0);
            let c = random_matrix(&mut rng, batch, *sizes.last().unwrap(), 1.0);
            let mut ws = Workspace::new();
            mlp.forward(x.view(), &mut ws);
            if act != Activation::Relu || kink_margin(&ws, &mlp) > 0.03 {
                return (mlp, x, c);
            }
        }
        panic!("no kink-free seed found");
    }

    #[test]
    fn parameter_gradients_match_central_differences() {
        let sizes = [3, 6, 5, 2];
        for act in ACTIVATIONS {
            let (mut mlp, x, c) = kink_free_setup(act, &sizes, 4);
            let mut ws = Workspace::new();
            linear_loss(&mlp, &x, &c, &mut ws);
            let mut grad = vec![f32::NAN; mlp.n_params()];
            mlp.backward(&mut ws, c.view(), &mut grad, None);
            let h = 3e-3f32;
            for (i, &analytic) in grad.iter().enumerate() {
                let p0 = mlp.params()[i];
                mlp.params_mut()[i] = p0 + h;
                let up = linear_loss(&mlp, &x, &c, &mut ws);
                mlp.params_mut()[i] = p0 - h;
                let down = linear_loss(&mlp, &x, &c, &mut ws);
                mlp.params_mut()[i] = p0;
                // Divide by the step actually taken in f32.
                let step = ((p0 + h) as f64) - ((p0 - h) as f64);
                let fd = (up - down) / step;
                assert_grad_close(analytic as f64, fd, &format!("{act:?} θ{i}"));
            }
        }
    }

    #[test]
    fn input_vjp_matches_central_differences() {
        let sizes = [4, 7, 6, 3];
        for act in ACTIVATIONS {
            let (mlp, mut x, c) = kink_free_setup(act, &sizes, 5);
            let mut ws = Workspace::new();
            linear_loss(&mlp, &x, &c, &mut ws);
            let mut grad = vec![0.0; mlp.n_params()];
            let mut gx = Array2::<f32>::from_elem(x.dim(), f32::NAN);
            mlp.backward(&mut ws, c.view(), &mut grad, Some(gx.view_mut()));
            let h = 3e-3f32;
            for r in 0..x.nrows() {
                for k in 0..x.ncols() {
                    let x0 = x[[r, k]];
                    x[[r, k]] = x0 + h;
                    let up = linear_loss(&mlp, &x, &c, &mut ws);
                    x[[r, k]] = x0 - h;
                    let down = linear_loss(&mlp, &x, &c, &mut ws);
                    x[[r, k]] = x0;
                    let fd = (up - down) / (((x0 + h) as f64) - ((x0 - h) as f64));
                    assert_grad_close(gx[[r, k]] as f64, fd, &format!("{act:?} x[{r},{k}]"));
                }
            }
        }
    }

    #[test]
    fn backward_accepts_non_contiguous_views_and_overwrites() {
        // grad_out given as a transposed view, grad_input as a column-major view;
        // stale values in grad_params must not leak in (overwrite, not accumulate).
        let mlp = random_network(&[3, 8, 2], Activation::Gelu, 11);
        let mut rng = Rng::new(12);
        let x = random_matrix(&mut rng, 6, 3, 1.0);
        let c = random_matrix(&mut rng, 6, 2, 1.0);
        let c_t = c.t().to_owned();
        let mut ws = Workspace::new();
        mlp.forward(x.view(), &mut ws);
        let mut g_ref = vec![0.0; mlp.n_params()];
        let mut gx_ref = Array2::<f32>::zeros((6, 3));
        mlp.backward(&mut ws, c.view(), &mut g_ref, Some(gx_ref.view_mut()));
        let mut g = vec![123.0; mlp.n_params()];
        let mut gx_t = Array2::<f32>::from_elem((3, 6), 7.0);
        mlp.backward(
            &mut ws,
            c_t.t(),
            &mut g,
            Some(gx_t.view_mut().reversed_axes()),
        );
        for (a, b) in g.iter().zip(&g_ref) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0));
        }
        for (a, b) in gx_t.t().iter().zip(gx_ref.iter()) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0));
        }
    }

    #[test]
    fn fresh_network_outputs_exactly_zero() {
        let mut rng = Rng::new(9);
        for act in ACTIVATIONS {
            let mlp = Mlp::new(&[8, 32, 32, 2], act, &mut rng);
            let x = random_matrix(&mut rng, 17, 8, 5.0);
            let mut ws = Workspace::new();
            let y = mlp.forward(x.view(), &mut ws);
            assert_eq!(y.dim(), (17, 2));
            assert!(y.iter().all(|&v| v == 0.0), "{act:?}: {y:?}");
        }
    }

    #[test]
    fn initialisation_follows_torch_linear_default() {
        let mut rng = Rng::new(1);
        let mlp = Mlp::new(&[8, 128, 64, 2], Activation::Gelu, &mut rng);
        let p = mlp.params();
        for (l, layer) in mlp.layers.iter().enumerate() {
            let block = &p[layer.weights..layer.end()];
            if l == mlp.layers.len() - 1 {
                assert!(block.iter().all(|&v| v == 0.0), "output layer is zero");
                continue;
            }
            // U(−b, b): all inside, and variance b²/3 within sampling error.
            let b = 1.0 / (layer.fan_in as f64).sqrt();
            assert!(block.iter().all(|&v| (v as f64).abs() <= b));
            let n = block.len() as f64;
            let var = block.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n;
            assert!(
                (var / (b * b / 3.0) - 1.0).abs() < 0.1,
                "layer {l} variance {var}"
            );
            let bias = &p[layer.bias()..layer.end()];
            assert!(
                bias.iter().any(|&v| v != 0.0),
                "hidden biases are random too"
            );
        }
    }

    #[test]
    fn batch_forward_equals_row_by_row_and_workspace_reuse_is_exact() {
        for act in ACTIVATIONS {
            let mlp = random_network(&[5, 16, 16, 3], act, 21);
            let mut rng = Rng::new(22);
            let x = random_matrix(&mut rng, 9, 5, 1.0);
            let mut ws = Workspace::new();
            let batched = mlp.forward(x.view(), &mut ws).to_owned();
            let mut ws_row = Workspace::new();
            for r in 0..x.nrows() {
                let y = mlp.forward(x.slice(ndarray::s![r..r + 1, ..]), &mut ws_row);
                for k in 0..3 {
                    let (a, b) = (y[[0, k]], batched[[r, k]]);
                    // Summation order may differ between kernels; values must not.
                    assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{act:?} row {r}");
                }
            }

            // Reuse across batch sizes (big, small, big again, and after a grow)
            // gives bit-identical outputs and gradients to fresh workspaces.
            let c9 = random_matrix(&mut rng, 9, 3, 1.0);
            let x3 = x.slice(ndarray::s![2..5, ..]).to_owned();
            let c3 = random_matrix(&mut rng, 3, 3, 1.0);
            let x20 = random_matrix(&mut rng, 20, 5, 1.0);
            let c20 = random_matrix(&mut rng, 20, 3, 1.0);
            let run = |x: &Array2<f32>, c: &Array2<f32>, ws: &mut Workspace| {
                let y = mlp.forward(x.view(), ws).to_owned();
                let mut g = vec![0.0; mlp.n_params()];
                let mut gx = Array2::zeros(x.dim());
                mlp.backward(ws, c.view(), &mut g, Some(gx.view_mut()));
                (y, g, gx)
            };
            let mut shared = Workspace::new();
            for (xb, cb) in [(&x, &c9), (&x3, &c3), (&x, &c9), (&x20, &c20), (&x3, &c3)] {
                let reused = run(xb, cb, &mut shared);
                let fresh = run(xb, cb, &mut Workspace::new());
                assert_eq!(reused, fresh, "{act:?} batch {}", xb.nrows());
            }
            assert_eq!(shared.capacity, 20);
        }
    }

    #[test]
    fn workspace_follows_a_different_network() {
        let a = random_network(&[2, 4, 1], Activation::Silu, 1);
        let b = random_network(&[3, 5, 5, 2], Activation::Gelu, 2);
        let mut rng = Rng::new(3);
        let xa = random_matrix(&mut rng, 4, 2, 1.0);
        let xb = random_matrix(&mut rng, 4, 3, 1.0);
        let mut ws = Workspace::new();
        let ya = a.forward(xa.view(), &mut ws).to_owned();
        let yb = b.forward(xb.view(), &mut ws).to_owned();
        assert_eq!(yb, b.forward(xb.view(), &mut Workspace::new()));
        assert_eq!(ya, a.forward(xa.view(), &mut ws));
    }

    #[test]
    #[should_panic(expected = "another network")]
    fn backward_refuses_a_workspace_of_another_network() {
        let a = random_network(&[2, 4, 1], Activation::Silu, 1);
        let b = random_network(&[2, 3, 1], Activation::Silu, 2);
        let mut ws = Workspace::new();
        a.forward(Array2::zeros((2, 2)).view(), &mut ws);
        let mut g = vec![0.0; b.n_params()];
        b.backward(&mut ws, Array2::zeros((2, 1)).view(), &mut g, None);
    }

    #[test]
    fn counts_match_the_torch_reference_network() {
        // bench/torch_reference.py default: 8 → 128×4 → 2.
        let mlp = Mlp::new(
            &[8, 128, 128, 128, 128, 2],
            Activation::Gelu,
            &mut Rng::new(0),
        );
        assert_eq!(
            mlp.n_params(),
            (8 * 128 + 128) + 3 * (128 * 128 + 128) + (128 * 2 + 2)
        );
        assert_eq!(mlp.forward_macs(), 8 * 128 + 3 * 128 * 128 + 128 * 2);
        assert_eq!((mlp.input_dim(), mlp.output_dim()), (8, 2));
        assert_eq!(mlp.sizes(), &[8, 128, 128, 128, 128, 2]);
        assert_eq!(mlp.activation(), Activation::Gelu);
    }

    #[test]
    fn single_linear_layer_is_affine() {
        // sizes [in, out]: no hidden layer, Y = X·Wᵀ + b; dL/dX = δ·W.
        let mut mlp = Mlp::new(&[2, 3], Activation::Relu, &mut Rng::new(0));
        mlp.set_params(&[1.0, 2.0, -1.0, 0.5, 0.0, 3.0, 0.1, 0.2, 0.3]);
        let x = ndarray::array![[1.0f32, -2.0], [0.5, 4.0]];
        let mut ws = Workspace::new();
        let y = mlp.forward(x.view(), &mut ws).to_owned();
        assert_eq!(y, ndarray::array![[-2.9f32, -1.8, -5.7], [8.6, 1.7, 12.3]]);
        let mut g = vec![0.0; 9];
        let mut gx = Array2::zeros((2, 2));
        let d = ndarray::array![[1.0f32, 0.0, 0.0], [0.0, 1.0, 1.0]];
        mlp.backward(&mut ws, d.view(), &mut g, Some(gx.view_mut()));
        assert_eq!(gx, ndarray::array![[1.0f32, 2.0], [-1.0, 3.5]]);
        assert_eq!(g, vec![1.0, -2.0, 0.5, 4.0, 0.5, 4.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn tiny_regression_fits_sine_with_adam() {
        // Fit sin on [−π, π] with a 1 → 32 → 32 → 1 GELU network, full batch.
        let n = 64;
        let x = Array2::from_shape_fn((n, 1), |(i, _)| {
            (-std::f64::consts::PI + 2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64) as f32
        });
        let target = x.mapv(f32::sin);
        let mut mlp = Mlp::new(&[1, 32, 32, 1], Activation::Gelu, &mut Rng::new(4));
        let mut adam = super::super::Adam::new(mlp.n_params(), 1e-2);
        let mut ws = Workspace::new();
        let mut grad = vec![0.0; mlp.n_params()];
        let mut grad_out = Array2::<f32>::zeros((n, 1));
        let mut mse = f64::INFINITY;
        let initial = target.iter().map(|&t| (t as f64).powi(2)).sum::<f64>() / n as f64;
        for _ in 0..600 {
            let y = mlp.forward(x.view(), &mut ws);
            // L = (1/n) Σ (y − t)², dL/dy = 2(y − t)/n.
            mse = 0.0;
            for ((g, &y), &t) in grad_out.iter_mut().zip(y.iter()).zip(target.iter()) {
                mse += ((y - t) as f64).powi(2) / n as f64;
                *g = 2.0 * (y - t) / n as f32;
            }
            mlp.backward(&mut ws, grad_out.view(), &mut grad, None);
            adam.step(mlp.params_mut(), &grad);
        }
        assert!(mse < 1e-3 * initial, "MSE {initial} -> {mse}");
    }
}
