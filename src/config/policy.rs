//! The policy table for agents' tool calls: a pattern in Claude Code's permission-rule syntax
//! → allow, deny or escalate to people. The hook endpoint, the MCP `permission_prompt` tool
//! and `opsdeck hooks print` all read this one table, so what an agent's settings say and what
//! the server answers cannot differ.
//!
//! Patterns: `Tool` (every call of it), `Bash(git push:*)` (a command starting with the
//! prefix), `Bash(npm run *)` (a wildcard), `Bash(ls)` (exactly), `Edit(/etc/**)` and
//! `Read(~/.ssh/**)` (gitignore-style paths; Edit covers every tool that writes a file, Read
//! every tool that reads one), `WebFetch(domain:example.com)`, `mcp__server`,
//! `mcp__server__tool`, `mcp__server__*`, `mcp__*`.

use serde::{Deserialize, Serialize};

use crate::model::Category;

/// What a matching rule (or the default) does with a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Claude Code decides as it would without opsdeck (its own permissions, its user).
    Defer,
    Escalate(Category),
    Deny,
}

impl Verdict {
    /// Stricter verdicts win when several rules (or several parts of a command) match.
    fn rank(self) -> u8 {
        match self {
            Verdict::Allow => 0,
            Verdict::Defer => 1,
            Verdict::Escalate(_) => 2,
            Verdict::Deny => 3,
        }
    }

    pub fn parse(text: &str) -> Result<Verdict, String> {
        let t = text.trim();
        match t {
            "allow" => return Ok(Verdict::Allow),
            "deny" => return Ok(Verdict::Deny),
            "defer" => return Ok(Verdict::Defer),
            _ => {}
        }
        let category = t
            .strip_prefix("escalate(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a decision: use allow, deny, defer or escalate(CATEGORY), e.g. escalate(scope_change)"
                )
            })?;
        Category::parse(category.trim()).map(Verdict::Escalate)
    }

    pub fn as_string(self) -> String {
        match self {
            Verdict::Allow => "allow".into(),
            Verdict::Defer => "defer".into(),
            Verdict::Deny => "deny".into(),
            Verdict::Escalate(c) => format!("escalate({})", c.as_str()),
        }
    }
}

/// `[server.policy]` in the server's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// What a tool call no rule matches gets: defer (Claude Code decides as usual), allow,
    /// deny or escalate(CATEGORY).
    pub default: String,
    /// How long a hook or `permission_prompt` waits for people to decide an escalated call
    /// before it answers (at most 50 s; keep it under the hook's timeout).
    pub wait_s: u64,
    pub rules: Vec<RuleConfig>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            default: "defer".into(),
            wait_s: 45,
            rules: Vec::new(),
        }
    }
}

/// `[[server.policy.rules]]`: one pattern and what it gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub tool: String,
    pub decision: String,
}

/// A rule, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// As written in the config: what the card and the hook's reason quote.
    pub text: String,
    pub verdict: Verdict,
    tool: String,
    specifier: Option<String>,
}

/// The table, parsed once and checked: a bad rule is a config error, never a silent skip.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub default: Verdict,
    pub wait_s: u64,
    pub rules: Vec<Rule>,
}

/// What the policy says about one tool call, and which rule said it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruling {
    pub verdict: Verdict,
    /// The rule's text; `None` when the default decided.
    pub rule: Option<String>,
}

/// The tools whose rules name files they write, and those that read them.
const EDIT_TOOLS: [&str; 4] = ["Edit", "Write", "MultiEdit", "NotebookEdit"];
const READ_TOOLS: [&str; 4] = ["Read", "Grep", "Glob", "LS"];

impl Policy {
    pub fn from_config(config: &PolicyConfig) -> Result<Policy, String> {
        let default =
            Verdict::parse(&config.default).map_err(|e| format!("server.policy.default: {e}"))?;
        let rules = config
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Rule::parse(&r.tool, &r.decision)
                    .map_err(|e| format!("server.policy.rules #{}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            default,
            // The protocol's long-poll cap: MCP clients cut a tool call at about 60 s.
            wait_s: config.wait_s.min(50),
            rules,
        })
    }

