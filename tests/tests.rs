//! opsdeck's integration tests, linked into one binary (`cargo test --test integration`): one
//! module per topic, so adding a topic is one `mod` line here and one file or directory beside.

// Fixtures shared by several topics: a seeded orchestrator served embedded or over HTTP, and a
// real pseudo-terminal read back through a terminal emulator.
mod support;

// Audit search end to end: the query language, pagination, import, retention then verify.
mod audit;
// kill -9 of replicas on one PostgreSQL database while a client drives them.
mod chaos;
// The command line end to end: the real binary on real SQLite files, exit codes and wording.
mod cli;
// `opsdeck escalate --wait`: the gate for scripts, a real process against a real server.
mod gate;
// The control plane through its public API: rules, tasks, alerts, rollouts, durability.
mod engine;
// Claude Code's hooks: golden answers per event, and the settings `hooks print` writes.
mod hooks;
// The link's suite, run unchanged against the embedded and the remote orchestrator.
mod link;
// The MCP server with a real MCP client, on stdio and on /mcp.
mod mcp;
// A throwaway PostgreSQL cluster per test (the harness the PostgreSQL store stands on).
mod postgres;
// TLS to PostgreSQL: the CA file, refused certificates, every session encrypted.
mod postgres_tls;
// The console in a real pseudo-terminal.
mod pty;
// The command line against a running server.
mod remote_cli;
// Several `opsdeck serve` replicas on one PostgreSQL database.
mod replicas;
// `opsdeck serve`: auth, idempotency, limits, problems, the event stream, agents.
mod server;
// Config, doctor, completions, man page and themes: setting opsdeck up.
mod setup;
// The console's pure update and its rendering (insta snapshots).
mod tui;
