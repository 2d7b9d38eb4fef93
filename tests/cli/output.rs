//! What reaches a terminal, a pipe and a file: hostile record text never drives the terminal,
//! formula-like CSV cells are neutralised, and JSON into a pipe or a file is exact.

use std::path::Path;
use std::time::Duration;

use opsdeck::config::Config;
use opsdeck::engine::{Clock, Engine};
use opsdeck::model::{Category, Classification};
use opsdeck::protocol::{Actor, Command, RaiseEscalation, RecordExecution, RegisterAgent, Reply};
use opsdeck::store::Store;

use super::{BIN, Deck, parse, success};
use crate::support::pty::Pty;

const FORMULA: &str = "=cmd|' /C calc'!A0";

/// OSC (title), DCS, a full reset (ESC c), BEL, a C1 CSI, bidi override and isolate, LRM, ALM.
const HOSTILE: &str = "pay \x1b]0;pwned\x07 \x1bP1$r\x1b\\ \x1bc \u{9b}31m \u{202E}lamrof\u{202C} \u{2066}x\u{2069} \u{200E}\u{061C} bell\x07 end";

/// A store whose trail holds a record with `FORMULA` as its summary, one with `HOSTILE`, and a
/// pending approval whose summary is `HOSTILE`.
fn hostile_store(path: &Path) {
    let store = Store::open(path).unwrap();
    let start = "2026-11-02T00:00:00Z".parse().unwrap();
    let mut engine = Engine::open(store, Config::default(), Clock::manual(start), Some(3)).unwrap();
    let registered = engine
        .execute(
            &Actor::Orchestrator {
                domain: Some("platform".into()),
            },
            Command::RegisterAgent(RegisterAgent {
                name: "writer".into(),
                domain: "platform".into(),
                team: "infra".into(),
                skills: vec![],
                version: "1.0".into(),
            }),
        )
        .unwrap();
    let Reply::Created { id: agent } = registered.reply else {
        panic!("{:?}", registered.reply)
    };
    let actor = Actor::agent(&agent);
    for summary in [FORMULA, HOSTILE] {
        engine
            .execute(
                &actor,
                Command::RecordExecution(RecordExecution {
                    agent: agent.clone(),
                    summary: summary.into(),
                    context: format!("+{summary}"),
                    outcome: "@SUM(A1:A9)".into(),
                    related_tasks: vec![],
                }),
            )
            .unwrap();
    }
    engine
        .execute(
            &actor,
            Command::RaiseEscalation(RaiseEscalation {
                agent: agent.clone(),
                category: Category::ScopeChange,
                summary: HOSTILE.into(),
                context: HOSTILE.into(),
                options_considered: vec![HOSTILE.into()],
                recommendation: String::new(),
                classification: Classification::Internal,
                related_tasks: vec![],
                tool_call: None,
                session: None,
                callback_url: None,
                policy_rule: None,
            }),
        )
        .unwrap();
}

fn hostile_deck() -> Deck {
    let deck = Deck::empty();
    hostile_store(&deck.store);
    deck
}

#[test]
fn csv_export_to_a_file_neutralises_formula_cells() {
    let deck = hostile_deck();
    let file = deck.path("trail.csv");
    let args = ["audit", "export", "--format", "csv", "--output-file"];
    success(deck.cmd().args(args).arg(&file));
    let mut reader = csv::Reader::from_path(&file).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let summaries: Vec<&str> = rows.iter().map(|r| &r[column("summary")]).collect();
    assert!(
        summaries.contains(&"'=cmd|' /C calc'!A0"),
        "the formula is text: {summaries:?}"
    );
    assert!(rows.iter().any(|r| r[column("outcome")] == *"'@SUM(A1:A9)"));
    assert!(rows.iter().any(|r| r[column("context")].starts_with("'+")));
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a live formula cell: {cell:?}"
            );
        }
    }
    // A file keeps the record's text otherwise exact: the escapes are for terminals only.
    assert!(summaries.contains(&HOSTILE), "{summaries:?}");
}

#[test]
fn export_help_tells_of_the_neutralisation() {
    let deck = Deck::empty();
    let help = success(deck.cmd().args(["audit", "export", "--help"]));
    assert!(
        help.contains("OWASP") && help.contains("leading '"),
        "{help}"
    );
}

