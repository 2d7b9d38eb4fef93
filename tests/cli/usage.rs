//! Help, version, completions, a bad command line, and no console without a terminal.

use super::{Deck, assert_mentions, assert_no_panic, run, text, usage_error};

#[test]
fn help_and_version_exit_zero() {
    let deck = Deck::empty();
    let help = deck.ok(&["--help"]);
    assert_mentions(&help, &["Usage: opsdeck", "approve", "audit", "Exit codes"]);
    let approve = deck.ok(&["approve", "--help"]);
    assert_mentions(&approve, &["--reason", "--version"]);
    let version = deck.ok(&["--version"]);
    assert_eq!(
        version.trim(),
        format!("opsdeck {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(!deck.store.exists(), "help touched the store");
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let deck = Deck::empty();
    for (shell, marker) in [
        ("bash", "_opsdeck()"),
        ("zsh", "#compdef opsdeck"),
        ("fish", "complete -c opsdeck"),
    ] {
        let script = deck.ok(&["completions", shell]);
        assert_mentions(&script, &[marker, "approve", "rollout"]);
    }
    usage_error(deck.cmd().args(["completions", "cmd.exe"]), &["cmd.exe"]);
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let deck = Deck::demo();
    usage_error(deck.cmd().args(["agents", "--bogus"]), &["'--bogus'"]);
    usage_error(
        deck.cmd().args(["-o", "yaml", "agents"]),
        &["yaml", "table, json, jsonl"],
    );
    usage_error(deck.cmd().args(["frobnicate"]), &["frobnicate"]);
}

#[test]
fn no_command_without_a_terminal_does_not_start_the_console() {
    let deck = Deck::demo();
    let out = run(&mut deck.cmd());
    assert_ne!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert_no_panic(&stderr);
    assert!(!stderr.trim().is_empty());
    assert!(
        !out.stdout.contains(&0x1b),
        "terminal escapes written to a pipe"
    );
}