    /// The ruling on calling `tool` with `input` (Claude Code's `tool_input`) from `cwd`.
    pub fn rule(&self, tool: &str, input: &serde_json::Value, cwd: Option<&str>) -> Ruling {
        let parts = subjects(tool, input, cwd);
        let mut worst: Option<Ruling> = None;
        for part in &parts {
            let ruling = self.rule_part(tool, part.as_deref(), cwd);
            if worst
                .as_ref()
                .is_none_or(|w| ruling.verdict.rank() > w.verdict.rank())
            {
                worst = Some(ruling);
            }
        }
        worst.unwrap_or(Ruling {
            verdict: self.default,
            rule: None,
        })
    }

    fn rule_part(&self, tool: &str, subject: Option<&str>, cwd: Option<&str>) -> Ruling {
        let mut best: Option<&Rule> = None;
        for rule in &self.rules {
            if rule.matches(tool, subject, cwd)
                && best.is_none_or(|b| rule.verdict.rank() > b.verdict.rank())
            {
                best = Some(rule);
            }
        }
        match best {
            Some(r) => Ruling {
                verdict: r.verdict,
                rule: Some(r.text.clone()),
            },
            None => Ruling {
                verdict: self.default,
                rule: None,
            },
        }
    }

    /// The patterns of rules with `verdict`'s kind, for Claude Code's own `permissions`.
    pub fn patterns(&self, kind: fn(Verdict) -> bool) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| kind(r.verdict))
            .map(|r| r.pattern())
            .collect()
    }
}

impl Rule {
    pub fn parse(pattern: &str, decision: &str) -> Result<Rule, String> {
        let verdict = Verdict::parse(decision)?;
        let p = pattern.trim();
        let (tool, specifier) = match p.find('(') {
            None => (p.to_string(), None),
            Some(open) => {
                let inner = p[open + 1..].strip_suffix(')').ok_or_else(|| {
                    format!(
                        "{pattern:?} opens a parenthesis it does not close: write Tool(specifier)"
                    )
                })?;
                (p[..open].to_string(), Some(inner.to_string()))
            }
        };
        if tool.is_empty()
            || !tool
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*' || c == '-')
        {
            return Err(format!(
                "{pattern:?}: a rule starts with a tool name (Bash, Edit, WebFetch, mcp__server__tool)"
            ));
        }
        if let Some(spec) = &specifier {
            let known = tool == "Bash"
                || tool == "WebFetch"
                || EDIT_TOOLS.contains(&tool.as_str())
                || READ_TOOLS.contains(&tool.as_str());
            if !known {
                return Err(format!(
                    "{pattern:?}: only Bash, Edit/Write/Read-style tools and WebFetch take a specifier in parentheses; write {tool} alone"
                ));
            }
            if spec.is_empty() {
                return Err(format!(
                    "{pattern:?}: empty parentheses; write {tool} alone"
                ));
            }
            if tool == "WebFetch" && !spec.starts_with("domain:") {
                return Err(format!(
                    "{pattern:?}: WebFetch takes domain:HOST, e.g. WebFetch(domain:example.com)"
                ));
            }
        }
        Ok(Rule {
            text: pattern.trim().to_string(),
            verdict,
            tool,
            specifier,
        })
    }

    fn pattern(&self) -> String {
        self.text.clone()
    }

    fn matches(&self, tool: &str, subject: Option<&str>, cwd: Option<&str>) -> bool {
        let tool_matches = if self.tool.contains('*') {
            glob(&self.tool, tool, false)
        } else if self.tool.starts_with("mcp__") && !self.tool[5..].contains("__") {
            // `mcp__server`: every tool of that server.
            tool == self.tool || tool.starts_with(&format!("{}__", self.tool))
        } else if EDIT_TOOLS.contains(&self.tool.as_str()) && self.specifier.is_some() {
            EDIT_TOOLS.contains(&tool)
        } else if READ_TOOLS.contains(&self.tool.as_str()) && self.specifier.is_some() {
            READ_TOOLS.contains(&tool)
        } else {
            self.tool == tool
        };
        if !tool_matches {
            return false;
        }
        let Some(spec) = &self.specifier else {
            return true;
        };
        let Some(subject) = subject else {
            return false;
        };
        if self.tool == "Bash" {
            command_matches(spec, subject, self.verdict)
        } else if self.tool == "WebFetch" {
            let host = spec.trim_start_matches("domain:");
            glob(host, subject, false)
        } else if let Some(rest) = spec.strip_prefix("~/") {
            // The server does not know the agent's home: any user's home matches.
            ["/home/*/", "/root/", "/Users/*/"]
                .iter()
                .any(|home| glob(&format!("{home}{rest}"), subject, true))
        } else {
            glob(&expand_path(spec, cwd), subject, true)
        }
    }
}

