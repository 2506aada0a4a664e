//! "Your own energy": a formula E(x, y) or E(x) typed by the user (docs/product.md).
//!
//! Grammar (usual precedence, `^` right-associative and binding tighter than unary minus,
//! so `-x^2` = −(x²) and `2^-1` = ½):
//!
//! ```text
//! expr    = term (("+" | "-") term)*
//! term    = unary (("*" | "/") unary)*
//! unary   = ("-" | "+") unary | power
//! power   = primary ("^" unary)?
//! primary = number | "x" | "y" | "pi" | "e" | "(" expr ")" | name "(" expr ("," expr)* ")"
//! ```
//!
//! Functions: exp, log, sqrt, sin, cos, tanh, abs (1 argument), min, max (2 arguments).
//! The text is compiled to a postfix program and evaluated on a fixed-size stack of dual
//! numbers (value and up to two tangents): forward-mode differentiation, no allocation per
//! point. Derivative rules are exact; where E is not differentiable a subgradient is used:
//! abs′(0) = 0, and min/max at a tie take the first argument's derivative.

use std::sync::Arc;

use super::catalog::{QuadratureSpec, TargetFamily};
use super::{cell_counts, Energy, Window};

/// Longest accepted formula, in characters.
pub const MAX_FORMULA_CHARS: usize = 1000;
/// Deepest accepted nesting of parentheses, function calls, unary signs and exponents.
pub const MAX_FORMULA_DEPTH: usize = 64;
/// Most instructions (numbers, variables, operations, calls) in a compiled formula: about
/// 250 terms, which bounds the work per energy evaluation.
pub const MAX_FORMULA_NODES: usize = 512;
/// Evaluation stack size; the compiler rejects programs that would need more.
const STACK: usize = 256;
/// Keep at most this many local minima as mode centres…
const MAX_MODES: usize = 25;
/// …each holding at least this fraction of the mass (nearest-centre cells).
const MIN_MODE_MASS: f64 = 1e-3;
/// Cells per axis of the grid the modes are looked for on.
const MODE_GRID_2D: usize = 256;
const MODE_GRID_1D: usize = 4096;

const FUNCTIONS: &[(&str, usize)] = &[
    ("exp", 1),
    ("log", 1),
    ("sqrt", 1),
    ("sin", 1),
    ("cos", 1),
    ("tanh", 1),
    ("abs", 1),
    ("min", 2),
    ("max", 2),
];

fn known_functions() -> String {
    FUNCTIONS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Instr {
    Const(f64),
    Var(usize),
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Exp,
    Log,
    Sqrt,
    Sin,
    Cos,
    Tanh,
    Abs,
    Min,
    Max,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Sym(char),
    End,
}

/// A token and its 1-based column in characters.
#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    col: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(v) => format!("number {v}"),
        Tok::Name(n) => format!("\"{n}\""),
        Tok::Sym(c) => format!("\"{c}\""),
        Tok::End => "end of formula".to_string(),
    }
}

/// A [`Formula::parse`] error: the message (starting "formula: ") and, when it concerns
/// one place, the 1-based character column it names, for pointing at it where the formula
/// was typed; None for errors about the whole formula (its length, its complexity, an empty
/// text).
#[derive(Clone, Debug, PartialEq)]
pub struct FormulaError {
    pub message: String,
    pub column: Option<usize>,
}

impl FormulaError {
    fn at(column: usize, message: String) -> FormulaError {
        FormulaError {
            message,
            column: Some(column),
        }
    }

    fn whole(message: String) -> FormulaError {
        FormulaError {
            message,
            column: None,
        }
    }
}

