//! The commands a new user runs to set opsdeck up and to debug their setup: `config path`,
//! `config show`, `doctor`, `man`, `completions`, and theme errors. The real binary, with every
//! XDG directory and HOME in a temp dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

/// One test's home: XDG dirs inside a temp dir, no opsdeck variables from the developer.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config_file(&self) -> PathBuf {
        self.path("config/opsdeck/config.toml")
    }

    fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("HOME", self.dir.path())
            .env("USER", "tester")
            .env("TERM", "xterm-256color")
            .env_remove("COLORTERM")
            .env_remove("NO_COLOR")
            .env_remove("TMUX")
            .env_remove("STY")
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_CLIENT")
            .env_remove("SSH_TTY")
            .env_remove("OPSDECK_STORE")
            .env_remove("OPSDECK_CONFIG")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run opsdeck")
    }

    /// stdout of a command that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// (stdout, stderr) of a command that must exit with `code`.
    fn exits(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        (stdout, stderr)
    }

    /// A demo store of half an hour (seed 7) at `name`.
    fn demo_store(&self, name: &str) -> PathBuf {
        let store = self.path(name);
        let path = store.to_str().unwrap();
        self.ok(&[
            "--store",
            path,
            "demo",
            "run",
            "--duration",
            "30m",
            "-o",
            "json",
        ]);
        store
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn assert_mentions(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected {needle:?} in: {haystack}"
        );
    }
}

// ---------- config ----------

#[test]
fn config_path_names_the_xdg_file_and_whether_it_exists() {
    let home = Home::new();
    let want = home.config_file().display().to_string();
    // Piped: the path alone, for `$EDITOR "$(opsdeck config path)"`.
    assert_eq!(home.ok(&["config", "path"]).trim(), want);
    let found = json(&home.ok(&["config", "path", "-o", "json"]));
    assert_eq!(found["path"], want.as_str());
    assert_eq!(found["exists"], false);
    assert_eq!(found["explicit"], false);
    assert_mentions(
        &home.ok(&["config", "path", "-o", "table"]),
        &[&want, "does not exist", "defaults"],
    );
    home.write(&home.config_file(), "[operator]\nname = \"zoe\"\n");
    assert_eq!(
        json(&home.ok(&["config", "path", "-o", "json"]))["exists"],
        true
    );
    assert_mentions(&home.ok(&["config", "path", "-o", "table"]), &["(exists)"]);
    let other = home.path("elsewhere.toml");
    let other_arg = other.to_str().unwrap();
    let found = json(&home.ok(&["--config", other_arg, "config", "path", "-o", "json"]));
    assert_eq!(found["path"], other_arg);
    assert_eq!(found["explicit"], true);
}

#[test]
fn config_show_prints_the_effective_config_as_toml() {
    let home = Home::new();
    // No file: exactly the defaults, in a form that parses back.
    let shown = home.ok(&["config", "show"]);
    assert!(
        shown.starts_with("# The configuration in effect"),
        "{shown}"
    );
    assert_eq!(
        opsdeck::config::Config::parse(&shown),
        Ok(opsdeck::config::Config::default())
    );
    let as_toml = |text: &str| -> toml::Value { toml::from_str(text).expect("TOML") };
    // The file over the defaults, and the flags over the file.
    home.write(
        &home.config_file(),
        &format!(
            "[operator]\nname = \"zoe\"\n[console]\ntheme = \"light\"\n[[operators]]\nname = \"yann\"\nos_user = \"{}\"\nrole = \"enterprise\"\n",
            crate::support::os_user()
        ),
    );
    let shown = as_toml(&home.ok(&["config", "show"]));
    assert_eq!(shown["operator"]["name"].as_str(), Some("zoe"));
    // --as names only the operator bound to this OS user.
    let (_, err) = home.exits(&["--as", "zoe2", "config", "show"], 2);
    assert!(err.contains("one OS user is one operator"), "{err}");
    assert_eq!(shown["console"]["theme"].as_str(), Some("light"));
    assert_eq!(shown["alerts"]["queue_depth"].as_integer(), Some(40));
    let shown = as_toml(&home.ok(&[
        "--theme", "mono", "--color", "never", "--as", "yann", "config", "show",
    ]));
    assert_eq!(shown["console"]["theme"].as_str(), Some("mono"));
    assert_eq!(shown["console"]["color"].as_str(), Some("never"));
    assert_eq!(shown["operator"]["name"].as_str(), Some("yann"));
    let shown = json(&home.ok(&["config", "show", "-o", "json"]));
    assert_eq!(shown["operator"]["name"], "zoe");
}

