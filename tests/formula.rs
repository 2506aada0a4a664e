#![cfg(not(target_arch = "wasm32"))]
//! User formulas (docs/product.md, "Your own energy"): parser, forward-mode gradient, targets.

use boltzmann_playground::config::{Config, Preset};
use boltzmann_playground::energy::{EnergySpec, Formula, FormulaSpec, Target};
use boltzmann_playground::rng::Rng;
use boltzmann_playground::run::Run;
use serde_json::json;

fn eval1(text: &str, x: f64) -> f64 {
    Formula::parse(text, 1).unwrap().eval(&[x])
}

fn eval2(text: &str, x: f64, y: f64) -> f64 {
    Formula::parse(text, 2).unwrap().eval(&[x, y])
}

fn err(text: &str, dim: usize) -> String {
    Formula::parse(text, dim).unwrap_err().message
}

fn err_column(text: &str, dim: usize) -> Option<usize> {
    Formula::parse(text, dim).unwrap_err().column
}

#[test]
fn precedence_and_associativity() {
    let pi = std::f64::consts::PI;
    let cases: &[(&str, f64)] = &[
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("(2 ^ 3) ^ 2", 64.0),
        ("-2 ^ 2", -4.0),
        ("(-2) ^ 2", 4.0),
        ("2 ^ -1", 0.5),
        ("-x^2", -9.0),
        ("8 / 4 / 2", 1.0),
        ("8 - 4 - 2", 2.0),
        ("2 * 3 ^ 2", 18.0),
        ("--x", 3.0),
        ("+x", 3.0),
        ("1e-3 * 1000", 1.0),
        ("2.5e2", 250.0),
        (".5 + 1.", 1.5),
        ("pi", pi),
        ("e", std::f64::consts::E),
        ("min(1, x) + max(1, x)", 4.0),
        ("abs(-x) * sqrt(4)", 6.0),
        ("exp(log(x))", 3.0),
        ("sin(pi/2) + cos(0) + tanh(0)", 2.0),
        ("x − 1", 2.0),
        ("3 - -x", 6.0),
        ("2^3*2", 16.0),
    ];
    for (text, expected) in cases {
        let v = eval1(text, 3.0);
        assert!(
            (v - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "{text} = {v}, expected {expected}"
        );
    }
    assert_eq!(eval2("x*y - y/x", 2.0, 4.0), 6.0);
    assert_eq!(eval2("(x^2-4)^2 + 0.5*y^2", 1.0, 2.0), 11.0);
}

#[test]
fn every_error_kind_names_its_column() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 2, "formula: empty formula"),
        ("   ", 2, "formula: empty formula"),
        ("(x + 1))", 2, "unexpected \")\" at column 8"),
        (
            "x + * y",
            2,
            "unexpected \"*\" at column 5; expected a number",
        ),
        (
            "foo(x)",
            2,
            "unknown function foo at column 1; known: exp, log",
        ),
        ("2 * bar", 2, "unknown name \"bar\" at column 5"),
        ("x + y", 1, "y at column 5 is not allowed in a 1-D formula"),
        ("min(x)", 2, "min at column 1 takes 2 arguments, got 1"),
        ("exp(x, y)", 2, "exp at column 1 takes 1 argument, got 2"),
        ("exp()", 2, "exp at column 1 takes 1 argument, got 0"),
        (
            "x y",
            2,
            "unexpected \"y\" at column 3; expected an operator",
        ),
        ("2 3", 2, "unexpected number 3 at column 3"),
        (
            "(x + 1",
            2,
            "unexpected end of formula at column 7; expected \")\" to close the \"(\" at column 1",
        ),
        ("x $ 2", 2, "unexpected character \"$\" at column 3"),
        // Columns count characters, not bytes.
        ("ü + x", 2, "unknown name \"ü\" at column 1"),
        ("x² + )", 2, "unexpected character \"²\" at column 2"),
        ("−−x )", 2, "unexpected \")\" at column 5"),
        ("sqrt + 1", 2, "function sqrt at column 1 needs \"(\""),
        ("1e999", 2, "too large"),
        (
            "2e",
            2,
            "unexpected \"e\" at column 2; expected an operator",
        ),
        ("x +", 2, "unexpected end of formula at column 4"),
    ];
    for (text, dim, expected) in cases {
        let e = err(text, *dim);
        assert!(e.starts_with("formula: "), "{text}: {e}");
        assert!(
            e.contains(expected),
            "{text}: got {e:?}, wanted {expected:?}"
        );
    }
}