impl std::fmt::Display for FormulaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<FormulaError> for String {
    fn from(e: FormulaError) -> String {
        e.message
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, FormulaError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i < chars.len() && chars[i] == '.' {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            // An exponent only if digits follow ("2e" is 2 then the constant e).
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                }
            }
            let s: String = chars[start..i].iter().collect();
            let v: f64 = s.parse().map_err(|_| {
                FormulaError::at(
                    col,
                    format!("formula: malformed number \"{s}\" at column {col}"),
                )
            })?;
            if !v.is_finite() {
                return Err(FormulaError::at(
                    col,
                    format!("formula: number \"{s}\" at column {col} is too large"),
                ));
            }
            out.push(Token {
                tok: Tok::Num(v),
                col,
            });
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            // Letters, ASCII digits and _ only: "x²" is x then an unexpected "²".
            while i < chars.len()
                && (chars[i].is_alphabetic() || chars[i].is_ascii_digit() || chars[i] == '_')
            {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Name(chars[start..i].iter().collect()),
                col,
            });
        } else if "+-*/^(),".contains(c) {
            out.push(Token {
                tok: Tok::Sym(c),
                col,
            });
            i += 1;
        } else if c == '−' {
            // The typographic minus, as printed in the catalog.
            out.push(Token {
                tok: Tok::Sym('-'),
                col,
            });
            i += 1;
        } else {
            return Err(FormulaError::at(
                col,
                format!("formula: unexpected character \"{c}\" at column {col}"),
            ));
        }
    }
    out.push(Token {
        tok: Tok::End,
        col: chars.len() + 1,
    });
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    dim: usize,
    depth: usize,
    program: Vec<Instr>,
}

