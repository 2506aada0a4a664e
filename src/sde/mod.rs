//! Noise schedules, the time grid of the Euler–Maruyama rollout, and the Brownian bridge
//! (docs/methods.md §2–§3).

pub mod bridge;
pub mod euler_maruyama;
pub mod schedule;

pub use bridge::BridgeSample;
pub use euler_maruyama::TimeGrid;
pub use schedule::NoiseSchedule;
