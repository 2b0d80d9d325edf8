//! The runtime's modules form layers: each uses only the layers below it, so that the
//! architecture reads one way (configuration, backends, topology, typed connections,
//! sessions, routed calls, integrations) and no change ripples back down.

use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may use its own layer and those before it.
const LAYERS: &[&str] = &[
    "seal",
    "tls",
    "url",
    "server",
    "token",
    "error",
    "config",
    "backend",
    "database",
    "topology",
    "roles",
    "query",
    "session",
    "call",
    "axum",
    "__private",
    "prelude",
    "lib",
];

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for file in rust_files(&src) {
        let layer = layer_of(&src, &file);
        let own = rank(&layer).unwrap_or_else(|| panic!("{} is in no layer", file.display()));
        let text = fs::read_to_string(&file).unwrap();
        let code = code_only(&text);
        for (number, used) in crate_paths(&code) {
            let ok = rank(&used).is_some_and(|used| used <= own);
            if !ok {
                violations.push(format!(
                    "{}:{number}: `{layer}` uses `crate::{used}`",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// A layer's place, bottom first; `None` for a name that is no layer, such as a root
/// re-export (which hides its layer, so it is refused: name the module).
fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|each| *each == layer)
}

/// `topology/pool.rs` is in `topology`, `integrations/axum.rs` in `axum`, `private.rs` in
/// `__private`.
fn layer_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    match first.trim_end_matches(".rs") {
        "integrations" => relative.file_stem().unwrap().to_str().unwrap().to_owned(),
        "private" => "__private".to_owned(),
        other => other.to_owned(),
    }
}

/// The file with its comment and doc lines blanked (doc links name root re-exports); lines
/// stay where they were, for the line numbers.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| match line.trim_start().starts_with("//") {
            true => "",
            false => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment after each `crate::` (not `$crate::`, which is the user's path in
/// exported macros), with its line number; in a grouped import, `crate::{a::X, b}` (on one
/// line or several), each member's first segment.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(at) = code[offset..].find("crate::") {
        let start = offset + at;
        let after = start + "crate::".len();
        offset = after;
        if code[..start].ends_with('$') {
            continue;
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[after..];
        let group = rest
            .strip_prefix('{')
            .map(|inner| &inner[..closing_brace(inner)]);
        let members = match group {
            Some(group) => top_level_members(group),
            None => vec![rest],
        };
        for member in members {
            let segment = leading_identifier(member);
            if !segment.is_empty() && segment != "self" {
                found.push((line, segment));
            }
        }
    }
    found
}

/// Where the `}` that closes a group opened just before `text` is.
fn closing_brace(text: &str) -> usize {
    let mut depth = 0;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return index,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// The members of a group, split at its own commas (not those of nested groups).
fn top_level_members(group: &str) -> Vec<&str> {
    let (mut members, mut depth, mut start) = (Vec::new(), 0, 0);
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                members.push(&group[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    members.push(&group[start..]);
    members
}

fn leading_identifier(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn grouped_imports_are_read_member_by_member() {
    let code = "use crate::{a::X, b::{c, d},\n    e};\nuse $crate::f;\nlet _ = crate::g::h();";
    let found: Vec<(usize, String)> = crate_paths(code);
    let expected = [(1, "a"), (1, "b"), (1, "e"), (4, "g")].map(|(n, s)| (n, s.to_owned()));
    assert_eq!(found, expected);
}