const EXPECTED_OPERAND: &str = "expected a number, x, y, pi, e, a function or \"(\"";

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn emit(&mut self, i: Instr) -> Result<(), FormulaError> {
        if self.program.len() >= MAX_FORMULA_NODES {
            return Err(FormulaError::whole(format!(
                "formula: too many operations (more than {MAX_FORMULA_NODES})"
            )));
        }
        self.program.push(i);
        Ok(())
    }

    fn enter(&mut self, col: usize) -> Result<(), FormulaError> {
        self.depth += 1;
        if self.depth > MAX_FORMULA_DEPTH {
            return Err(FormulaError::at(
                col,
                format!("formula: nested deeper than {MAX_FORMULA_DEPTH} levels at column {col}"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<(), FormulaError> {
        self.term()?;
        loop {
            let op = match self.peek().tok {
                Tok::Sym('+') => Instr::Add,
                Tok::Sym('-') => Instr::Sub,
                _ => return Ok(()),
            };
            self.pos += 1;
            self.term()?;
            self.emit(op)?;
        }
    }

    fn term(&mut self) -> Result<(), FormulaError> {
        self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Sym('*') => Instr::Mul,
                Tok::Sym('/') => Instr::Div,
                _ => return Ok(()),
            };
            self.pos += 1;
            self.unary()?;
            self.emit(op)?;
        }
    }

    fn unary(&mut self) -> Result<(), FormulaError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Sym('-') | Tok::Sym('+') => {
                self.enter(t.col)?;
                self.pos += 1;
                self.unary()?;
                if t.tok == Tok::Sym('-') {
                    self.emit(Instr::Neg)?;
                }
                self.depth -= 1;
                Ok(())
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<(), FormulaError> {
        self.primary()?;
        let t = self.peek().clone();
        if t.tok == Tok::Sym('^') {
            self.enter(t.col)?;
            self.pos += 1;
            // Right-associative: the exponent is itself a (signed) power.
            self.unary()?;
            self.emit(Instr::Pow)?;
            self.depth -= 1;
        }
        Ok(())
    }

    fn expect_close(&mut self, open_col: usize) -> Result<(), FormulaError> {
        let t = self.peek().clone();
        if t.tok == Tok::Sym(')') {
            self.pos += 1;
            Ok(())
        } else {
            Err(FormulaError::at(t.col, format!(
                "formula: unexpected {} at column {}; expected \")\" to close the \"(\" at column {open_col}",
                describe(&t.tok),
                t.col
            )))
        }
    }

    fn primary(&mut self) -> Result<(), FormulaError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Num(v) => {
                self.pos += 1;
                self.emit(Instr::Const(*v))
            }
            Tok::Sym('(') => {
                self.enter(t.col)?;
                self.pos += 1;
                self.expr()?;
                self.expect_close(t.col)?;
                self.depth -= 1;
                Ok(())
            }
            Tok::Name(name) => {
                self.pos += 1;
                if self.peek().tok == Tok::Sym('(') {
                    return self.call(name, t.col);
                }
                match name.as_str() {
                    "x" => self.emit(Instr::Var(0)),
                    "y" if self.dim == 2 => self.emit(Instr::Var(1)),
                    "y" => Err(FormulaError::at(t.col, format!(
                        "formula: y at column {} is not allowed in a 1-D formula (the window has one interval); use x only",
                        t.col
                    ))),
                    "pi" => self.emit(Instr::Const(std::f64::consts::PI)),
                    "e" => self.emit(Instr::Const(std::f64::consts::E)),
                    _ if FUNCTIONS.iter().any(|f| f.0 == name) => Err(FormulaError::at(t.col, format!(
                        "formula: function {name} at column {} needs \"(\" and its argument",
                        t.col
                    ))),
                    _ => Err(FormulaError::at(t.col, format!(
                        "formula: unknown name \"{name}\" at column {}; known: {}pi, e and the functions {}",
                        t.col,
                        if self.dim == 2 { "x, y, " } else { "x, " },
                        known_functions()
                    ))),
                }
            }
            other => Err(FormulaError::at(
                t.col,
                format!(
                    "formula: unexpected {} at column {}; {EXPECTED_OPERAND}",
                    describe(other),
                    t.col
                ),
            )),
        }
    }

    /// `name(` … `)`, the name at column `col`, the current token being "(".
    fn call(&mut self, name: &str, col: usize) -> Result<(), FormulaError> {
        let Some(&(_, arity)) = FUNCTIONS.iter().find(|f| f.0 == name) else {
            return Err(FormulaError::at(
                col,
                format!(
                    "formula: unknown function {name} at column {col}; known: {}",
                    known_functions()
                ),
            ));
        };
        let open = self.peek().col;
        self.enter(open)?;
        self.pos += 1;
        let mut args = 0;
        if self.peek().tok != Tok::Sym(')') {
            loop {
                self.expr()?;
                args += 1;
                if self.peek().tok == Tok::Sym(',') {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.expect_close(open)?;
        self.depth -= 1;
        if args != arity {
            return Err(FormulaError::at(
                col,
                format!(
                    "formula: {name} at column {col} takes {arity} argument{}, got {args}",
                    if arity == 1 { "" } else { "s" }
                ),
            ));
        }
        self.emit(match name {
            "exp" => Instr::Exp,
            "log" => Instr::Log,
            "sqrt" => Instr::Sqrt,
            "sin" => Instr::Sin,
            "cos" => Instr::Cos,
            "tanh" => Instr::Tanh,
            "abs" => Instr::Abs,
            "min" => Instr::Min,
            _ => Instr::Max,
        })
    }
}

/// A compiled formula in `dim` ∈ {1, 2} variables.
#[derive(Clone, Debug)]
pub struct Formula {
    program: Vec<Instr>,
    dim: usize,
}

/// Value and tangents (∂/∂x, ∂/∂y) of a subexpression.
#[derive(Clone, Copy, Default)]
struct Dual {
    v: f64,
    d: [f64; 2],
}

impl Dual {
    /// f(a) with f′(a) = `slope`: chain rule.
    fn chain(v: f64, slope: f64, a: Dual) -> Dual {
        Dual {
            v,
            d: [slope * a.d[0], slope * a.d[1]],
        }
    }
}

impl Formula {
    /// Parses and compiles `text` in `dim` variables (1: x; 2: x, y). Errors start with
    /// "formula: " and name the 1-based character column, also given as `column`.
    pub fn parse(text: &str, dim: usize) -> Result<Formula, FormulaError> {
        assert!((1..=2).contains(&dim), "formulas have 1 or 2 variables");
        let n = text.chars().count();
        if n > MAX_FORMULA_CHARS {
            return Err(FormulaError::whole(format!(
                "formula: longer than {MAX_FORMULA_CHARS} characters ({n})"
            )));
        }
        let tokens = tokenize(text)?;
        if tokens.len() == 1 {
            return Err(FormulaError::whole(
                "formula: empty formula; type an energy such as x^2 + y^2".to_string(),
            ));
        }
        let mut p = Parser {
            tokens,
            pos: 0,
            dim,
            depth: 0,
            program: Vec::new(),
        };
        p.expr()?;
        let t = p.peek().clone();
        if t.tok != Tok::End {
            let hint = match t.tok {
                Tok::Sym(')') => "; no \"(\" is open here",
                _ => "; expected an operator (+ - * / ^) or the end of the formula",
            };
            return Err(FormulaError::at(
                t.col,
                format!(
                    "formula: unexpected {} at column {}{hint}",
                    describe(&t.tok),
                    t.col
                ),
            ));
        }
        let f = Formula {
            program: p.program,
            dim,
        };
        if f.max_stack() > STACK {
            return Err(FormulaError::whole(format!(
                "formula: too complex (needs more than {STACK} intermediate values)"
            )));
        }
        Ok(f)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    fn max_stack(&self) -> usize {
        let (mut depth, mut max) = (0usize, 0usize);
        for i in &self.program {
            match i {
                Instr::Const(_) | Instr::Var(_) => depth += 1,
                Instr::Add
                | Instr::Sub
                | Instr::Mul
                | Instr::Div
                | Instr::Pow
                | Instr::Min
                | Instr::Max => depth -= 1,
                _ => {}
            }
            max = max.max(depth);
        }
        max
    }

    /// E(x) (x of length `dim`).
    pub fn eval(&self, x: &[f64]) -> f64 {
        let mut stack = [0.0f64; STACK];
        let mut top = 0usize;
        for i in &self.program {
            match *i {
                Instr::Const(c) => {
                    stack[top] = c;
                    top += 1;
                }
                Instr::Var(k) => {
                    stack[top] = x[k];
                    top += 1;
                }
                Instr::Neg => stack[top - 1] = -stack[top - 1],
                Instr::Exp => stack[top - 1] = stack[top - 1].exp(),
                Instr::Log => stack[top - 1] = stack[top - 1].ln(),
                Instr::Sqrt => stack[top - 1] = stack[top - 1].sqrt(),
                Instr::Sin => stack[top - 1] = stack[top - 1].sin(),
                Instr::Cos => stack[top - 1] = stack[top - 1].cos(),
                Instr::Tanh => stack[top - 1] = stack[top - 1].tanh(),
                Instr::Abs => stack[top - 1] = stack[top - 1].abs(),
                binary => {
                    top -= 1;
                    let (a, b) = (stack[top - 1], stack[top]);
                    stack[top - 1] = match binary {
                        Instr::Add => a + b,
                        Instr::Sub => a - b,
                        Instr::Mul => a * b,
                        Instr::Div => a / b,
                        Instr::Pow => a.powf(b),
                        // Ties take a, as in eval_grad.
                        Instr::Min => {
                            if b < a {
                                b
                            } else {
                                a
                            }
                        }
                        _ => {
                            if b > a {
                                b
                            } else {
                                a
                            }
                        }
                    };
                }
            }
        }
        stack[0]
    }

    /// E(x), with ∇E written into `grad` (len `dim`), by forward-mode dual numbers.
    pub fn eval_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut stack = [Dual::default(); STACK];
        let mut top = 0usize;
        for i in &self.program {
            match *i {
                Instr::Const(c) => {
                    stack[top] = Dual { v: c, d: [0.0; 2] };
                    top += 1;
                }
                Instr::Var(k) => {
                    let mut d = [0.0; 2];
                    d[k] = 1.0;
                    stack[top] = Dual { v: x[k], d };
                    top += 1;
                }
                Instr::Neg => {
                    let a = stack[top - 1];
                    stack[top - 1] = Dual::chain(-a.v, -1.0, a);
                }
                Instr::Exp => {
                    let a = stack[top - 1];
                    let v = a.v.exp();
                    stack[top - 1] = Dual::chain(v, v, a);
                }
                Instr::Log => {
                    let a = stack[top - 1];
                    stack[top - 1] = Dual::chain(a.v.ln(), 1.0 / a.v, a);
                }
                Instr::Sqrt => {
                    let a = stack[top - 1];
                    let v = a.v.sqrt();
                    stack[top - 1] = Dual::chain(v, 0.5 / v, a);
                }
                Instr::Sin => {
                    let a = stack[top - 1];
                    stack[top - 1] = Dual::chain(a.v.sin(), a.v.cos(), a);
                }
                Instr::Cos => {
                    let a = stack[top - 1];
                    stack[top - 1] = Dual::chain(a.v.cos(), -a.v.sin(), a);
                }
                Instr::Tanh => {
                    let a = stack[top - 1];
                    let v = a.v.tanh();
                    stack[top - 1] = Dual::chain(v, 1.0 - v * v, a);
                }
                Instr::Abs => {
                    // Subgradient 0 at 0.
                    let a = stack[top - 1];
                    let s = if a.v > 0.0 {
                        1.0
                    } else if a.v < 0.0 {
                        -1.0
                    } else {
                        0.0
                    };
                    stack[top - 1] = Dual::chain(a.v.abs(), s, a);
                }
                binary => {
                    top -= 1;
                    let (a, b) = (stack[top - 1], stack[top]);
                    stack[top - 1] = match binary {
                        Instr::Add => Dual {
                            v: a.v + b.v,
                            d: [a.d[0] + b.d[0], a.d[1] + b.d[1]],
                        },
                        Instr::Sub => Dual {
                            v: a.v - b.v,
                            d: [a.d[0] - b.d[0], a.d[1] - b.d[1]],
                        },
                        Instr::Mul => Dual {
                            v: a.v * b.v,
                            d: [a.d[0] * b.v + a.v * b.d[0], a.d[1] * b.v + a.v * b.d[1]],
                        },
                        Instr::Div => {
                            let v = a.v / b.v;
                            Dual {
                                v,
                                d: [(a.d[0] - v * b.d[0]) / b.v, (a.d[1] - v * b.d[1]) / b.v],
                            }
                        }
                        Instr::Pow => pow(a, b),
                        Instr::Min => {
                            if b.v < a.v {
                                b
                            } else {
                                a
                            }
                        }
                        _ => {
                            if b.v > a.v {
                                b
                            } else {
                                a
                            }
                        }
                    };
                }
            }
        }
        let r = stack[0];
        grad[..self.dim].copy_from_slice(&r.d[..self.dim]);
        r.v
    }
}

/// a^b: d(a^b) = b·a^(b−1)·da + a^b·ln(a)·db. Each term is dropped when its tangent is
/// zero, so a constant exponent works for negative bases ((−2)^3) and a constant base
/// needs no derivative in a.
fn pow(a: Dual, b: Dual) -> Dual {
    let v = a.v.powf(b.v);
    let da = a.d != [0.0; 2];
    let db = b.d != [0.0; 2];
    let sa = if da { b.v * a.v.powf(b.v - 1.0) } else { 0.0 };
    let sb = if db { v * a.v.ln() } else { 0.0 };
    let mut d = [0.0; 2];
    for k in 0..2 {
        if da {
            d[k] += sa * a.d[k];
        }
        if db {
            d[k] += sb * b.d[k];
        }
    }
    Dual { v, d }
}

/// The JSON form: {"formula": {"energy": "(x^2-4)^2 + 0.5*y^2", "window": [[-3, 3], [-3, 3]]}}.
/// The window (one [lo, hi] per dimension, 1 or 2) is where the quadrature ground truth and
/// the plot live; the dimension is its length.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormulaSpec {
    pub energy: String,
    pub window: Vec<[f64; 2]>,
}

impl FormulaSpec {
    /// Checks the window (1 or 2 intervals, finite, lo < hi) and compiles the formula.
    pub fn compile(&self) -> Result<(Formula, Window), String> {
        let d = self.window.len();
        if !(1..=2).contains(&d) {
            return Err(format!(
                "formula window: needs 1 or 2 intervals [lo, hi] (one per dimension), got {d}"
            ));
        }
        for (i, [lo, hi]) in self.window.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(format!(
                    "formula window: interval {i} [{lo}, {hi}] is not finite"
                ));
            }
            if lo >= hi {
                return Err(format!(
                    "formula window: interval {i} [{lo}, {hi}] needs lo < hi"
                ));
            }
        }
        let formula = Formula::parse(&self.energy, d)?;
        let window = Window {
            lo: self.window.iter().map(|w| w[0]).collect(),
            hi: self.window.iter().map(|w| w[1]).collect(),
        };
        Ok((formula, window))
    }
}

/// E/τ from a formula.
#[derive(Clone, Debug)]
pub struct FormulaEnergy {
    formula: Formula,
    inv_temperature: f64,
}

impl FormulaEnergy {
    pub fn new(formula: Formula, temperature: f64) -> FormulaEnergy {
        FormulaEnergy {
            formula,
            inv_temperature: 1.0 / temperature,
        }
    }
}

impl Energy for FormulaEnergy {
    fn dim(&self) -> usize {
        self.formula.dim
    }

    fn energy(&self, x: &[f64]) -> f64 {
        self.formula.eval(x) * self.inv_temperature
    }

    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let e = self.formula.eval_grad(x, grad);
        for g in grad.iter_mut() {
            *g *= self.inv_temperature;
        }
        e * self.inv_temperature
    }
}