#[test]
fn bounds_on_length_depth_and_size() {
    let long = format!("x{}", " ".repeat(1000));
    assert!(err(&long, 2).contains("longer than 1000 characters (1001)"));
    // 1000 characters is fine.
    let ok = format!("x{}", " ".repeat(999));
    assert!(Formula::parse(&ok, 2).is_ok());

    let nested = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
    assert!(Formula::parse(&nested(63), 2).is_ok());
    let e = err(&nested(70), 2);
    assert!(
        e.contains("nested deeper than 64 levels at column 65"),
        "{e}"
    );
    let e = err(&format!("{}x", "-".repeat(80)), 2);
    assert!(e.contains("nested deeper than 64"), "{e}");
    let e = err(&format!("{}x", "exp(".repeat(70)), 2);
    assert!(e.contains("nested deeper than 64"), "{e}");

    // x+x+…: 2k − 1 instructions for k terms; 256 terms are 511 ≤ 512, 300 are too many.
    assert!(Formula::parse(&vec!["x"; 256].join("+"), 2).is_ok());
    let e = err(&vec!["x"; 300].join("+"), 2);
    assert!(e.contains("too many operations (more than 512)"), "{e}");
}

/// Random expressions from a small grammar whose values stay finite on [0.5, 2]².
fn random_expression(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.uniform() < 0.25 {
        return match rng.index(4) {
            0 => "x".into(),
            1 => "y".into(),
            2 => format!("{:.3}", 0.5 + rng.uniform()),
            _ => "pi".into(),
        };
    }
    let a = random_expression(rng, depth - 1);
    let b = random_expression(rng, depth - 1);
    match rng.index(14) {
        0 => format!("({a} + {b})"),
        1 => format!("({a} - {b})"),
        2 => format!("{a} * {b}"),
        3 => format!("{a} / (1.5 + sin({b}))"),
        4 => format!("exp(0.3 * sin({a}))"),
        5 => format!("log(2 + cos({a}))"),
        6 => format!("sqrt(1 + ({a})^2)"),
        7 => format!("tanh({a})"),
        8 => format!("abs({a} - 0.123)"),
        9 => format!("min({a}, {b})"),
        10 => format!("max({a}, {b})"),
        11 => format!("(1.2 + sin({a}))^(cos({b}))"),
        12 => format!("-({a})^3"),
        _ => format!("({a})^2 * x"),
    }
}

