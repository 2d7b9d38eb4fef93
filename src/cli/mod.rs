//! The command line: one-shot commands for people and scripts.

mod act;
pub mod args;
mod audit;
mod console;
mod context;
mod demo;
mod error;
mod import;
mod output;
mod read;
mod trail;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

pub use args::Cli;
use args::{AgentVerb, Cmd, DemoCmd};
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
            if !matches!(e, CliError::BrokenPipe) {
                eprintln!("opsdeck: {e}");
            }
            e.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let Some(command) = cli.command else {
        let ctx = context::Context::load(cli.global)?;
        return console::run(&ctx, cli.no_demo, cli.mouse);
    };
    if let Cmd::Completions { shell } = command {
        let mut cmd = Cli::command();
        clap_complete::generate(shell, &mut cmd, "opsdeck", &mut std::io::stdout());
        return Ok(());
    }
    let ctx = context::Context::load(cli.global)?;
    match command {
        Cmd::Agents => read::agents(&ctx),
        Cmd::Queues => read::queues(&ctx),
        Cmd::Incidents { state } => read::incidents(&ctx, &state),
        Cmd::Approvals { state } => read::approvals(&ctx, &state),
        Cmd::Rollouts => read::rollouts(&ctx),
        Cmd::Approve(a) => act::decide(&ctx, act::DecideVerb::Approve, &a),
        Cmd::Reject(a) => act::decide(&ctx, act::DecideVerb::Reject, &a),
        Cmd::Escalate(a) => act::decide(&ctx, act::DecideVerb::Escalate, &a),
        Cmd::Incident(cmd) => act::incident(&ctx, &cmd),
        Cmd::Rollout(a) => act::rollout(&ctx, &a),
        Cmd::Agent(a) => {
            if matches!(a.action, AgentVerb::Pause)
                && a.reason.as_deref().is_none_or(|r| r.trim().is_empty())
            {
                return Err(CliError::Usage(
                    "pausing an agent needs --reason \"why\"".into(),
                ));
            }
            act::agent(&ctx, a.action, &a.id, a.reason)
        }
        Cmd::Audit(cmd) => audit::run(&ctx, &cmd),
        Cmd::Demo(DemoCmd::Run {
            seed,
            duration,
            start,
        }) => demo::run(&ctx, seed, duration, start),
        Cmd::Demo(DemoCmd::Audit { records, seed, end }) => {
            trail::synthetic(&ctx, records, seed, end)
        }
        Cmd::Completions { .. } => unreachable!("handled above"),
    }
}