/// Evaluates E/τ at the centres of an n[0]×n[1] grid over `window` (n[1] = 1 in 1-D), row
/// by row (x fastest); Err naming the first point where E is not finite.
fn energy_on_grid(energy: &dyn Energy, window: &Window, n: [usize; 2]) -> Result<Vec<f64>, String> {
    let d = window.lo.len();
    let h: Vec<f64> = (0..d)
        .map(|i| (window.hi[i] - window.lo[i]) / n[i] as f64)
        .collect();
    let mut out = Vec::with_capacity(n[0] * n[1]);
    let mut p = [0.0; 2];
    for iy in 0..n[1] {
        for ix in 0..n[0] {
            p[0] = window.lo[0] + (ix as f64 + 0.5) * h[0];
            if d == 2 {
                p[1] = window.lo[1] + (iy as f64 + 0.5) * h[1];
            }
            let e = energy.energy(&p[..d]);
            if !e.is_finite() {
                return Err(if d == 2 {
                    format!(
                        "formula is not finite at (x, y) = ({:.4}, {:.4}): E = {e}",
                        p[0], p[1]
                    )
                } else {
                    format!("formula is not finite at x = {:.4}: E = {e}", p[0])
                });
            }
            out.push(e);
        }
    }
    Ok(out)
}

