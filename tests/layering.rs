//! The dependency graph of `src/` runs one way: each top-level module imports only the modules
//! its row below allows (the crate map at the top of `src/lib.rs` says why). The test reads the
//! code's own imports, so a `use crate::tui::…` in the engine fails it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the crate modules it may import. `cli` is the composition root and may import
/// anything; `main` only reaches `cli`.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("duration", &[]),
    ("text", &[]),
    ("format", &[]),
    ("paths", &[]),
    ("logging", &["paths"]),
    ("authority", &["model"]),
    ("query", &["model", "duration"]),
    ("config", &["model", "duration"]),
    ("protocol", &["model"]),
    ("store", &["model", "query", "protocol"]),
    (
        "engine",
        &["store", "protocol", "authority", "config", "model"],
    ),
    (
        "sim",
        &["engine", "protocol", "authority", "config", "model"],
    ),
    (
        "orchestrator",
        &["engine", "sim", "store", "query", "protocol", "model"],
    ),
    (
        "link",
        &["orchestrator", "protocol", "query", "config", "model"],
    ),
    // The MCP tools over a door: the server's handlers or the HTTP agent API (cli).
    ("mcp", &["protocol", "model"]),
    (
        "server",
        &[
            "mcp",
            "orchestrator",
            "protocol",
            "query",
            "authority",
            "config",
            "model",
            "text",
        ],
    ),
    (
        "tui",
        &[
            "link",
            "protocol",
            "authority",
            "query",
            "config",
            "model",
            "text",
            "format",
        ],
    ),
    ("cli", &["*"]),
    ("main", &["cli"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/engine/txn.rs` → `engine`, `src/query.rs` → `query`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// Code without comments and string literals, so a path named in prose is not an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            // A char literal like '"' must not open a string; lifetimes ('a) pass through.
            '\'' => {
                let rest: String = chars.clone().take(3).collect();
                let mut it = rest.chars();
                match (it.next(), it.next(), it.next()) {
                    (Some('\\'), _, _) => {
                        for c in chars.by_ref() {
                            if c == '\'' {
                                break;
                            }
                        }
                    }
                    (Some(_), Some('\''), _) => {
                        chars.next();
                        chars.next();
                    }
                    _ => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The module names a path starts with: `x` in `x::…`, and each of `x`, `y` in `{x, y::z}`.
fn leading_names(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)]
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect();
    };
    let mut names = Vec::new();
    let (mut depth, mut start) = (1, true);
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => start = true,
            c if c.is_whitespace() => {}
            _ if start && depth == 1 => {
                names.push(ident(&group[at..]));
                start = false;
            }
            _ => {}
        }
    }
    names.into_iter().filter(|n| !n.is_empty()).collect()
}

/// Every crate module this code names: `crate::x`, `crate::{x, y::z}`, and `super::…` paths
/// that climb out of the top-level module (`depth`: how deep the file's module sits, 1 for
/// `src/engine/mod.rs` or `src/text.rs`, 2 for `src/engine/txn.rs`).
fn imports(code: &str, depth: usize) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let boundary = at == 0 || {
            let b = bytes[at - 1];
            !(b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b':')
        };
        if boundary && rest.starts_with("crate::") {
            found.extend(leading_names(&rest["crate::".len()..]));
            at += "crate::".len();
        } else if boundary && rest.starts_with("super::") {
            let mut climbs = 0;
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                climbs += 1;
                tail = t;
            }
            if climbs >= depth {
                found.extend(leading_names(tail));
            }
            at += rest.len() - tail.len();
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    found
}

/// How deep a file's module sits below the crate root (`mod.rs` adds no level of its own).
fn depth_of(src: &Path, file: &Path) -> usize {
    let rel = file.strip_prefix(src).expect("under src");
    let parts = rel.components().count();
    match rel.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs") => parts - 1,
        _ => parts,
    }
}

fn violations(src: &Path) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let root = src.parent().unwrap_or(src);
    for file in files {
        let module = module_of(src, &file);
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        if module == "lib" {
            continue;
        }
        let Some(may) = allowed.get(module.as_str()) else {
            bad.push(format!(
                "{shown}: module `{module}` has no row in the allow-list; add one (and a paragraph to the crate map in src/lib.rs)"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read file");
        let mut code = code_only(&text);
        if module == "main" {
            // The binary reaches the library by its name, not `crate::`.
            code = code.replace("opsdeck::", "crate::");
        }
        for target in imports(&code, depth_of(src, &file)) {
            if target == module || may.contains(&"*") || may.contains(&target.as_str()) {
                continue;
            }
            bad.push(format!(
                "{shown}: `{module}` imports `crate::{target}`, which its row does not allow (it may import: {})",
                if may.is_empty() {
                    "nothing of the crate".to_string()
                } else {
                    may.join(", ")
                }
            ));
        }
    }
    bad
}

#[test]
fn the_dependency_graph_runs_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(
        bad.is_empty(),
        "{} import(s) break the one-way graph:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn only_cli_imports_tui_or_server() {
    for (module, may) in ALLOWED {
        if *module != "cli" {
            assert!(
                !may.contains(&"tui") && !may.contains(&"server"),
                "{module}"
            );
        }
    }
}

#[test]
fn a_planted_bad_import_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("engine")).expect("mkdir");
    std::fs::write(
        src.join("engine/mod.rs"),
        "// crate::tui in a comment is fine\nuse crate::{model::State, tui::App};\nconst S: &str = \"crate::server\";\n",
    )
    .expect("write");
    std::fs::write(src.join("model.rs"), "pub struct State;\n").expect("write");
    std::fs::write(src.join("store.rs"), "use crate::engine::Engine;\n").expect("write");
    std::fs::write(
        src.join("main.rs"),
        "fn main() { opsdeck::cli::main(); opsdeck::tui::run(); }\n",
    )
    .expect("write");
    std::fs::write(
        src.join("engine/txn.rs"),
        "use super::store::Ok;\nuse super::super::tui::App;\n",
    )
    .expect("write");
    std::fs::create_dir_all(src.join("weird")).expect("mkdir");
    std::fs::write(src.join("weird/mod.rs"), "pub fn f() {}\n").expect("write");
    let bad = violations(&src);
    assert_eq!(bad.len(), 5, "{bad:#?}");
    let expected = [
        "src/engine/mod.rs: `engine` imports `crate::tui`",
        "src/engine/txn.rs: `engine` imports `crate::tui`",
        "src/main.rs: `main` imports `crate::tui`",
        "src/store.rs: `store` imports `crate::engine`",
        "src/weird/mod.rs: module `weird` has no row",
    ];
    for (got, want) in bad.iter().zip(expected) {
        assert!(got.starts_with(want), "{got}");
    }
}
