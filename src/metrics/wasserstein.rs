//! Exact Wasserstein distances between equal-size empirical samples (docs/methods.md §7).
//!
//! Between two sets of n points with uniform weights an optimal transport plan can be
//! taken to be a permutation (Birkhoff), so W2² is the minimum mean squared distance
//! over one-to-one pairings: a linear assignment problem, solved here exactly by
//! shortest augmenting paths with dual potentials (Jonker & Volgenant 1987), warm
//! started from auction prices (Bertsekas 1988). In 1-D the monotone (sorted) pairing
//! is optimal for every convex cost.

/// Marks a row or column that is not yet assigned.
const FREE: usize = usize::MAX;

/// Ratio between successive auction tolerances ε (Bertsekas' ε-scaling).
const EPS_SHRINK: f64 = 8.0;

/// Final auction tolerance as a fraction of the cost range: fine enough that the
/// prices stay useful when one outlier stretches the range, yet thousands of ulps of
/// prices of the size of the range, so every bid moves a price.
const EPS_FINAL_FRACTION: f64 = 1e-12;

/// An optimal assignment with the dual potentials that certify it: u_i + v_j ≤ c_ij
/// for every pair, with equality on assigned pairs, so Σu + Σv equals the cost.
struct Assignment {
    row_to_col: Vec<usize>,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the certificate is checked in tests")
    )]
    u: Vec<f64>,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the certificate is checked in tests")
    )]
    v: Vec<f64>,
}

/// Minimum-cost perfect matching for the dense row-major n×n matrix `cost` (finite
/// entries).
///
/// Two stages. An ε-scaling auction finds near-optimal column potentials v cheaply
/// and robustly (shortest paths alone take O(n³) when the two sets differ in scale,
/// as a collapsed sampler's do). From them, u_i = min_j (c_ij − v_j) is feasible,
/// each row takes its cheapest column if still free, and every remaining row is
/// routed by a shortest augmenting path (Jonker & Volgenant 1987), which keeps the
/// potentials feasible and the matching tight: the result is exact, whatever the
/// quality of the prices.
fn solve_assignment(cost: &[f64], n: usize) -> Assignment {
    debug_assert_eq!(cost.len(), n * n);
    let mut m = Matching {
        cost,
        n,
        v: auction_prices(cost, n),
        row_to_col: vec![FREE; n],
        col_to_row: vec![FREE; n],
    };
    let mut u = vec![0.0; n];
    let mut free_rows = Vec::new();
    for (i, u_i) in u.iter_mut().enumerate() {
        let ((cheapest, j), _) = two_cheapest(m.row(i), &m.v);
        *u_i = cheapest;
        if m.col_to_row[j] == FREE {
            m.assign(i, j);
        } else {
            free_rows.push(i);
        }
    }
    let mut search = PathSearch::new(n);
    for start in free_rows {
        search.augment(&mut m, &mut u, start);
    }
    Assignment {
        row_to_col: m.row_to_col,
        u,
        v: m.v,
    }
}

/// The two cheapest entries of `row[j] − v[j]`, as (value, column); the second is
/// (+inf, 0) for a single column.
fn two_cheapest(row: &[f64], v: &[f64]) -> ((f64, usize), (f64, usize)) {
    let mut first = (f64::INFINITY, 0);
    let mut second = (f64::INFINITY, 0);
    for (j, (c, v_j)) in row.iter().zip(v).enumerate() {
        let reduced = c - v_j;
        if reduced < second.0 {
            if reduced < first.0 {
                second = first;
                first = (reduced, j);
            } else {
                second = (reduced, j);
            }
        }
    }
    (first, second)
}

