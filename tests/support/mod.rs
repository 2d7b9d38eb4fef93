//! Fixtures shared by several topics (and, by path, by the benches).

pub mod orchestrator;
pub mod pty;