#[test]
fn config_errors_name_the_file_line_and_key() {
    let home = Home::new();
    let file = home.config_file();
    home.write(&file, "[console]\ntheme = \"light\"\ncolour = \"never\"\n");
    let (_, stderr) = home.exits(&["config", "show"], 2);
    assert_mentions(&stderr, &["config.toml", "line 3", "colour"]);
    home.write(&file, "[console]\n\ncolor = \"sometimes\"\n");
    let (_, stderr) = home.exits(&["config", "show"], 2);
    assert_mentions(&stderr, &["config.toml", "line 3", "color", "sometimes"]);
    home.write(&file, "[console]\ntheme = 5\n");
    let (_, stderr) = home.exits(&["config", "show"], 2);
    assert_mentions(&stderr, &["line 2", "theme"]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // `config path` still answers: it is how one finds the broken file.
    assert!(home.ok(&["config", "path"]).contains("config.toml"));
}

#[test]
fn a_key_bound_twice_in_one_pane_is_refused_naming_both_actions() {
    let home = Home::new();
    // `r` already rejects in the approvals pane.
    home.write(&home.config_file(), "[keymap]\napprove = [\"r\"]\n");
    let (_, stderr) = home.exits(&["config", "show"], 2);
    assert_mentions(
        &stderr,
        &[
            "config.toml",
            "keymap.approve",
            "keymap.reject",
            "\"r\"",
            "approvals pane",
        ],
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Another pane's key is free: `r` rejects only among approvals.
    home.write(&home.config_file(), "[keymap]\nack = [\"r\"]\n");
    home.ok(&["config", "show"]);
}

// ---------- man page and completions ----------

#[test]
fn the_man_page_is_made_from_the_cli_definition() {
    let home = Home::new();
    let page = home.ok(&["man"]);
    assert!(
        page.contains(".TH opsdeck 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert_mentions(
        &page,
        &[
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            "\\-\\-theme",
            "\\-\\-color",
            "Exit codes",
        ],
    );
    for sub in [
        "agents",
        "approve",
        "incident",
        "rollout",
        "audit",
        "doctor",
        "config",
        "completions",
    ] {
        assert!(
            page.contains(&format!("opsdeck\\-{sub}(1)")),
            "the man page lists {sub}"
        );
    }
    // `| head` closes the pipe early: a quiet exit, no error.
    let mut child = home
        .cmd(&["man"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completions_cover_the_new_commands_in_bash_zsh_and_fish() {
    let home = Home::new();
    for (shell, marker) in [
        ("bash", "_opsdeck()"),
        ("zsh", "#compdef opsdeck"),
        ("fish", "complete -c opsdeck"),
    ] {
        let script = home.ok(&["completions", shell]);
        assert_mentions(&script, &[marker, "doctor", "config", "theme", "color"]);
        // The colour choices are completed, not just the flag.
        assert_mentions(&script, &["always", "never"]);
    }
}

// ---------- doctor ----------

#[test]
fn doctor_reports_terminal_theme_config_store_and_audit_chain() {
    let home = Home::new();
    let store = home.demo_store("demo.db");
    let store_arg = store.to_str().unwrap();
    let text = home.ok(&["--store", store_arg, "doctor"]);
    // Whatever migrations this opsdeck carries, a store it made is at the newest.
    let schema = format!("schema         version {}", opsdeck::store::SCHEMA_VERSION);
    assert_mentions(
        &text,
        &[
            "Terminal",
            "not a terminal",
            "TERM           xterm-256color",
            "COLORTERM      (unset)",
            "NO_COLOR       (unset)",
            "256 colours (TERM=xterm-256color; --color auto)",
            "multiplexer    none",
            "ssh            no",
            "Theme",
            "default (built-in)",
            "Config",
            "does not exist: the defaults are in use",
            "parses         yes",
            "Store",
            store_arg,
            &schema,
            "audit chain    intact:",
            "Contexts",
            "embedded",
            &format!(
                "operator:{} (enterprise, the demo's default role)",
                crate::support::os_user()
            ),
            "✔ no problems found",
        ],
    );
    let report = json(&home.ok(&["--store", store_arg, "doctor", "-o", "json"]));
    assert_eq!(report["terminal"]["stdout_is_tty"], false);
    assert_eq!(report["colour"]["depth"], "256");
    assert_eq!(report["theme"]["used"], "default");
    assert_eq!(report["config"]["parses"], true);
    assert_eq!(
        report["store"]["schema_version"],
        opsdeck::store::SCHEMA_VERSION
    );
    assert_eq!(report["store"]["audit_intact"], true);
    assert!(report["store"]["audit_records"].as_u64().unwrap() > 100);
    assert_eq!(report["contexts"][0]["name"], "embedded");
    assert_eq!(report["problems"], serde_json::json!([]));
}

#[test]
fn doctor_reads_the_environment_it_runs_in() {
    let home = Home::new();
    let out = home
        .cmd(&[
            "--ephemeral",
            "--theme",
            "catppuccin-mocha",
            "doctor",
            "-o",
            "json",
        ])
        .env("TERM", "tmux-256color")
        .env("COLORTERM", "truecolor")
        .env("NO_COLOR", "1")
        .env("TMUX", "/tmp/tmux-1000/default,123,0")
        .env("SSH_CONNECTION", "10.1.2.3 50000 10.9.9.9 22")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(report["terminal"]["multiplexer"], "tmux");
    assert_eq!(report["terminal"]["ssh_from"], "10.1.2.3");
    assert_eq!(report["terminal"]["no_color"], "1");
    assert_eq!(report["colour"]["depth"], "none");
    assert_eq!(report["theme"]["requested"], "catppuccin-mocha");
    assert_eq!(report["theme"]["used"], "mono");
    // --color always wins over NO_COLOR.
    let out = home
        .cmd(&["--ephemeral", "--color", "always", "doctor", "-o", "json"])
        .env("COLORTERM", "truecolor")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let report = json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(report["colour"]["depth"], "truecolor");
    assert_eq!(report["colour"]["mode"], "always");
}

#[test]
fn doctor_never_creates_the_store_it_looks_for() {
    let home = Home::new();
    let text = home.ok(&["doctor"]);
    let default_store = home.path("data/opsdeck/opsdeck.db");
    assert_mentions(
        &text,
        &[&default_store.display().to_string(), "does not exist yet"],
    );
    assert!(!default_store.exists(), "doctor created the store");
    assert!(
        !home.path("data/opsdeck").exists(),
        "doctor created the data dir"
    );
}

#[test]
fn doctor_reports_every_problem_and_exits_1() {
    let home = Home::new();
    let store = home.demo_store("demo.db");
    let conn = rusqlite::Connection::open(&store).unwrap();
    conn.execute("UPDATE audit SET domain = 'x' WHERE seq = 7", [])
        .unwrap();
    drop(conn);
    home.write(
        &home.config_file(),
        "[console]\ntheme = \"light\"\nmouse = true\n",
    );
    home.write(
        &home.path("config/opsdeck/themes/mine.toml"),
        "sev1 = { fg = \"#ff00\" }\n",
    );
    let store_arg = store.to_str().unwrap();
    let (stdout, stderr) = home.exits(&["--store", store_arg, "--theme", "mine", "doctor"], 1);
    assert_mentions(
        &stdout,
        &[
            "parses         no:",
            "line 3",
            "mouse",
            "mine.toml",
            "sev1",
            "BROKEN at seq 7",
            "6 records verified before it",
            "✖ 3 problem(s)",
        ],
    );
    assert_mentions(&stderr, &["doctor found 3 problems"]);
    let (stdout, _) = home.exits(
        &[
            "--store", store_arg, "--theme", "mine", "doctor", "-o", "json",
        ],
        1,
    );
    let report = json(&stdout);
    assert_eq!(report["problems"].as_array().unwrap().len(), 3);
    assert_eq!(report["store"]["audit_first_bad"]["seq"], 7);
    assert_eq!(report["config"]["parses"], false);
    assert!(
        report["theme"]["error"]
            .as_str()
            .unwrap()
            .contains("mine.toml")
    );
}

// ---------- themes from the command line ----------

#[test]
fn user_themes_load_from_the_config_dir_and_may_override_a_builtin() {
    let home = Home::new();
    let themes = home.path("config/opsdeck/themes");
    home.write(
        &themes.join("night.toml"),
        "description = \"mine\"\nextends = \"catppuccin-mocha\"\naccent = { fg = \"#ff8800\" }\n",
    );
    home.write(&themes.join("light.toml"), "extends = \"light\"\n");
    let report = json(&home.ok(&["--ephemeral", "--theme", "night", "doctor", "-o", "json"]));
    assert_eq!(report["theme"]["used"], "night");
    assert_eq!(report["theme"]["description"], "mine");
    assert_eq!(report["theme"]["source"]["kind"], "file");
    let report = json(&home.ok(&["--ephemeral", "--theme", "light", "doctor", "-o", "json"]));
    assert_eq!(
        report["theme"]["source"]["path"],
        themes.join("light.toml").display().to_string().as_str()
    );
    // An unknown name lists what there is.
    let (stdout, _) = home.exits(&["--ephemeral", "--theme", "solarised", "doctor"], 1);
    assert_mentions(
        &stdout,
        &["no theme \"solarised\"", "catppuccin-mocha", "night"],
    );
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let home = Home::new();
    let store = home.path("demo.db");
    let store = store.to_str().unwrap();
    let made = home
        .cmd(&["demo", "run", "--duration", "30m", "--store", store])
        .output()
        .unwrap();
    assert!(made.status.success());
    for args in [
        &["completions", "bash"][..],
        &["man"],
        &["audit", "export", "--store", store],
        &["agents", "-o", "json", "--store", store],
    ] {
        let mut child = home
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first byte, like `| head -0`.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} printed: {stderr}");
    }
}