/// Column potentials from a forward auction with ε-scaling (Bertsekas 1988): in each
/// round every row starts unassigned; an unassigned row bids for its cheapest column
/// j1 under c_ij − v_j, lowering v_{j1} by the gap to its second cheapest plus ε, and
/// takes it from its holder, who bids next. A round ends with all rows assigned and
/// within ε of their cheapest column; ε then shrinks by `EPS_SHRINK`, keeping v.
fn auction_prices(cost: &[f64], n: usize) -> Vec<f64> {
    let mut v = vec![0.0; n];
    let (lowest, highest) = cost
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &c| {
            (lo.min(c), hi.max(c))
        });
    let range = highest - lowest;
    if n < 2 || range <= 0.0 {
        return v;
    }
    let eps_final = range * EPS_FINAL_FRACTION;
    let mut eps = range / EPS_SHRINK;
    let mut holder = vec![FREE; n];
    let mut bidders: Vec<usize> = Vec::with_capacity(n);
    loop {
        holder.fill(FREE);
        bidders.clear();
        bidders.extend((0..n).rev());
        while let Some(i) = bidders.pop() {
            let ((best, j), (second, _)) = two_cheapest(&cost[i * n..(i + 1) * n], &v);
            v[j] -= second - best + eps;
            if holder[j] != FREE {
                bidders.push(holder[j]);
            }
            holder[j] = i;
        }
        if eps <= eps_final {
            return v;
        }
        eps = (eps / EPS_SHRINK).max(eps_final);
    }
}

/// A partial matching with its column potentials.
struct Matching<'a> {
    cost: &'a [f64],
    n: usize,
    v: Vec<f64>,
    row_to_col: Vec<usize>,
    col_to_row: Vec<usize>,
}

impl Matching<'_> {
    fn row(&self, i: usize) -> &[f64] {
        &self.cost[i * self.n..(i + 1) * self.n]
    }

    fn assign(&mut self, i: usize, j: usize) {
        self.row_to_col[i] = j;
        self.col_to_row[j] = i;
    }
}

/// Scratch space for the shortest augmenting path searches, reused across rows.
struct PathSearch {
    dist: Vec<f64>,
    pred: Vec<usize>,
    unscanned: Vec<usize>,
    scanned: Vec<usize>,
}

impl PathSearch {
    fn new(n: usize) -> Self {
        PathSearch {
            dist: vec![f64::INFINITY; n],
            pred: vec![0; n],
            unscanned: Vec::with_capacity(n),
            scanned: Vec::with_capacity(n),
        }
    }

    /// Assigns the free row `start` by flipping a shortest alternating path (reduced
    /// costs c_ij − u_i − v_j ≥ 0, Dijkstra, O(n) per scanned column) to a free
    /// column, and updates u, v so that the new matching is tight and still feasible.
    fn augment(&mut self, m: &mut Matching, u: &mut [f64], start: usize) {
        let n = m.n;
        let dist = &mut self.dist;
        let pred = &mut self.pred;
        dist.fill(f64::INFINITY);
        self.unscanned.clear();
        self.unscanned.extend(0..n);
        self.scanned.clear();

        // An assigned column j leads on to its row at no extra cost (the pair is
        // tight), so that row sits at distance dist[j].
        let mut row = start;
        let mut row_dist = 0.0;
        let (sink, delta) = loop {
            let costs = &m.cost[row * n..(row + 1) * n];
            let u_row = u[row];
            let mut best = f64::INFINITY;
            let mut best_pos = 0;
            for (pos, &j) in self.unscanned.iter().enumerate() {
                let through_row = row_dist + costs[j] - u_row - m.v[j];
                if through_row < dist[j] {
                    dist[j] = through_row;
                    pred[j] = row;
                }
                // On ties prefer a free column: it ends the search.
                if dist[j] < best || (dist[j] == best && m.col_to_row[j] == FREE) {
                    best = dist[j];
                    best_pos = pos;
                }
            }
            let j = self.unscanned.swap_remove(best_pos);
            self.scanned.push(j);
            if m.col_to_row[j] == FREE {
                break (j, best);
            }
            row = m.col_to_row[j];
            row_dist = best;
        };

        // Potentials: every scanned row i (at distance D_i) gains δ − D_i, every scanned
        // column j gives back δ − dist_j. Assigned pairs stay tight, the path's edges
        // become tight, and no reduced cost turns negative.
        u[start] += delta;
        for &j in &self.scanned[..self.scanned.len() - 1] {
            let shift = delta - dist[j];
            u[m.col_to_row[j]] += shift;
            m.v[j] -= shift;
        }

        // Flip the path: each column on it goes to the row that reached it.
        let mut j = sink;
        loop {
            let i = pred[j];
            let previous = m.row_to_col[i];
            m.assign(i, j);
            if i == start {
                break;
            }
            j = previous;
        }
    }
}