/// Mode centres of exp(−E) on `window`: grid cells lower than all their neighbours (8 in
/// 2-D, 2 in 1-D; border cells only have the neighbours inside; of equal neighbours the
/// first in row order counts), the
/// deepest [`MAX_MODES`], then those whose nearest-centre cells hold < [`MIN_MODE_MASS`]
/// of the grid mass are dropped (once, then masses are recomputed by the caller's
/// quadrature). With no strict local minimum (a plateau), the grid's lowest cell.
/// Err if E is not finite somewhere on the grid.
pub fn find_modes(energy: &dyn Energy, window: &Window) -> Result<Vec<Vec<f64>>, String> {
    let d = window.lo.len();
    let n = if d == 2 {
        [MODE_GRID_2D, MODE_GRID_2D]
    } else {
        [MODE_GRID_1D, 1]
    };
    let e = energy_on_grid(energy, window, n)?;
    let centre = |i: usize, axis: usize| {
        window.lo[axis] + (i as f64 + 0.5) * (window.hi[axis] - window.lo[axis]) / n[axis] as f64
    };
    let point = |c: usize| -> Vec<f64> {
        let mut p = vec![centre(c % n[0], 0)];
        if d == 2 {
            p.push(centre(c / n[0], 1));
        }
        p
    };
    let mut minima: Vec<usize> = Vec::new();
    for iy in 0..n[1] {
        for ix in 0..n[0] {
            let c = iy * n[0] + ix;
            let mut lowest = true;
            'neighbours: for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (jx, jy) = (ix as i64 + dx, iy as i64 + dy);
                    if (dx, dy) == (0, 0)
                        || jx < 0
                        || jy < 0
                        || jx >= n[0] as i64
                        || jy >= n[1] as i64
                    {
                        continue;
                    }
                    // Ties (a minimum between two cells) go to the earlier cell.
                    let j = jy as usize * n[0] + jx as usize;
                    if e[j] < e[c] || (e[j] == e[c] && j < c) {
                        lowest = false;
                        break 'neighbours;
                    }
                }
            }
            if lowest {
                minima.push(c);
            }
        }
    }
    if minima.is_empty() {
        let best = (0..e.len())
            .min_by(|&a, &b| e[a].total_cmp(&e[b]))
            .expect("non-empty grid");
        return Ok(vec![point(best)]);
    }
    minima.sort_by(|&a, &b| e[a].total_cmp(&e[b]));
    minima.truncate(MAX_MODES);
    let centres: Vec<Vec<f64>> = minima.iter().map(|&c| point(c)).collect();
    // Nearest-centre masses on the grid.
    let e_min = e[minima[0]];
    let mut mass = vec![0.0; centres.len()];
    for (c, &ec) in e.iter().enumerate() {
        let p = point(c);
        let k = (0..centres.len())
            .min_by(|&a, &b| {
                let da: f64 = (0..d).map(|i| (p[i] - centres[a][i]).powi(2)).sum();
                let db: f64 = (0..d).map(|i| (p[i] - centres[b][i]).powi(2)).sum();
                da.total_cmp(&db)
            })
            .expect("at least one centre");
        mass[k] += (e_min - ec).exp();
    }
    let total: f64 = mass.iter().sum();
    let kept: Vec<Vec<f64>> = centres
        .iter()
        .zip(&mass)
        .filter(|(_, m)| **m >= MIN_MODE_MASS * total)
        .map(|(c, _)| c.clone())
        .collect();
    // The deepest minimum always holds a share ≥ the threshold unless 25 minima split the
    // mass very evenly; keep it regardless.
    Ok(if kept.is_empty() {
        vec![centres[0].clone()]
    } else {
        kept
    })
}

