//! Gauss–Legendre quadrature on [0, 1], for recovering a potential from its gradient field
//! by a line integral: ψ(x) − ψ(r) = ∫₀¹ ∇ψ(r + s(x − r))·(x − r) ds. ASBS needs the value
//! of log φ̂₁ (up to a constant) for its path weights, and learns only its gradient h.

/// Nodes and weights of the n-point Gauss–Legendre rule mapped to [0, 1]: exact for
/// polynomials of degree ≤ 2n − 1.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussLegendre {
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
}

impl GaussLegendre {
    /// Panics if n = 0.
    pub fn new(n: usize) -> GaussLegendre {
        assert!(n > 0, "Gauss–Legendre needs at least one node");
        let (mut nodes, mut weights) = (vec![0.0; n], vec![0.0; n]);
        for i in 0..n {
            // Newton's method on P_n from Chebyshev's estimate of the i-th root in [−1, 1].
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            for _ in 0..100 {
                let (p, dp) = legendre(n, x);
                let dx = p / dp;
                x -= dx;
                if dx.abs() < 1e-15 {
                    break;
                }
            }
            let (_, derivative) = legendre(n, x);
            // On [−1, 1]: w = 2 / ((1 − x²) P_n'(x)²); halved by the map s = (1 + x)/2.
            nodes[i] = 0.5 * (1.0 + x);
            weights[i] = 1.0 / ((1.0 - x * x) * derivative * derivative);
        }
        GaussLegendre { nodes, weights }
    }
}

/// P_n(x) and P_n'(x) by the three-term recurrence.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, x);
    for k in 2..=n {
        let k = k as f64;
        let p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
    }
    if n == 0 {
        return (1.0, 0.0);
    }
    let n = n as f64;
    (p1, n * (x * p1 - p0) / (x * x - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_for_polynomials_up_to_degree_2n_minus_1() {
        for n in 1..=10 {
            let rule = GaussLegendre::new(n);
            assert!(
                (rule.weights.iter().sum::<f64>() - 1.0).abs() < 1e-13,
                "n {n}"
            );
            for k in 0..2 * n {
                let q: f64 = rule
                    .nodes
                    .iter()
                    .zip(&rule.weights)
                    .map(|(s, w)| w * s.powi(k as i32))
                    .sum();
                let exact = 1.0 / (k as f64 + 1.0);
                assert!((q - exact).abs() < 1e-13, "n {n}, ∫ s^{k}: {q} vs {exact}");
            }
            // And not beyond: s^{2n} is integrated with an error.
            let q: f64 = rule
                .nodes
                .iter()
                .zip(&rule.weights)
                .map(|(s, w)| w * s.powi(2 * n as i32))
                .sum();
            assert!((q - 1.0 / (2.0 * n as f64 + 1.0)).abs() > 1e-12, "n {n}");
        }
    }

    #[test]
    fn line_integral_of_a_gradient_recovers_the_potential() {
        // ψ(x) = log(0.3·N(x; a, 0.5²) + 0.7·N(x; b, 0.8²)) in 2-D, ∇ψ in closed form.
        let (a, b) = ([1.0, -0.5], [-1.5, 0.5]);
        let comp = |x: &[f64; 2], m: &[f64; 2], s: f64| {
            let r2 = (x[0] - m[0]).powi(2) + (x[1] - m[1]).powi(2);
            (-0.5 * r2 / (s * s)).exp() / (s * s)
        };
        let psi = |x: &[f64; 2]| (0.3 * comp(x, &a, 0.5) + 0.7 * comp(x, &b, 0.8)).ln();
        let grad = |x: &[f64; 2]| {
            let (ca, cb) = (0.3 * comp(x, &a, 0.5), 0.7 * comp(x, &b, 0.8));
            let mut g = [0.0; 2];
            for k in 0..2 {
                g[k] = (ca * (a[k] - x[k]) / 0.25 + cb * (b[k] - x[k]) / 0.64) / (ca + cb);
            }
            g
        };
        let r = [0.2, 0.1];
        // 8 nodes (ASBS's choice) to 1e-3 in ψ, i.e. 0.1% in a path weight; 16 to 1e-6.
        for (nodes, tolerance) in [(8, 1e-3), (16, 1e-6)] {
            let rule = GaussLegendre::new(nodes);
            for x in [[1.0, -0.5], [-2.0, 1.0], [0.5, 1.5]] {
                let mut integral = 0.0;
                for (s, w) in rule.nodes.iter().zip(&rule.weights) {
                    let z = [r[0] + s * (x[0] - r[0]), r[1] + s * (x[1] - r[1])];
                    let g = grad(&z);
                    integral += w * (g[0] * (x[0] - r[0]) + g[1] * (x[1] - r[1]));
                }
                let exact = psi(&x) - psi(&r);
                assert!(
                    (integral - exact).abs() < tolerance,
                    "{nodes} nodes: {integral} vs {exact}"
                );
            }
        }
    }
}