/// Row-major n×n matrix of squared Euclidean distances from the points of `a` (rows)
/// to those of `b` (columns).
fn squared_distances(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut cost = Vec::with_capacity((a.len() / d) * (b.len() / d));
    for p in a.chunks_exact(d) {
        for q in b.chunks_exact(d) {
            cost.push(p.iter().zip(q).map(|(x, y)| (x - y) * (x - y)).sum());
        }
    }
    cost
}

fn check_shapes(a: &[f64], b: &[f64], d: usize) {
    assert!(d > 0, "dimension must be positive");
    assert_eq!(a.len(), b.len(), "W2 needs two sets of the same size");
    assert_eq!(
        a.len() % d,
        0,
        "sample length is not a multiple of the dimension"
    );
}

/// Exact W2 between two equal-size point sets (uniform weights), squared Euclidean
/// cost, square root taken: sqrt(min_σ (1/n) Σ_i ‖a_i − b_σ(i)‖²).
///
/// Memory is n² f64 (32 MB for n = 2000). Non-finite coordinates give NaN, as do
/// empty sets; squared distances too large for f64 give +inf.
///
/// Panics if `d` is 0, the sets differ in size or their length is not a multiple of `d`.
pub fn w2(a: &[f64], b: &[f64], d: usize) -> f64 {
    check_shapes(a, b, d);
    let n = a.len() / d;
    if n == 0 || !a.iter().chain(b).all(|x| x.is_finite()) {
        return f64::NAN;
    }
    let cost = squared_distances(a, b, d);
    if !cost.iter().all(|c| c.is_finite()) {
        return f64::INFINITY;
    }
    let assignment = solve_assignment(&cost, n);
    let total: f64 = (assignment.row_to_col.iter().enumerate())
        .map(|(i, &j)| cost[i * n + j])
        .sum();
    (total / n as f64).sqrt()
}

