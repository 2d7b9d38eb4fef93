//! Fixtures shared by several topics (and, by path, by the benches).

pub mod orchestrator;
pub mod ports;
pub mod postgres;
pub mod pty;

/// The OS account the tests run as, which opsdeck takes as the local operator.
#[allow(dead_code)]
pub fn os_user() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id -un");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