/// Quadrature cells per axis for a formula: its length scales are unknown, so a fixed fine
/// grid (1024² in 2-D, 16384 in 1-D) over the user's window.
const FORMULA_CELLS_2D: usize = 1024;
const FORMULA_CELLS_1D: usize = 16384;

/// A user's formula as a target: plot and quadrature window are the spec's window; no
/// exact sampler (reference samples come from the quadrature grid); modes from
/// [`find_modes`].
pub struct FormulaTarget {
    energy: Arc<FormulaEnergy>,
    window: Window,
    modes: Vec<Vec<f64>>,
    quadrature: QuadratureSpec,
}

impl FormulaTarget {
    pub fn new(spec: &FormulaSpec, tau: f64) -> Result<FormulaTarget, String> {
        let (formula, window) = spec.compile()?;
        let d = formula.dim();
        let energy = Arc::new(FormulaEnergy::new(formula, tau));
        let modes = find_modes(&*energy, &window)?;
        let cells = if d == 2 {
            vec![FORMULA_CELLS_2D; 2]
        } else {
            vec![FORMULA_CELLS_1D]
        };
        // cell_counts with the scale that gives exactly these counts keeps its clamping.
        let scales: Vec<f64> = (0..d)
            .map(|i| (window.hi[i] - window.lo[i]) / (super::CELL_IN_SCALES * cells[i] as f64))
            .collect();
        let quadrature_cells = cell_counts(&window, &scales);
        // The fine grid must be finite too (the mode grid is coarser).
        energy_on_grid(
            &*energy,
            &window,
            [quadrature_cells[0], *quadrature_cells.get(1).unwrap_or(&1)],
        )?;
        Ok(FormulaTarget {
            energy,
            modes,
            quadrature: QuadratureSpec {
                window: window.clone(),
                cells: quadrature_cells,
            },
            window,
        })
    }
}