#[test]
fn json_into_a_pipe_or_a_file_is_exact() {
    let deck = hostile_deck();
    let piped = deck.cmd().args(["audit", "export"]).output().unwrap();
    assert!(piped.status.success());
    let file = deck.path("trail.jsonl");
    success(
        deck.cmd()
            .args(["audit", "export", "--output-file"])
            .arg(&file),
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        piped.stdout,
        "file and pipe alike"
    );
    // serde's own bytes: the C1 and bidi characters raw, only C0 escaped.
    let exact = serde_json::to_string(HOSTILE).unwrap();
    assert!(exact.contains('\u{9b}') && exact.contains('\u{202E}'));
    let text = String::from_utf8(piped.stdout).unwrap();
    assert!(text.contains(&exact), "the summary as serde writes it");
    let summaries: Vec<String> = text
        .lines()
        .map(|l| parse(l)["summary"].as_str().unwrap().to_string())
        .collect();
    assert!(summaries.iter().any(|s| s == HOSTILE), "{summaries:?}");

    let search = success(
        deck.cmd()
            .args(["audit", "search", "domain:platform", "-o", "json"]),
    );
    assert!(search.contains(&exact));
    let listed = success(deck.cmd().args(["approvals", "-o", "json"]));
    assert_eq!(parse(&listed)[0]["summary"], HOSTILE);
}

/// Runs the binary on a real terminal; returns its exit code, what the terminal received and
/// what the screen shows.
fn on_terminal(deck: &Deck, args: &[&str]) -> (u32, String, String) {
    let store = deck.store.to_str().unwrap();
    let all: Vec<&str> = ["--store", store].iter().chain(args).copied().collect();
    let mut pty = Pty::spawn(BIN, &all, 200, 60, deck.dir.path(), &[("USER", "tester")]);
    let (status, raw) = pty.run_to_end(Duration::from_secs(60));
    let received = String::from_utf8(raw).expect("UTF-8 on the terminal");
    (status.exit_code(), received, pty.screen())
}

/// No escape sequence, bell, C1 control or bidi character: only text, CR and LF.
fn assert_inert(what: &str, received: &str) {
    let bad: Vec<String> = received
        .chars()
        .filter(|&c| c != '\r' && c != '\n' && opsdeck::text::needs_escape(c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(
        bad.is_empty(),
        "{what} sent the terminal {bad:?}:\n{received}"
    );
}

#[test]
fn hostile_records_reach_a_terminal_inert() {
    let deck = hostile_deck();
    let runs: [(&[&str], &str); 7] = [
        (&["audit", "export", "--format", "csv"], "^[]0;pwned^G"),
        (&["audit", "export"], "\\u001b]0;pwned\\u0007"),
        (&["audit", "search", "domain:platform"], "<U+202E>"),
        (
            &["audit", "search", "domain:platform", "-o", "json"],
            "\\u202E",
        ),
        (
            &["audit", "search", "domain:platform", "-o", "jsonl"],
            "\\u009B",
        ),
        (&["approvals"], "^[]0;pwned"),
        (&["approvals", "-o", "json"], "\\u2066"),
    ];
    for (args, shown) in runs {
        let (code, received, screen) = on_terminal(&deck, args);
        assert_eq!(code, 0, "{args:?}:\n{screen}");
        assert_inert(&format!("{args:?}"), &received);
        assert!(
            received.contains(shown),
            "{args:?} shows {shown:?}:\n{received}"
        );
    }
}

#[test]
fn json_on_a_terminal_still_parses_to_the_record() {
    let deck = hostile_deck();
    let (code, received, _) = on_terminal(&deck, &["audit", "export"]);
    assert_eq!(code, 0);
    let summaries: Vec<String> = received
        .lines()
        .map(|l| {
            parse(l.trim_end_matches('\r'))["summary"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(summaries.iter().any(|s| s == HOSTILE), "{summaries:?}");
}

#[test]
fn an_error_quoting_hostile_input_reaches_a_terminal_inert() {
    let deck = hostile_deck();
    let (code, received, _) = on_terminal(&deck, &["approve", HOSTILE, "--reason", "x"]);
    assert_ne!(code, 0);
    assert_inert("approve with a hostile id", &received);
    assert!(received.contains("opsdeck: "), "{received}");
}