/// What a rule's specifier is matched against, one subject per part: each simple command of a
/// compound Bash line (a deny of any part denies the whole), the file a tool touches (as an
/// absolute, normalised path), the host a fetch goes to. `None` when the input names none.
fn subjects(tool: &str, input: &serde_json::Value, cwd: Option<&str>) -> Vec<Option<String>> {
    let field = |name: &str| input.get(name).and_then(|v| v.as_str());
    if tool == "Bash" {
        let Some(command) = field("command") else {
            return vec![None];
        };
        let parts = split_command(command);
        if parts.is_empty() {
            return vec![None];
        }
        return parts.into_iter().map(Some).collect();
    }
    if EDIT_TOOLS.contains(&tool) || READ_TOOLS.contains(&tool) {
        let path = field("file_path")
            .or_else(|| field("notebook_path"))
            .or_else(|| field("path"));
        return vec![path.map(|p| absolute(p, cwd))];
    }
    if tool == "WebFetch" {
        return vec![field("url").and_then(host)];
    }
    vec![None]
}

/// The simple commands of a shell line, split at `;`, `&&`, `||`, `|`, `&` and newlines
/// (quotes respected). Enough to stop `ls && git push` passing as `ls`.
fn split_command(command: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, ';' | '\n' | '|' | '&') => {
                if matches!(chars.peek(), Some('|' | '&')) {
                    chars.next();
                }
                parts.push(std::mem::take(&mut current));
            }
            (None, c) => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// A Bash specifier against one simple command: `prefix:*` (the legacy prefix form), a
/// wildcard, or the exact command. An allow never covers a command that runs another inside
/// it (`$(…)`, backticks, `<(…)`): that part falls to the stricter rules and the default.
fn command_matches(spec: &str, command: &str, verdict: Verdict) -> bool {
    let hidden = ["$(", "`", "<(", ">("].iter().any(|s| command.contains(s));
    if verdict == Verdict::Allow && hidden {
        return false;
    }
    if let Some(prefix) = spec.strip_suffix(":*") {
        let prefix = prefix.trim_end();
        return command == prefix
            || command
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with([' ', '\t']));
    }
    if spec.contains('*') {
        return glob(spec, command, false);
    }
    command == spec
}

fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = authority.split(':').next()?.to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// `//abs` and `/abs` are absolute (Claude Code reads a single `/` as relative to its settings
/// file, which a server cannot know: here it is the root); anything else is relative to the
/// session's directory (or, without one, to any directory).
fn expand_path(spec: &str, cwd: Option<&str>) -> String {
    if let Some(rest) = spec.strip_prefix("//") {
        format!("/{rest}")
    } else if spec.starts_with('/') {
        spec.to_string()
    } else {
        let spec = spec.strip_prefix("./").unwrap_or(spec);
        match cwd {
            Some(dir) => format!("{}/{spec}", absolute(dir, None).trim_end_matches('/')),
            None => format!("**/{spec}"),
        }
    }
}

/// The path a tool touches, absolute and without `.` or `..` (so `/tmp/../etc/passwd` is
/// `/etc/passwd`).
fn absolute(path: &str, cwd: Option<&str>) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", cwd.unwrap_or("").trim_end_matches('/'))
    };
    let mut out: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

/// Glob matching: `*` any run of characters (within one path segment when `paths`), `**` any
/// run of segments, `?` one character.
fn glob(pattern: &str, text: &str, paths: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t, paths)
}

fn glob_at(p: &[char], t: &[char], paths: bool) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            // `**/` also matches no directory at all.
            let rest = &p[2..];
            let rest_after_slash = rest.strip_prefix(&['/']).unwrap_or(rest);
            if glob_at(rest_after_slash, t, paths) {
                return true;
            }
            (0..=t.len()).any(|i| glob_at(rest, &t[i..], paths))
        }
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=t.len() {
                if glob_at(rest, &t[i..], paths) {
                    return true;
                }
                if paths && t.get(i) == Some(&'/') {
                    return false;
                }
            }
            false
        }
        Some('?') => !t.is_empty() && (!paths || t[0] != '/') && glob_at(&p[1..], &t[1..], paths),
        Some(c) => t.first() == Some(c) && glob_at(&p[1..], &t[1..], paths),
    }
}

#[cfg(test)]
mod tests;
