//! `opsdeck` with no command: the console on the embedded orchestrator.

use super::context::Context;
use super::error::CliError;
use crate::link::{Embedded, EmbeddedOptions, Link, Remote};
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;
use crate::tui::{self, TuiError, TuiOptions};

pub fn run(ctx: &Context, no_demo: bool, mouse: bool) -> Result<(), CliError> {
    use std::io::IsTerminal;
    // Refuse before touching the store: a pipe gets the message, not a half-started console.
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(TuiError::NotATerminal.to_string()));
    }
    let keymap = Keymap::from_config(&ctx.config.keymap).map_err(CliError::Usage)?;
    crate::logging::init();
    let options = TuiOptions {
        keymap,
        theme: Theme::from_env(),
        mouse,
    };
    if let Some(target) = ctx.target()? {
        let runtime = tui::runtime().map_err(|e| CliError::Runtime(e.to_string()))?;
        let remote = runtime.block_on(Remote::connect(&target, ctx.global.read_only))?;
        return tui::run_on(runtime, Link::Remote(remote), options).map_err(tui_error);
    }
    let store = ctx.open_store()?;
    if !no_demo && store.is_empty()? {
        // Shown until the first frame replaces it.
        eprintln!(
            "opsdeck: starting the demo fleet with an hour of history in {}…",
            store.location()
        );
    }
    let engine = crate::engine::Engine::open(
        store,
        ctx.config.clone(),
        crate::engine::Clock::System,
        None,
    )?;
    let link = Link::Embedded(Embedded::start(
        engine,
        EmbeddedOptions {
            actor: ctx.actor(),
            read_only: ctx.global.read_only,
            demo_seed: (!no_demo).then_some(ctx.config.demo.seed),
        },
    ));
    tui::run(link, options).map_err(tui_error)
}

fn tui_error(e: TuiError) -> CliError {
    match e {
        TuiError::NotATerminal => CliError::Usage(e.to_string()),
        other => CliError::Runtime(other.to_string()),
    }
}
