#![cfg(not(target_arch = "wasm32"))]
//! The crate's layers point one way: a module may use modules of its own layer or below,
//! never above (docs/architecture.md). Test modules (`#[cfg(test)] mod tests`) are exempt:
//! a test may build its inputs with anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level modules from the bottom up; a module may use the rows at or above its own.
const LAYERS: &[&[&str]] = &[
    &["rng", "state", "alloc_count"],
    &["metrics"],
    &["nn"],
    &["energy"],
    &["sde"],
    &["sampler"],
    &["config"],
    &["run"],
    &["bench", "shared_rollout"],
    &["web", "web_workers"],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|row| row.contains(&module))
        .unwrap_or_else(|| panic!("src/{module}: place the module in a layer of tests/layers.rs"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules that `text` names as `crate::name` in code: comments (which may
/// point a reader to a higher layer) are left out.
fn crate_uses(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut used = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        used.push(name);
    }
    used
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = top.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = match text.find("#[cfg(test)]\nmod tests") {
            Some(at) => &text[..at],
            None => &text[..],
        };
        let own = layer_of(&module);
        for used in crate_uses(code) {
            if used != module && layer_of(&used) > own {
                upward
                    .entry(rel.display().to_string())
                    .or_default()
                    .push(used);
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up a layer (file: modules above it): {upward:?}"
    );
}

#[test]
fn a_use_in_code_counts_and_a_mention_in_a_comment_does_not() {
    let text = "//! see `crate::web` for the page\nuse crate::nn::Mlp; // not crate::run\nlet x = crate::energy::Gmm::new();";
    assert_eq!(crate_uses(text), ["nn", "energy"]);
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(name) = line
            .trim()
            .strip_prefix("pub mod ")
            .or_else(|| line.trim().strip_prefix("mod "))
        {
            layer_of(name.trim_end_matches(';'));
        }
    }
}
