//! Per-sample L2 clipping of adjoint targets (docs/methods.md §1): a ← a·min(1, c/(‖a‖ + 1e−6)).

pub fn clip_norm(a: &mut [f64], max_norm: f64) {
    let norm = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let scale = (max_norm / (norm + 1e-6)).min(1.0);
    for v in a {
        *v *= scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_long_vectors_and_keeps_short_ones() {
        let mut a = [30.0, 40.0];
        clip_norm(&mut a, 5.0);
        assert!((a[0] - 3.0).abs() < 1e-6 && (a[1] - 4.0).abs() < 1e-6);
        let mut b = [0.3, -0.4];
        clip_norm(&mut b, 5.0);
        assert_eq!(b, [0.3, -0.4]);
    }
}