/// Both samples sorted, or None if either holds a non-finite value.
fn sorted_pair(a: &[f64], b: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    assert_eq!(
        a.len(),
        b.len(),
        "1-D distances need samples of the same size"
    );
    if !a.iter().chain(b).all(|x| x.is_finite()) {
        return None;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable_by(f64::total_cmp);
    b.sort_unstable_by(f64::total_cmp);
    Some((a, b))
}

/// Exact 1-D W1 between equal-size samples: (1/n) Σ_i |a_(i) − b_(i)| over the sorted
/// samples. NaN for empty or non-finite samples; panics if the sizes differ.
pub fn w1_1d(a: &[f64], b: &[f64]) -> f64 {
    match sorted_pair(a, b) {
        Some((a, b)) if !a.is_empty() => {
            a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
        }
        _ => f64::NAN,
    }
}

/// Exact 1-D W2 between equal-size samples: sqrt((1/n) Σ_i (a_(i) − b_(i))²) over the
/// sorted samples. NaN for empty or non-finite samples; panics if the sizes differ.
pub fn w2_1d(a: &[f64], b: &[f64]) -> f64 {
    match sorted_pair(a, b) {
        Some((a, b)) if !a.is_empty() => {
            let sum: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            (sum / a.len() as f64).sqrt()
        }
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn normal_points(rng: &mut Rng, n: usize, d: usize) -> Vec<f64> {
        (0..n * d).map(|_| rng.normal()).collect()
    }

    /// Minimum mean squared cost over all n! pairings (Heap's algorithm).
    fn brute_force_w2(a: &[f64], b: &[f64], d: usize) -> f64 {
        let n = a.len() / d;
        let cost = squared_distances(a, b, d);
        let mut perm: Vec<usize> = (0..n).collect();
        let total = |p: &[usize]| (0..n).map(|i| cost[i * n + p[i]]).sum::<f64>();
        let mut best = total(&perm);
        let mut counters = vec![0usize; n];
        let mut k = 1;
        while k < n {
            if counters[k] < k {
                let swap_with = if k % 2 == 0 { 0 } else { counters[k] };
                perm.swap(swap_with, k);
                best = best.min(total(&perm));
                counters[k] += 1;
                k = 1;
            } else {
                counters[k] = 0;
                k += 1;
            }
        }
        (best / n as f64).sqrt()
    }

    /// Checks the optimality certificate: a permutation, dual feasibility, and equal
    /// primal and dual objectives.
    fn assert_certified(cost: &[f64], n: usize, assignment: &Assignment) {
        let mut seen = vec![false; n];
        for &j in &assignment.row_to_col {
            assert!(j < n && !seen[j], "not a permutation");
            seen[j] = true;
        }
        let scale = cost.iter().fold(0.0f64, |m, c| m.max(c.abs())).max(1.0);
        let mut min_reduced = f64::INFINITY;
        for i in 0..n {
            for j in 0..n {
                min_reduced = min_reduced.min(cost[i * n + j] - assignment.u[i] - assignment.v[j]);
            }
        }
        assert!(
            min_reduced >= -1e-9 * scale,
            "dual infeasible: {min_reduced}"
        );
        let primal: f64 = (0..n).map(|i| cost[i * n + assignment.row_to_col[i]]).sum();
        let dual: f64 = assignment.u.iter().chain(&assignment.v).sum();
        assert!(
            (primal - dual).abs() <= 1e-9 * scale * n as f64,
            "primal {primal} vs dual {dual}"
        );
    }

    #[test]
    fn w2_matches_brute_force_on_small_sets() {
        for seed in 0..6u64 {
            let mut rng = Rng::new(100 + seed);
            for d in [1, 2] {
                for n in 1..=7 {
                    let a = normal_points(&mut rng, n, d);
                    let b: Vec<f64> = normal_points(&mut rng, n, d)
                        .iter()
                        .map(|x| 1.5 * x + 0.3)
                        .collect();
                    let exact = brute_force_w2(&a, &b, d);
                    let solved = w2(&a, &b, d);
                    assert!(
                        (exact - solved).abs() <= 1e-12 * (1.0 + exact),
                        "seed {seed} d {d} n {n}: {solved} vs {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn w2_matches_brute_force_with_ties() {
        // Integer grid points give many equal costs and equal potentials.
        let mut rng = Rng::new(7);
        for _ in 0..40 {
            let n = 1 + rng.index(7);
            let a: Vec<f64> = (0..2 * n).map(|_| rng.index(3) as f64).collect();
            let b: Vec<f64> = (0..2 * n).map(|_| rng.index(3) as f64).collect();
            let exact = brute_force_w2(&a, &b, 2);
            assert!((w2(&a, &b, 2) - exact).abs() <= 1e-12 * (1.0 + exact));
        }
        // Identical sets, with repeated points, are at distance 0.
        let a = [0.0, 1.0, 0.0, 1.0, 2.0, 2.0, 0.0, 1.0];
        let mut b = a;
        b.swap(0, 4);
        b.swap(1, 5);
        assert_eq!(w2(&a, &b, 2), 0.0);
    }

    #[test]
    fn w2_in_one_dimension_equals_sorted_pairing() {
        let mut rng = Rng::new(5);
        let n = 500;
        let a = normal_points(&mut rng, n, 1);
        let b: Vec<f64> = (0..n)
            .map(|_| {
                // A bimodal sample, far from a monotone image of `a`.
                let centre = if rng.uniform() < 0.3 { -2.0 } else { 1.0 };
                centre + 0.5 * rng.normal()
            })
            .collect();
        let exact = w2_1d(&a, &b);
        let solved = w2(&a, &b, 1);
        assert!(
            (exact - solved).abs() <= 1e-10 * exact,
            "{solved} vs {exact}"
        );
    }

    #[test]
    fn w2_of_a_translate_is_the_shift_length() {
        // Σ‖a_i − a_σ(i) − c‖² = Σ‖a_i − a_σ(i)‖² + n‖c‖², minimised by σ = id.
        let mut rng = Rng::new(9);
        let n = 300;
        let a = normal_points(&mut rng, n, 2);
        for shift in [[0.0, 0.0], [0.3, -0.4], [-2.0, 1.0], [0.05, 0.0]] {
            let b: Vec<f64> = a
                .iter()
                .enumerate()
                .map(|(k, x)| x + shift[k % 2])
                .collect();
            let expected = (shift[0] * shift[0] + shift[1] * shift[1]).sqrt();
            let got = w2(&a, &b, 2);
            assert!(
                (got - expected).abs() <= 1e-9,
                "{shift:?}: {got} vs {expected}"
            );
            let got = w2(&b, &a, 2);
            assert!(
                (got - expected).abs() <= 1e-9,
                "{shift:?}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn solver_is_certified_optimal_on_random_matrices() {
        let mut rng = Rng::new(21);
        for n in [1, 2, 10, 60, 200] {
            // Uniform costs, and integer costs with many ties.
            let uniform: Vec<f64> = (0..n * n).map(|_| rng.uniform()).collect();
            assert_certified(&uniform, n, &solve_assignment(&uniform, n));
            let ties: Vec<f64> = (0..n * n).map(|_| rng.index(4) as f64).collect();
            assert_certified(&ties, n, &solve_assignment(&ties, n));
        }
        // All costs equal: the auction has nothing to do, the paths everything.
        let flat = vec![2.5; 50 * 50];
        assert_certified(&flat, 50, &solve_assignment(&flat, 50));
    }

    #[test]
    fn solver_is_certified_optimal_on_hard_point_sets() {
        // Sets of very different scale (a collapsed sampler against the truth), and a
        // far outlier that stretches the cost range a millionfold.
        let mut rng = Rng::new(31);
        let n = 300;
        let spread = normal_points(&mut rng, n, 2);
        let narrow: Vec<f64> = (normal_points(&mut rng, n, 2).iter())
            .map(|x| 0.01 * x + 2.0)
            .collect();
        let mut outlier: Vec<f64> = normal_points(&mut rng, n, 2);
        outlier[0] = 1000.0;
        for (a, b) in [(&spread, &narrow), (&narrow, &spread), (&spread, &outlier)] {
            let cost = squared_distances(a, b, 2);
            assert_certified(&cost, n, &solve_assignment(&cost, n));
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn w2_between_two_gaussian_samples_of_2000() {
        let mut rng = Rng::new(2000);
        let n = 2000;
        let a = normal_points(&mut rng, n, 2);
        let b = normal_points(&mut rng, n, 2);
        let started = std::time::Instant::now();
        let distance = w2(&a, &b, 2);
        let seconds = started.elapsed().as_secs_f64();
        println!("w2 of 2000 vs 2000 points in 2-D: {distance:.4} in {seconds:.3} s");
        let cost = squared_distances(&a, &b, 2);
        // Both are samples of one law, so the distance is sampling noise only, far
        // below the mean squared distance ≈ 2d = 4 of the identity pairing.
        assert!(distance > 0.0 && distance < 0.3, "{distance}");
        let identity: f64 = cost.iter().step_by(n + 1).sum::<f64>() / n as f64;
        assert!(distance * distance < identity);
    }

    #[test]
    fn one_dimensional_hand_examples() {
        // Sorted: (0, 1, 2) vs (1, 3, 5) → gaps 1, 2, 3.
        let a = [2.0, 0.0, 1.0];
        let b = [5.0, 1.0, 3.0];
        assert!((w1_1d(&a, &b) - 2.0).abs() < 1e-15);
        assert!((w2_1d(&a, &b) - (14.0f64 / 3.0).sqrt()).abs() < 1e-15);
        // Crossing gaps: (0, 4) vs (1, 2) → |0−1| + |4−2| over 2 = 1.5; W2² = (1+4)/2.
        assert!((w1_1d(&[4.0, 0.0], &[1.0, 2.0]) - 1.5).abs() < 1e-15);
        assert!((w2_1d(&[4.0, 0.0], &[1.0, 2.0]) - 2.5f64.sqrt()).abs() < 1e-15);
        assert_eq!(w1_1d(&a, &a), 0.0);
        assert_eq!(w2_1d(&a, &a), 0.0);
        assert!(w1_1d(&[], &[]).is_nan());
        assert!(w2_1d(&[1.0, f64::NAN], &[0.0, 0.0]).is_nan());
        assert!(w2(&[1.0, f64::INFINITY], &[0.0, 0.0], 1).is_nan());
    }

    #[test]
    fn one_dimensional_shift_identity() {
        let mut rng = Rng::new(3);
        let a: Vec<f64> = (0..1000).map(|_| rng.normal()).collect();
        for c in [0.0, 0.25, -3.0] {
            let b: Vec<f64> = a.iter().rev().map(|x| x + c).collect();
            assert!((w1_1d(&a, &b) - f64::abs(c)).abs() < 1e-12);
            assert!((w2_1d(&a, &b) - f64::abs(c)).abs() < 1e-12);
        }
        // W1 ≤ W2 (Jensen) on unrelated samples.
        let b: Vec<f64> = (0..1000).map(|_| 2.0 * rng.uniform()).collect();
        assert!(w1_1d(&a, &b) <= w2_1d(&a, &b));
    }
}