#[test]
fn gradient_matches_central_differences_on_random_expressions() {
    let mut rng = Rng::new(6);
    let fixed = [
        "(x^2-4)^2 + 0.5*y^2",
        "x^4 - 6*x^2 - 0.5*x + 0.5*y^2",
        "x^y",
        "2^x * y^-2",
        "exp(-x*y) / (1 + y^2)",
        "log(x^2 + y^2)",
        "sqrt(x^2 + y^2) - min(x, y) + max(x*y, 1)",
        "sin(x) * cos(y) + tanh(x - y)",
        "abs(x - y) + e^x + pi*y",
        "-x^2 + (-y)^3",
    ];
    let mut expressions: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    while expressions.len() < 40 {
        expressions.push(random_expression(&mut rng, 4));
    }
    for text in &expressions {
        let f = Formula::parse(text, 2).unwrap_or_else(|e| panic!("{text}: {e}"));
        for _ in 0..10 {
            let p = [0.5 + 1.5 * rng.uniform(), 0.5 + 1.5 * rng.uniform()];
            let mut g = [0.0; 2];
            let v = f.eval_grad(&p, &mut g);
            assert!((v - f.eval(&p)).abs() <= 1e-12 * v.abs().max(1.0), "{text}");
            for k in 0..2 {
                let h = 1e-6;
                let (mut pp, mut pm) = (p, p);
                pp[k] += h;
                pm[k] -= h;
                let fd = (f.eval(&pp) - f.eval(&pm)) / (2.0 * h);
                assert!(
                    (fd - g[k]).abs() <= 1e-5 * (1.0 + g[k].abs()),
                    "{text} at {p:?}: ∂{k} dual {} vs finite difference {fd}",
                    g[k]
                );
            }
        }
    }
    // Subgradients where not differentiable: abs′(0) = 0; min/max ties take the first argument.
    let mut g = [0.0; 2];
    Formula::parse("abs(x)", 2)
        .unwrap()
        .eval_grad(&[0.0, 1.0], &mut g);
    assert_eq!(g, [0.0, 0.0]);
    Formula::parse("min(2*x, y)", 2)
        .unwrap()
        .eval_grad(&[1.0, 2.0], &mut g);
    assert_eq!(g, [2.0, 0.0]);
    Formula::parse("max(y, x)", 2)
        .unwrap()
        .eval_grad(&[1.0, 1.0], &mut g);
    assert_eq!(g, [0.0, 1.0]);
    // Constant exponent of a negative base.
    let v = Formula::parse("x^3", 1)
        .unwrap()
        .eval_grad(&[-2.0], &mut g[..1]);
    assert_eq!((v, g[0]), (-8.0, 12.0));
}

fn formula_target(energy: &str, window: serde_json::Value, tau: f64) -> Result<Target, String> {
    let text = json!({"formula": {"energy": energy, "window": window}}).to_string();
    let spec = EnergySpec::parse(&text)?;
    assert_eq!(spec.name(), "formula");
    Target::new(&spec, tau)
}

fn builtin(name: &str, tau: f64) -> Target {
    Target::new(&EnergySpec::parse(name).unwrap(), tau).unwrap()
}

fn assert_same_ground_truth(a: &Target, b: &Target, tol: f64) {
    let (ga, gb) = (a.ground_truth(), b.ground_truth());
    assert!(
        (ga.log_z - gb.log_z).abs() < tol,
        "log Z {} vs {}",
        ga.log_z,
        gb.log_z
    );
    for (ma, mb) in ga.marginals.iter().zip(&gb.marginals) {
        assert!(
            (ma.mean - mb.mean).abs() < tol,
            "{} vs {}",
            ma.mean,
            mb.mean
        );
        assert!((ma.std - mb.std).abs() < tol, "{} vs {}", ma.std, mb.std);
    }
    for k in 0..ga.cov.len() {
        assert!((ga.cov[k] - gb.cov[k]).abs() < tol);
    }
}

#[test]
fn formula_targets_match_builtin_wells() {
    for tau in [1.0, 2.0] {
        let s = 7.5 * f64::sqrt(tau);
        let f = formula_target("0.5*(x^2+y^2)", json!([[-s, s], [-s, s]]), tau).unwrap();
        let well = builtin("well", tau);
        assert_same_ground_truth(&f, &well, 1e-6);
        assert!((f.ground_truth().log_z - (2.0 * std::f64::consts::PI * tau).ln()).abs() < 1e-6);
        assert_eq!(f.modes.len(), 1);
        assert!(f.modes[0].iter().all(|c| c.abs() < 0.1), "{:?}", f.modes);
        assert!(!f.has_exact_sampler());
    }
    let f = formula_target(
        "x^4 - 6*x^2 - 0.5*x + 0.5*y^2",
        json!([[-4.5, 4.5], [-8, 8]]),
        1.0,
    )
    .unwrap();
    let dw = builtin("double-well", 1.0);
    assert_same_ground_truth(&f, &dw, 1e-6);
    // Two modes found as local minima, masses as the built-in's (84% right).
    assert_eq!(f.modes.len(), 2, "{:?}", f.modes);
    let gt = f.ground_truth();
    let right = if f.modes[0][0] > 0.0 { 0 } else { 1 };
    assert!(
        (gt.mode_masses[right] - 0.844).abs() < 1e-3,
        "{:?}",
        gt.mode_masses
    );

    // 1-D: the quartic well, and gmm-like modes.
    let f1 = formula_target("(x^2 - 4)^2", json!([[-4, 4]]), 1.0).unwrap();
    let q = builtin("double-well1d", 1.0);
    assert_same_ground_truth(&f1, &q, 1e-6);
    assert_eq!(f1.modes.len(), 2);
    let n = formula_target("0.5*x^2", json!([[-9, 9]]), 1.0).unwrap();
    assert!(
        (n.ground_truth().log_z - (2.0 * std::f64::consts::PI).ln().mul_add(0.5, 0.0)).abs() < 1e-6
    );
    // Reference samples come from the grid.
    let xs = n.reference_samples(4000, &mut Rng::new(2));
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    assert!(mean.abs() < 0.08, "{mean}");
}

