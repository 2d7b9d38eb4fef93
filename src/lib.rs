//! opsdeck: the control plane for fleets of AI agents, and the console that on-call engineers
//! use to run it.

pub mod authority;
pub mod cli;
pub mod config;
pub mod duration;
pub mod engine;
pub mod format;
pub mod link;
pub mod logging;
pub mod model;
pub mod orchestrator;
pub mod paths;
pub mod protocol;
pub mod query;
pub mod server;
pub mod sim;
pub mod store;
pub mod text;
pub mod tui;
