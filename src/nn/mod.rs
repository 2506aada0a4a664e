//! The neural-network core (docs/methods.md §1): an f32 MLP with hand-written
//! backprop over one flat parameter vector, Adam, and Fourier time features.

pub mod activation;
pub mod adam;
pub mod gemm;
pub mod mlp;
pub mod time_features;

pub use activation::Activation;
pub use adam::Adam;
pub use mlp::{Mlp, Workspace};
pub use time_features::FourierFeatures;
