//! `opsdeck` with no command: the console on the embedded orchestrator, or on a remote one
//! with `--connect`/`--context`.

use super::context::Context;
use super::error::CliError;
use crate::config::ConsoleConfig;
use crate::config::operators::RoleSource;
use crate::link::{Embedded, EmbeddedOptions, Link, Remote};
use crate::tui::keymap::Keymap;
use crate::tui::theme::{self, Appearance, TermEnv};
use crate::tui::{self, TuiError, TuiOptions};

pub fn run(ctx: &Context, no_demo: bool, mouse: bool, quiet: bool) -> Result<(), CliError> {
    use std::io::IsTerminal;
    // Refuse before touching the store: a pipe gets the message, not a half-started console.
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(TuiError::NotATerminal.to_string()));
    }
    let keymap = Keymap::from_config(&ctx.config.keymap).map_err(CliError::Usage)?;
    let look = appearance(&ctx.global, &ctx.config.console, &TermEnv::from_process())?;
    crate::logging::init();
    // crossterm drops every colour by itself when NO_COLOR is set; the appearance has already
    // weighed NO_COLOR against --color, so its answer is the one that holds.
    crossterm::style::force_color_output(look.detection.depth != theme::ColorDepth::None);
    let options = TuiOptions {
        keymap,
        theme: look.theme,
        mouse,
        attention: ctx.config.attention.clone(),
        quiet,
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
    let _checkpoints = super::checkpoint::schedule(ctx)?;
    // One demo fleet per store, however many consoles show it.
    let (lease, elsewhere) = match (!no_demo).then(|| ctx.demo_lease()) {
        Some(Ok(lease)) => (lease, None),
        Some(Err(holder)) => (None, Some(holder)),
        None => (None, None),
    };
    let _lease = lease;
    let mut orchestrator = crate::orchestrator::Orchestrator::start(
        engine,
        (!no_demo && elsewhere.is_none()).then_some(ctx.config.demo.seed),
    );
    if let Some(holder) = elsewhere {
        orchestrator = orchestrator.demo_elsewhere(&holder);
    }
    let mut embedded = Embedded::on(
        orchestrator,
        EmbeddedOptions {
            actor: ctx.actor(),
            read_only: ctx.global.read_only,
        },
    );
    if ctx.role_source == RoleSource::DemoDefault {
        // Nothing in the config gives this OS user a role: say whose role it is.
        embedded = embedded.with_role_note("demo default");
    }
    let link = Link::Embedded(embedded);
    tui::run(link, options).map_err(tui_error)
}

fn tui_error(e: TuiError) -> CliError {
    match e {
        TuiError::NotATerminal => CliError::Usage(e.to_string()),
        other => CliError::Runtime(other.to_string()),
    }
}

/// The theme and colours the console will use: `--theme` and `--color` over `[console]`.
pub fn appearance(
    global: &super::args::Global,
    console: &ConsoleConfig,
    env: &TermEnv,
) -> Result<Appearance, CliError> {
    let name = global.theme.as_deref().unwrap_or(&console.theme);
    let mode = global.color.unwrap_or(console.color);
    // Without a home directory there are no user themes, but the built-ins still work.
    let user_dir = crate::paths::themes_dir().ok();
    Ok(theme::appearance(name, mode, env, user_dir.as_deref())?)
}
