//! opsdeck: the control plane for fleets of AI agents, and the console that on-call engineers
//! use to run it.

pub mod authority;
pub mod config;
pub mod duration;
pub mod model;
pub mod store;