#[test]
fn bad_formula_targets_say_what_is_wrong() {
    let e = formula_target("log(x)", json!([[-1, 1], [-1, 1]]), 1.0).unwrap_err();
    assert!(e.starts_with("formula is not finite at (x, y) = ("), "{e}");
    let e = formula_target("x + y", json!([[-1, 1]]), 1.0).unwrap_err();
    assert!(e.contains("y at column 5"), "{e}");
    let e = formula_target("x", json!([[1, -1]]), 1.0).unwrap_err();
    assert!(e.contains("interval 0 [1, -1] needs lo < hi"), "{e}");
    let e = formula_target("x", json!([]), 1.0).unwrap_err();
    assert!(e.contains("needs 1 or 2 intervals"), "{e}");
    let e = formula_target("x", json!([[0, 1], [0, 1], [0, 1]]), 1.0).unwrap_err();
    assert!(e.contains("got 3"), "{e}");
    let inf = FormulaSpec {
        energy: "x".into(),
        window: vec![[0.0, f64::INFINITY]],
    };
    assert!(inf.compile().unwrap_err().contains("not finite"));
    let e = formula_target("1/x", json!([[-1, 1]]), 1.0);
    // The centre cell of an even grid never hits 0 exactly: finite, but huge values are
    // allowed; only non-finite ones are errors.
    assert!(e.is_ok() || e.unwrap_err().contains("not finite"));
    let e = EnergySpec::parse(r#"{"formula": {"energy": "x"}}"#).unwrap_err();
    assert!(e.contains("window"), "{e}");
}

#[test]
fn adjoint_trains_on_a_formula_energy() {
    let mut base = serde_json::to_value(Config::preset(Preset::Browser)).unwrap();
    base["sampler"] = json!("adjoint");
    base["energy"] =
        json!({"formula": {"energy": "(x^2-4)^2 + 0.5*y^2", "window": [[-3, 3], [-3, 3]]}});
    let config = Config::from_partial(&base).unwrap();
    let mut run = Run::new(config).unwrap();
    run.run_iterations(3, |_| {}).unwrap();
    let m = run.latest().unwrap();
    assert!(m.loss.is_finite());
}

#[test]
fn error_column_points_at_the_offending_character() {
    // (formula, dim, column, the character there or None for the end of the text)
    let cases: &[(&str, usize, usize, Option<char>)] = &[
        ("(x + 1))", 2, 8, Some(')')),
        ("x + * y", 2, 5, Some('*')),
        ("2 * bar", 2, 5, Some('b')),
        ("x + y", 1, 5, Some('y')),
        ("x $ 2", 2, 3, Some('$')),
        ("x² + )", 2, 2, Some('²')),
        ("x +", 2, 4, None),
    ];
    for &(text, dim, col, at) in cases {
        let e = err(text, dim);
        assert_eq!(err_column(text, dim), Some(col), "{text}: {e}");
        // The message names the same column.
        assert!(e.contains(&format!("at column {col}")), "{text}: {e}");
        assert_eq!(text.chars().nth(col - 1), at, "{text}");
    }
    // Errors about the whole formula name no column.
    assert_eq!(err_column("", 2), None);
    let long = "x+".repeat(600) + "x";
    assert_eq!(err_column(&long, 2), None);
}
