//! The folder tree is the layer diagram, and this test keeps it so: it reads every `use crate::…`
//! (and `super::`/`self::`) arrow of `src/` and fails on an arrow that points up a layer
//! (`.ci/layers.json`, from the entry down) or on a circle — among files, and among the top
//! folders. It runs with every `cargo test`, so a fresh clone checks its own architecture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// `src/a/b.rs`, `src/a/b/mod.rs` → `a::b`; `lib.rs`, `main.rs` → the root.
fn module_of(relative: &Path) -> Module {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code without comments, string literals and the trailing `#[cfg(test)] mod tests { … }`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut code = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            ('"', _) => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match (c, escaped) {
                        ('\\', false) => escaped = true,
                        ('"', false) => break,
                        _ => escaped = false,
                    }
                }
                code.push_str("\"\"");
            }
            _ => code.push(c),
        }
    }
    code
}

/// Every `crate|super|self::a::b…` path named in `code`, `use` groups expanded to their first
/// level (`use crate::{a::x, b}` names `crate::a::x` and `crate::b`).
fn paths_in(code: &str) -> Vec<(String, Vec<String>)> {
    let mut paths = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let word_at = |i: usize| -> (String, usize) {
        let mut j = i;
        while j < bytes.len() && (bytes[j].is_alphanumeric() || bytes[j] == '_') {
            j += 1;
        }
        (bytes[i..j].iter().collect(), j)
    };
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        let (word, end) = word_at(i);
        if !boundary || word.is_empty() {
            i += 1;
            continue;
        }
        if !matches!(word.as_str(), "crate" | "super" | "self") {
            i = end;
            continue;
        }
        let mut segments = Vec::new();
        let mut j = end;
        while bytes.get(j) == Some(&':') && bytes.get(j + 1) == Some(&':') {
            j += 2;
            if bytes.get(j) == Some(&'{') {
                // A group: each first-level item is a path of its own.
                let mut depth = 0;
                let mut item = String::new();
                let mut items = Vec::new();
                j += 1;
                while j < bytes.len() {
                    let c = bytes[j];
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                        _ if depth == 0 => item.push(c),
                        _ => {}
                    }
                    j += 1;
                }
                items.push(item);
                for item in items {
                    let mut full = segments.clone();
                    full.extend(
                        item.split("::")
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty() && s != "self"),
                    );
                    paths.push((word.clone(), full));
                }
                segments.clear();
                break;
            }
            let (segment, next) = word_at(j);
            if segment.is_empty() {
                break;
            }
            segments.push(segment);
            j = next;
        }
        if !segments.is_empty() {
            paths.push((word, segments));
        }
        i = j.max(end);
    }
    paths
}

/// The longest known module a path names.
fn resolve(
    from: &Module,
    kind: &str,
    segments: &[String],
    modules: &BTreeSet<Module>,
) -> Option<Module> {
    let mut path: Module = match kind {
        "crate" => Vec::new(),
        "self" => from.clone(),
        _ => from[..from.len().saturating_sub(1)].to_vec(),
    };
    path.extend(segments.iter().cloned());
    while !path.is_empty() && !modules.contains(&path) {
        path.pop();
    }
    (!path.is_empty()).then_some(path)
}

/// Circles of a directed graph (strongly connected components of more than one node).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, node: &str) {
            self.index.insert(node.into(), self.next);
            self.low.insert(node.into(), self.next);
            self.next += 1;
            self.stack.push(node.into());
            self.on_stack.insert(node.into());
            for next in self.edges.get(node).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node.into(), low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node.into(), low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(&top);
                    let done = top == node;
                    component.push(top);
                    if done {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !tarjan.index.contains_key(node) {
            tarjan.visit(node);
        }
    }
    tarjan.found
}

#[test]
fn arrows_only_go_down_and_never_in_a_circle() {
    let rules: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(".ci/layers.json").unwrap()).unwrap();
    let layers: Vec<(String, Vec<String>)> = rules["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let prefixes = l[1].as_array().unwrap().iter();
            let prefixes = prefixes.map(|p| p.as_str().unwrap().to_string()).collect();
            (l[0].as_str().unwrap().to_string(), prefixes)
        })
        .collect();
    let layer_of = |module: &Module| -> Option<usize> {
        let name = if module.is_empty() {
            "main".to_string()
        } else {
            module.join("::")
        };
        layers.iter().position(|(_, prefixes)| {
            prefixes
                .iter()
                .any(|p| name == *p || name.starts_with(&format!("{p}::")))
        })
    };

    let src = Path::new("src");
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let sources: Vec<(Module, String)> = files
        .iter()
        .map(|f| {
            (
                module_of(f.strip_prefix(src).unwrap()),
                std::fs::read_to_string(f).unwrap(),
            )
        })
        .filter(|(m, _)| m.last().is_none_or(|last| last != "tests"))
        .collect();
    let modules: BTreeSet<Module> = sources.iter().map(|(m, _)| m.clone()).collect();
    assert!(
        modules.len() > 100,
        "{} modules: is this the project root?",
        modules.len()
    );

    let mut problems = Vec::new();
    let mut file_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut room_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &sources {
        let from = module.join("::");
        let Some(from_layer) = layer_of(module) else {
            problems.push(format!("{from}: in no layer of .ci/layers.json"));
            continue;
        };
        for (kind, segments) in paths_in(&code_of(text)) {
            let Some(target) = resolve(module, &kind, &segments, &modules) else {
                continue;
            };
            if &target == module {
                continue;
            }
            let to = target.join("::");
            if let Some(to_layer) = layer_of(&target) {
                if to_layer < from_layer {
                    problems.push(format!(
                        "{from} ({}) uses {to} ({}): an arrow up",
                        layers[from_layer].0, layers[to_layer].0
                    ));
                }
            }
            file_edges
                .entry(from.clone())
                .or_default()
                .insert(to.clone());
            let (from_room, to_room) = (
                module.first().cloned().unwrap_or_default(),
                target.first().cloned().unwrap_or_default(),
            );
            if from_room != to_room {
                room_edges.entry(from_room).or_default().insert(to_room);
            }
        }
    }
    for circle in circles(&file_edges) {
        problems.push(format!("files in a circle: {}", circle.join(" → ")));
    }
    for circle in circles(&room_edges) {
        problems.push(format!("folders in a circle: {}", circle.join(" → ")));
    }
    let arrows: usize = file_edges.values().map(BTreeSet::len).sum();
    println!("{} modules, {arrows} arrows", modules.len());
    assert!(arrows > 300, "{arrows} arrows: the reader missed them");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reader_sees_arrows_in_every_form() {
    let code = code_of(
        "use crate::a::b;\nuse crate::{c::d, e::{f, g}};\n// crate::commented\nlet x = \"crate::quoted\"; super::h::i(); self::j;",
    );
    let paths: Vec<String> = paths_in(&code)
        .into_iter()
        .map(|(kind, segments)| format!("{kind}::{}", segments.join("::")))
        .collect();
    assert_eq!(
        paths,
        [
            "crate::a::b",
            "crate::c::d",
            "crate::e",
            "super::h::i",
            "self::j"
        ]
    );
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["c".to_string()].into()),
        ("c".to_string(), ["a".to_string()].into()),
        ("d".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(circles(&edges), [["a", "b", "c"]]);
}
