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
        for (number, line) in code_lines(&text) {
            for used in crate_paths(line) {
                let ok = rank(&used).is_some_and(|used| used <= own);
                if !ok {
                    violations.push(format!(
                        "{}:{number}: `{layer}` uses `crate::{used}`",
                        file.strip_prefix(&src).unwrap().display()
                    ));
                }
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

/// Lines of code: comments and docs (whose links name root re-exports) left out.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

/// The first segment after each `crate::` (not `$crate::`, which is the user's path in
/// exported macros).
fn crate_paths(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        let segment: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if before != Some('$') && !segment.is_empty() {
            found.push(segment);
        }
        rest = after;
    }
    found
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
