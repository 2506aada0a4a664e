//! Boltzmann Playground: diffusion-based samplers of Boltzmann distributions.
//!
//! The numerics are plain Rust with no browser knowledge; `web` is the one
//! wasm-bindgen facade, and `src/bin/playground.rs` the native command line.

#[cfg(test)]
mod alloc_count;
pub mod bench;
pub mod config;
pub mod energy;
pub mod metrics;
pub mod nn;
pub mod rng;
pub mod run;
pub mod sampler;
pub mod sde;
pub mod shared_rollout;
pub mod state;

#[cfg(target_arch = "wasm32")]
pub mod web;
#[cfg(target_arch = "wasm32")]
pub mod web_workers;
