//! `opsdeck serve` and `opsdeck token new`.

use super::args::ServeArgs;
use super::context::Context;
use super::error::CliError;
use crate::authority::Role;
use crate::config::server::{new_token, token_hash, valid_name};
use crate::engine::{Clock, Engine};
use crate::orchestrator::Orchestrator;
use crate::server::{Server, Tls};

pub fn serve(ctx: &Context, args: &ServeArgs) -> Result<(), CliError> {
    ctx.require_local("serve")?;
    let server_config = &ctx.config.server;
    let listen = args
        .listen
        .clone()
        .unwrap_or_else(|| server_config.listen.clone());
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Tls {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ if !server_config.tls_cert.is_empty() => Some(Tls {
            cert: server_config.tls_cert.clone().into(),
            key: server_config.tls_key.clone().into(),
        }),
        _ => None,
    };
    crate::logging::init();
    let store = ctx.open_store()?;
    let location = store.location().to_string();
    let engine = Engine::open(store, ctx.config.clone(), Clock::System, None)?;
    // Signed checkpoints on a timer of their own, stopped when serving ends.
    let _checkpoints = super::checkpoint::schedule(ctx)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let (lease, elsewhere) = match args.demo.then(|| ctx.demo_lease()) {
            Some(Ok(lease)) => (lease, None),
            Some(Err(holder)) => (None, Some(holder)),
            None => (None, None),
        };
        let _lease = lease;
        let demo = (args.demo && elsewhere.is_none()).then_some(ctx.config.demo.seed);
        let mut orchestrator = Orchestrator::start(engine, demo);
        if let Some(holder) = elsewhere {
            orchestrator = orchestrator.demo_elsewhere(&holder);
        }
        for notice in orchestrator.notices() {
            eprintln!("opsdeck: {}", crate::text::SafeText::new(notice));
        }
        let engine_state = orchestrator.clone();
        let server = Server::start(orchestrator, server_config, &listen, tls)
            .await
            .map_err(|e| CliError::Runtime(e.to_string()))?;
        let who = server_config.operators.len() + server_config.agents.len();
        eprintln!(
            "opsdeck: serving {} on {} ({} operator and {} agent tokens{}){}",
            location,
            server.url(),
            server_config.operators.len(),
            server_config.agents.len(),
            if who == 0 {
                ": every request will be refused until you add one with `opsdeck token new`"
            } else {
                ""
            },
            if args.demo {
                " with the demo fleet"
            } else {
                ""
            }
        );
        // A damaged store stops the engine; the server then stops too rather than answer
        // every request with an error while looking alive.
        tokio::select! {
            served = server.until_signal() => served.map_err(|e| CliError::Runtime(e.to_string())),
            why = engine_state.halted() => Err(CliError::Runtime(format!(
                "the orchestrator stopped and the server with it: {why}"
            ))),
        }
    })
}

/// Prints the token alone on the first line (so `| head -1` captures it), then the config lines.
pub fn new(
    name: &str,
    role: Option<&str>,
    agent: bool,
    domains: &[String],
) -> Result<(), CliError> {
    if !valid_name(name) {
        return Err(CliError::Usage(format!(
            "token name {:?}: use 1-64 letters, digits, '.', '_' or '-'",
            crate::text::SafeText::new(name).as_str()
        )));
    }
    let token = new_token();
    let hash = token_hash(&token);
    if let Some(bad) = domains.iter().find(|d| !valid_name(d)) {
        return Err(CliError::Usage(format!(
            "--domain {:?}: use a domain name such as platform",
            crate::text::SafeText::new(bad).as_str()
        )));
    }
    let lines = if agent {
        let scope = match domains {
            [] => String::new(),
            _ => format!(
                "\ndomains = [{}]",
                domains
                    .iter()
                    .map(|d| format!("\"{d}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!("[[server.agents]]\nname = \"{name}\"\ntoken_sha256 = \"{hash}\"{scope}")
    } else {
        let role = role.unwrap_or_default();
        let parsed: Role = role
            .parse()
            .map_err(|e| CliError::Usage(format!("--role {role:?}: {e}")))?;
        format!(
            "[[server.operators]]\nname = \"{name}\"\nrole = \"{parsed}\"\ntoken_sha256 = \"{hash}\""
        )
    };
    println!("{token}");
    println!();
    println!(
        "# Add to the server's config (only the SHA-256 is kept); give the token above to {name}."
    );
    println!("{lines}");
    Ok(())
}
