//! Finding a theme by name: a user file in the themes directory first (so a user may override a
//! built-in), then the themes built into the binary.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::slots::{Theme, ThemeFile};

/// The built-in themes, embedded at compile time: name and TOML text.
pub const BUILTIN: [(&str, &str); 5] = [
    ("default", include_str!("../../../themes/default.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../../themes/mono.toml")),
    (
        "catppuccin-mocha",
        include_str!("../../../themes/catppuccin-mocha.toml"),
    ),
];

/// How far `extends` may chain before it is taken for a loop.
const MAX_EXTENDS: usize = 8;

/// Where a theme came from, for `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum ThemeSource {
    Builtin,
    File(PathBuf),
}

impl std::fmt::Display for ThemeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ThemeSource::Builtin => f.write_str("built-in"),
            ThemeSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(
        "theme name {0:?} is not usable: use letters, digits, '-' and '_' (the file is themes/NAME.toml)"
    )]
    BadName(String),
    #[error("there is no theme {name:?}: the built-in themes are {builtin}{user}")]
    Unknown {
        name: String,
        builtin: String,
        user: String,
    },
    #[error("cannot read theme file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "theme file {path} is not valid: {message}fix that key (themes/default.toml in opsdeck's source shows every slot and colour)"
    )]
    Parse { path: String, message: String },
    #[error("theme {0:?} extends itself through too many others (a loop?)")]
    Loop(String),
}

/// A theme read and resolved, with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub theme: Theme,
    pub source: ThemeSource,
    pub description: String,
}

/// Looks `name` up in `user_dir` (if any), then among the built-ins.
pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Loaded, ThemeError> {
    resolve(name, user_dir, false, 0)
}

/// A built-in theme; panics only if a built-in file is broken, which a test rules out.
pub fn builtin(name: &str) -> Theme {
    resolve(name, None, true, 0)
        .unwrap_or_else(|e| panic!("built-in theme {name}: {e}"))
        .theme
}

/// Parses a theme file's text; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<ThemeFile, ThemeError> {
    toml::from_str(text).map_err(|e| ThemeError::Parse {
        path: path.to_string(),
        message: crate::config::one_line(text, &e),
    })
}

fn resolve(
    name: &str,
    user_dir: Option<&Path>,
    builtin_only: bool,
    depth: usize,
) -> Result<Loaded, ThemeError> {
    if depth > MAX_EXTENDS {
        return Err(ThemeError::Loop(name.to_string()));
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ThemeError::BadName(name.to_string()));
    }
    let user_file = user_dir
        .filter(|_| !builtin_only)
        .map(|dir| dir.join(format!("{name}.toml")))
        .filter(|path| path.exists());
    let (file, source) = match user_file {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Read {
                path: path.clone(),
                source,
            })?;
            (
                parse(&text, &path.display().to_string())?,
                ThemeSource::File(path),
            )
        }
        None => {
            let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) else {
                return Err(unknown(name, user_dir));
            };
            (
                parse(text, &format!("(built-in) themes/{name}.toml"))?,
                ThemeSource::Builtin,
            )
        }
    };
    let base = match (&file.extends, &source) {
        // A user file that extends its own name builds on the built-in of that name.
        (Some(parent), ThemeSource::File(_)) if parent == name => {
            resolve(parent, user_dir, true, depth + 1)?.theme
        }
        (Some(parent), _) => resolve(parent, user_dir, builtin_only, depth + 1)?.theme,
        (None, _) if file.missing().is_empty() => Theme::plain(name),
        (None, _) => resolve("default", user_dir, true, depth + 1)?.theme,
    };
    Ok(Loaded {
        theme: file.over(name, &base),
        source,
        description: file.description.clone(),
    })
}

fn unknown(name: &str, user_dir: Option<&Path>) -> ThemeError {
    let builtin = BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ");
    let user = match user_dir {
        Some(dir) => {
            let found = user_themes(dir);
            if found.is_empty() {
                format!("; yours go in {}/NAME.toml", dir.display())
            } else {
                format!("; yours in {} are {}", dir.display(), found.join(", "))
            }
        }
        None => String::new(),
    };
    ThemeError::Unknown {
        name: name.to_string(),
        builtin,
        user,
    }
}

/// The names of the `*.toml` files in `dir`, sorted.
pub fn user_themes(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "toml")
                .then(|| path.file_stem()?.to_str().map(str::to_string))
                .flatten()
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::SLOTS;
    use ratatui::style::{Color, Modifier};

    #[test]
    fn every_builtin_theme_defines_every_slot_itself() {
        for (name, text) in BUILTIN {
            let file = parse(text, name).unwrap_or_else(|e| panic!("{e}"));
            assert!(file.extends.is_none(), "{name} must stand alone");
            assert_eq!(file.missing(), Vec::<&str>::new(), "{name} lacks slots");
            assert!(!file.description.is_empty(), "{name} has no description");
            for slot in SLOTS {
                assert!(
                    text.lines().any(|l| l.starts_with(&format!("{slot} = "))),
                    "{name}: {slot}"
                );
            }
            assert_eq!(builtin(name).name, name);
        }
    }

    #[test]
    fn default_and_mono_fill_nothing_and_mono_has_no_colour() {
        for name in ["default", "mono"] {
            assert_eq!(builtin(name).base, ratatui::style::Style::new(), "{name}");
        }
        for (slot, style) in builtin("mono").styles() {
            assert!(style.fg.is_none() && style.bg.is_none(), "mono.{slot}");
        }
    }

    #[test]
    fn a_user_file_overrides_a_builtin_and_fills_gaps_from_what_it_extends() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("light.toml"),
            "extends = \"light\"\nsev1 = { fg = \"#000000\", bold = true }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "accent = { fg = \"magenta\" }\n",
        )
        .unwrap();
        let light = load("light", Some(dir.path())).unwrap();
        assert_eq!(
            light.source,
            ThemeSource::File(dir.path().join("light.toml"))
        );
        assert_eq!(light.theme.sev1.fg, Some(Color::Rgb(0, 0, 0)));
        assert_eq!(light.theme.ok, builtin("light").ok);
        let mine = load("mine", Some(dir.path())).unwrap().theme;
        assert_eq!(mine.accent.fg, Some(Color::Magenta));
        assert_eq!(mine.sev1, builtin("default").sev1);
        assert!(mine.sev1.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, "description = \"x\"\n\nsev1 = { fg = \"#12345\" }\n").unwrap();
        let err = load("broken", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("broken.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("sev1"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
        std::fs::write(&path, "sev5 = { fg = \"red\" }\n").unwrap();
        let err = load("broken", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("sev5"), "{err}");
        std::fs::write(&path, "sev1 = { fg = \"red\", blink = true }\n").unwrap();
        let err = load("broken", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("blink"), "{err}");
    }

    #[test]
    fn unknown_names_list_what_exists_and_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("night.toml"), "").unwrap();
        let err = load("solarized", Some(dir.path())).unwrap_err().to_string();
        assert!(
            err.contains("catppuccin-mocha") && err.contains("night"),
            "{err}"
        );
        for bad in ["../etc/passwd", "a/b", "", "x.toml"] {
            assert!(
                matches!(load(bad, None), Err(ThemeError::BadName(_))),
                "{bad}"
            );
        }
        std::fs::write(dir.path().join("a.toml"), "extends = \"b\"").unwrap();
        std::fs::write(dir.path().join("b.toml"), "extends = \"a\"").unwrap();
        assert!(matches!(
            load("a", Some(dir.path())),
            Err(ThemeError::Loop(_))
        ));
    }
}
