//! The shape ARCHITECTURE.md promises, checked on the source itself:
//! dependencies between the library's top-level modules run one way, the
//! stages do not know the config, no file grows past what a reader takes
//! in at once, and unit tests are wired one way.
//!
//! The graph is read from `crate::<module>` paths in code (comments are
//! skipped: prose may name any module), including grouped imports
//! (`use crate::{queue, uplink::Packer}`), in every file of `agent/src`
//! that belongs to the library (the modules `lib.rs` declares).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn agent_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The simulator's sources, held to the same file rules as the agent's.
fn sim_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/src")
}

/// The library's top-level modules, as `lib.rs` declares them.
fn library_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(agent_src().join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_owned())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's text without comments (line comments, doc comments, block
/// comments); string contents are kept, which is harmless here.
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |i| &after[i..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |i| &after[i + 2..]);
        } else {
            let c = rest.chars().next().unwrap();
            code.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    code
}

/// The top-level modules `code` names through `crate::`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        // `$crate::` inside a macro is the same crate.
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: after `{` and after each comma
            // at depth 0.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        names.insert(ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.insert(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(ident(rest));
        }
    }
    names.remove("");
    names.remove("self");
    names
}

/// module -> the other top-level modules it names, and in which files.
fn dependency_graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let modules = library_modules();
    let mut files = Vec::new();
    rust_files(&agent_src(), &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(agent_src()).unwrap();
        let first = relative.iter().next().unwrap().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if !modules.contains(&module) {
            continue; // lib.rs, and the binary's own files
        }
        let code = code_of(&fs::read_to_string(&file).unwrap());
        for named in named_modules(&code) {
            if named != module && modules.contains(&named) {
                graph
                    .entry(module.clone())
                    .or_default()
                    .entry(named)
                    .or_default()
                    .insert(relative.display().to_string());
            }
        }
    }
    graph
}

/// A cycle through `start`, if there is one: the path back to it.
fn cycle_through(
    graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    start: &str,
) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flat_map(|m| m.keys()) {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    walk(graph, start, start, &mut path, &mut seen).then_some(path)
}

fn describe(
    graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    cycle: &[String],
) -> String {
    cycle
        .windows(2)
        .map(|pair| {
            let files = &graph[&pair[0]][&pair[1]];
            format!("{} -> {} ({:?})", pair[0], pair[1], files)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn the_dependency_reader_sees_grouped_imports_and_skips_comments() {
    let code = code_of(
        "use crate::{queue::Queue, uplink::{Packer, drain}};\n\
         /// see crate::daemon\n\
         // crate::power\n\
         /* crate::notify */\n\
         fn f() { crate::store::Store::open(); }\n",
    );
    let names: Vec<String> = named_modules(&code).into_iter().collect();
    assert_eq!(names, ["queue", "store", "uplink"]);
}

#[test]
fn no_two_modules_of_the_library_import_each_other_even_through_others() {
    let graph = dependency_graph();
    assert!(
        graph.contains_key("daemon"),
        "the reader found nothing: {graph:?}"
    );
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_through(&graph, m))
        .map(|c| describe(&graph, &c))
        .collect();
    assert!(cycles.is_empty(), "import circles:\n{}", cycles.join("\n"));
}

#[test]
fn the_stages_do_not_know_the_config_and_the_modem_does_not_know_power() {
    let graph = dependency_graph();
    // The config builds each stage's options; only the daemon, which runs
    // the stages from a config, reads it.
    let knows_config: Vec<String> = graph
        .iter()
        .filter(|(m, deps)| m.as_str() != "daemon" && deps.contains_key("config"))
        .map(|(m, deps)| format!("{m} ({:?})", deps["config"]))
        .collect();
    assert!(knows_config.is_empty(), "{knows_config:?}");
    let modem = graph.get("modem").cloned().unwrap_or_default();
    assert!(!modem.contains_key("power"), "{:?}", modem.get("power"));
    // The leaf everyone shares imports nothing.
    assert!(!graph.contains_key("values"), "{:?}", graph.get("values"));
}

#[test]
fn no_file_of_the_agent_or_the_simulator_is_longer_than_700_lines() {
    let mut files = Vec::new();
    rust_files(&agent_src(), &mut files);
    rust_files(&sim_src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = fs::read_to_string(f).unwrap().lines().count();
            (lines > 700).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:?}");
}

/// The `#[path]` a `#[cfg(test)] mod tests;` is declared with, if `line`
/// is one (`#[path = "queue_tests.rs"]`).
fn path_attribute(line: &str) -> Option<&str> {
    line.trim().strip_prefix("#[path = \"")?.strip_suffix("\"]")
}

#[test]
fn every_unit_test_module_is_named_tests_and_declared_by_the_file_it_tests() {
    let mut files = Vec::new();
    rust_files(&agent_src(), &mut files);
    rust_files(&sim_src(), &mut files);
    let mut wrong = Vec::new();
    let mut declared = BTreeSet::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let name = line
                .trim()
                .strip_prefix("mod ")
                .map(|m| m.trim_end_matches(';'));
            if name.is_some_and(|m| m.ends_with("_tests")) {
                wrong.push(format!("{}:{}: `{}`", file.display(), i + 1, line.trim()));
            }
            if let Some(path) = path_attribute(line) {
                let next = lines.get(i + 1).map_or("", |l| l.trim());
                if next != "mod tests;" {
                    wrong.push(format!("{}:{}: #[path] on `{next}`", file.display(), i + 1));
                }
                // `x.rs` declares `x_tests.rs` beside it, and nothing else.
                let stem = file.file_stem().unwrap().to_string_lossy();
                if path != format!("{stem}_tests.rs") {
                    wrong.push(format!("{}:{}: tests in `{path}`", file.display(), i + 1));
                }
                declared.insert(file.with_file_name(path));
            }
        }
    }
    for file in &files {
        let is_tests_file = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("_tests.rs"));
        if is_tests_file && !declared.contains(file) {
            wrong.push(format!(
                "{}: not declared by the file it tests",
                file.display()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "one way to wire unit tests: `#[cfg(test)] #[path = \"x_tests.rs\"] mod tests;` \
         at the end of `x.rs`, or an inline `mod tests`:\n{}",
        wrong.join("\n")
    );
}