impl TargetFamily for FormulaTarget {
    fn energy(&self) -> Arc<dyn Energy> {
        self.energy.clone()
    }

    fn window(&self) -> &Window {
        &self.window
    }

    fn modes(&self) -> &[Vec<f64>] {
        &self.modes
    }

    fn quadrature(&self) -> &QuadratureSpec {
        &self.quadrature
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_bound_is_computed() {
        let f = Formula::parse("1+(2+(3+(4+x)))", 1).unwrap();
        assert_eq!(f.max_stack(), 5);
        assert_eq!(f.eval(&[1.0]), 11.0);
    }

    #[test]
    fn formula_family_has_only_its_quadrature() {
        let spec = FormulaSpec {
            energy: "0.5*x^2 + 0.5*y^2".into(),
            window: vec![[-8.0, 8.0], [-8.0, 8.0]],
        };
        let t = FormulaTarget::new(&spec, 1.0).unwrap();
        assert!(t.log_z().is_none() && t.moments().is_none());
        assert!(t.exact_sampler().is_none() && t.as_mixture().is_none());
        assert_eq!(t.projections(), vec![vec![0, 1]]);
        // Its quadrature agrees with the harmonic well's closed form log 2π.
        let gt = t.ground_truth();
        assert!((gt.log_z - (2.0 * std::f64::consts::PI).ln()).abs() < 1e-6);
        assert_eq!(t.modes().len(), 1);
    }
}
