//! The command line: one-shot commands for people and scripts.

mod act;
pub mod args;
mod audit;
mod checkpoint;
mod config;
mod console;
mod context;
mod demo;
mod doctor;
mod error;
mod export;
mod gate;
mod hooks;
mod import;
mod mcp;
mod output;
mod read;
mod serve;
mod store;
mod tasks;
mod trail;

use crate::protocol::ApprovalAction;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

pub use args::Cli;
use args::{AuditCmd, Cmd, DemoCmd, StoreCmd, TokenCmd};
pub use error::CliError;

/// Parses the command line, runs the command, prints one clear line on error.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (2).
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !matches!(e, CliError::BrokenPipe | CliError::Exit(_)) {
                // Errors quote what they were given (ids, queries, lines of a file, a server's
                // words): the terminal sees them made safe.
                eprintln!("opsdeck: {}", crate::text::SafeText::new(&e.to_string()));
            }
            e.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let Some(command) = cli.command else {
        let ctx = context::Context::load(cli.global)?;
        return console::run(&ctx, cli.no_demo, cli.mouse, cli.quiet);
    };
    // Commands that need no config, or must work when it is broken.
    match command {
        Cmd::Completions { shell } => {
            // clap_complete panics on a write error, so the script is made in memory and
            // written here, where a closed pipe (`| head`) ends quietly.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "opsdeck", &mut script);
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, &script)?;
            return Ok(std::io::Write::flush(&mut out)?);
        }
        Cmd::Man => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            return Ok(std::io::Write::flush(&mut out)?);
        }
        Cmd::Doctor => return doctor::run(&cli.global),
        Cmd::Config(cmd) => return config::run(cli.global, &cmd),
        _ => {}
    }
    let ctx = context::Context::load(cli.global)?;
    match command {
        Cmd::Agents { domain } => read::agents(&ctx, domain.as_deref()),
        Cmd::Queues => read::queues(&ctx),
        Cmd::Tasks(a) => tasks::tasks(&ctx, &a),
        Cmd::Incidents(a) => read::incidents(&ctx, &a),
        Cmd::Approvals(a) => read::approvals(&ctx, &a),
        Cmd::Rollouts(a) => read::rollouts(&ctx, &a),
        Cmd::Show { id } => tasks::show(&ctx, &id),
        Cmd::Approve(a) => act::decide(&ctx, ApprovalAction::Approve, &a),
        Cmd::Reject(a) => act::decide(&ctx, ApprovalAction::Reject, &a),
        Cmd::Escalate(a) => gate::escalate(&ctx, &a),
        Cmd::Incident(cmd) => act::incident(&ctx, &cmd),
        Cmd::Rollout(a) => act::rollout(&ctx, &a),
        Cmd::Agent(a) => {
            if matches!(a.action, crate::protocol::AgentAction::Pause)
                && a.reason.as_deref().is_none_or(|r| r.trim().is_empty())
            {
                return Err(CliError::Usage(
                    "pausing an agent needs --reason \"why\"".into(),
                ));
            }
            act::agent(&ctx, a.action, &a.id, a.reason)
        }
        Cmd::Audit(cmd) => {
            if matches!(cmd, AuditCmd::Import { .. } | AuditCmd::Prune { .. }) {
                ctx.require_local("audit import and prune")?;
            }
            audit::run(&ctx, &cmd)
        }
        Cmd::Demo(DemoCmd::Run {
            seed,
            duration,
            start: _,
            agent_token: Some(token),
        }) => demo::run_remote(&ctx, seed, duration, &token),
        Cmd::Demo(DemoCmd::Run {
            seed,
            duration,
            start,
            agent_token: None,
        }) => {
            ctx.require_local("demo run without --agent-token")?;
            demo::run(&ctx, seed, duration, start)
        }
        Cmd::Demo(DemoCmd::Audit { records, seed, end }) => {
            ctx.require_local("demo audit")?;
            trail::synthetic(&ctx, records, seed, end)
        }
        Cmd::Serve(args) => serve::serve(&ctx, &args),
        Cmd::Token(TokenCmd::New {
            name,
            role,
            agent,
            domain,
        }) => serve::new(&name, role.as_deref(), agent, &domain),
        Cmd::Store(StoreCmd::Copy { from, to }) => store::copy_store(&ctx, &from, &to),
        Cmd::Hooks(args::HooksCmd::Print { agent, domain, url }) => {
            hooks::print(&ctx, &agent, &domain, url.as_deref())
        }
        Cmd::Mcp { agent, domain } => mcp::stdio(&ctx, agent.as_deref(), &domain),
        Cmd::Completions { .. } | Cmd::Man | Cmd::Doctor | Cmd::Config(_) => {
            unreachable!("handled above")
        }
    }
}
