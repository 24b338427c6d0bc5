//! The shape of `migrate-core`, measured from its source text.
//!
//! The crate is meant to read top-down: [`LAYERS`] below is the architecture's map, lowest floor
//! first, and a module may use any module on its own floor or below. This file measures how far the
//! code is from that map and guards the targets once they are met:
//!
//! 1. **upward imports**: distinct (file, module) pairs where a file names, through a `crate::`
//!    path (in a `use`, grouped or not, or inline in code), a module on a higher floor than its own;
//! 2. **cycles** between top-level modules in the graph those imports draw;
//! 3. **long functions**: every `fn` item's length from its `fn` line to its closing brace, the
//!    longest crate-wide and the longest under `src/pipeline/`;
//! 4. **the size of `src/pipeline/`** in lines.
//!
//! The measurement is a small lexer, not a Rust parser: comments, string and char literals
//! (raw strings included) are blanked out before anything is counted, so a `crate::` path or a
//! brace inside them does not count. The targets are asserted by `layering_targets_are_met`; see the
//! report with `cargo test -p migrate-core --test architecture -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layer order, lowest floor first. A module may import any module on its own floor or below.
/// `error` gathers every module's error, so it sits above them all and below the facades that
/// return it.
const LAYERS: &[&[&str]] = &[
    &["sql", "source", "connection", "event", "schema"],
    &["ledger", "embedded"],
    &["journal", "safety", "monitor", "health"],
    &["backup", "executor", "compat"],
    &["rollback"],
    &["pipeline"],
    &["config"],
    &["fleet"],
    &["error"],
    &["engine", "rehearsal"],
];

/// At most this many (file, module) imports may point to a higher floor: the few that remain are
/// known exceptions on their way out, not a place to add more.
const MAX_UPWARD_IMPORTS: usize = 3;

/// Module cycles that are tolerated, each as its sorted member list. None: a cycle means two
/// modules can only be understood together, so the map above would be wrong.
const ALLOWED_CYCLES: &[&[&str]] = &[];

/// No function under `src/pipeline/` may be longer than this many lines: the pipeline should read
/// as a sequence of named steps, each a screen or less.
const MAX_PIPELINE_FN_LINES: usize = 80;

/// Functions longer than this are counted crate-wide (reported, not asserted).
const LONG_FN_LINES: usize = 80;

// ---------------------------------------------------------------------------------------------
// Lexing: blank out comments and literals, keep line structure.
// ---------------------------------------------------------------------------------------------

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The source with every comment, string literal and char literal replaced by spaces (newlines
/// kept, so line numbers still hold). Lifetimes and labels (`'a`) are left as they are.
fn strip(src: &str) -> String {
    let s: Vec<char> = src.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(s.len());
    let blank = |out: &mut Vec<char>, chars: &[char]| {
        out.extend(chars.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
    };
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = s[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(s.len(), |p| i + p);
            blank(&mut out, &s[i..end]);
            i = end;
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            let mut j = i;
            while j < s.len() {
                if s[j] == '/' && s.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if s[j] == '*' && s.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &s[i..j]);
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < s.len() && s[j] != '"' {
                j += if s[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(s.len());
            blank(&mut out, &s[i..end]);
            i = end;
        } else if c == '\'' {
            // A char literal is `'\…'` or `'x'`; anything else is a lifetime or a label.
            let end = if next == Some('\\') {
                // Past the escaped character, which may itself be `\` or `'`.
                let mut j = i + 3;
                while j < s.len() && s[j] != '\'' {
                    j += if s[j] == '\\' { 2 } else { 1 };
                }
                Some(j + 1)
            } else if s.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    let end = end.min(s.len());
                    blank(&mut out, &s[i..end]);
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if is_ident(c) {
            let start = i;
            while i < s.len() && is_ident(s[i]) {
                i += 1;
            }
            let word: String = s[start..i].iter().collect();
            let hashes = s[i..].iter().take_while(|&&c| c == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && s.get(i + hashes) == Some(&'"') {
                // Raw string: ends at a quote followed by as many hashes as it opened with.
                let mut j = i + hashes + 1;
                while j < s.len() {
                    if s[j] == '"' && s[j + 1..].iter().take_while(|&&c| c == '#').count() >= hashes
                    {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                let end = j.min(s.len());
                blank(&mut out, &s[start..end]);
                i = end;
            } else {
                // `b"…"`, `c"…"` and `b'…'` continue as an ordinary literal after the prefix.
                out.extend_from_slice(&s[start..i]);
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// Imports.
// ---------------------------------------------------------------------------------------------

/// The first identifier at `i` after optional whitespace, with the index just past it.
fn ident_at(s: &[char], mut i: usize) -> Option<(String, usize)> {
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    let start = i;
    while i < s.len() && is_ident(s[i]) {
        i += 1;
    }
    (i > start).then(|| (s[start..i].iter().collect(), i))
}

/// Every distinct first path segment after `crate::` in stripped code: `crate::journal::x` gives
/// `journal`, `crate::{a::B, c::{D, E}}` gives `a` and `c`, `crate::Error` gives `Error`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let s: Vec<char> = code.chars().collect();
    let pat: Vec<char> = "crate".chars().collect();
    let mut refs = BTreeSet::new();
    let mut i = 0;
    while i + pat.len() <= s.len() {
        let at_word = s[i..].starts_with(&pat) && (i == 0 || !is_ident(s[i - 1]));
        let mut j = i + pat.len();
        if !at_word || !s[j..].starts_with(&[':', ':']) {
            i += 1;
            continue;
        }
        j += 2;
        while j < s.len() && s[j].is_whitespace() {
            j += 1;
        }
        if s.get(j) == Some(&'{') {
            // Grouped: the first identifier of each member at depth 1.
            let mut depth = 0;
            let mut expect_member = false;
            while j < s.len() {
                match s[j] {
                    '{' => {
                        depth += 1;
                        expect_member = depth == 1;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect_member = true,
                    c if expect_member && is_ident(c) => {
                        let (name, end) = ident_at(&s, j).expect("an identifier starts here");
                        refs.insert(name);
                        expect_member = false;
                        j = end;
                        continue;
                    }
                    c if !c.is_whitespace() => expect_member = false,
                    _ => {}
                }
                j += 1;
            }
        } else if let Some((name, _)) = ident_at(&s, j) {
            refs.insert(name);
        }
        i = j;
    }
    refs
}

/// Names re-exported at the crate root by `pub use module::…;` in lib.rs, mapped to their module.
fn reexports(lib_code: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut rest = lib_code;
    while let Some(at) = rest.find("pub use ") {
        let stmt_start = at + "pub use ".len();
        let Some(len) = rest[stmt_start..].find(';') else {
            break;
        };
        let stmt = &rest[stmt_start..stmt_start + len];
        rest = &rest[stmt_start + len..];
        let Some((module, items)) = stmt.trim().split_once("::") else {
            continue;
        };
        // The name an item is known by is the identifier before each `,` or `}` or the end.
        let items = items.replace(['{', '}'], ",");
        for item in items.split(',') {
            if let Some(name) = item.split_whitespace().last() {
                let name = name.rsplit("::").next().unwrap_or(name);
                if !name.is_empty() && name != "*" && name != "self" {
                    map.insert(name.to_string(), module.trim().to_string());
                }
            }
        }
    }
    map
}

fn floor(module: &str) -> Option<usize> {
    LAYERS.iter().position(|floor| floor.contains(&module))
}

// ---------------------------------------------------------------------------------------------
// Functions.
// ---------------------------------------------------------------------------------------------

/// A `fn` item: the line of its `fn` keyword (1-based), its name, and its length in lines.
#[derive(Debug, Clone, PartialEq)]
struct Function {
    line: usize,
    name: String,
    lines: usize,
}

/// Every `fn` item with a body in stripped code. `fn(…)` pointer types and bodiless trait
/// declarations are not items with a length and are skipped; closures have no `fn`.
fn functions(code: &str) -> Vec<Function> {
    let s: Vec<char> = code.chars().collect();
    let line_of = |i: usize| s[..i].iter().filter(|&&c| c == '\n').count() + 1;
    let mut found = Vec::new();
    let mut i = 0;
    while i + 2 <= s.len() {
        let is_fn = s[i] == 'f'
            && s[i + 1] == 'n'
            && (i == 0 || !is_ident(s[i - 1]))
            && s.get(i + 2).is_some_and(|c| c.is_whitespace());
        let Some((name, after_name)) = is_fn.then(|| ident_at(&s, i + 2)).flatten() else {
            i += 1;
            continue;
        };
        // The body is the first `{` outside parentheses and brackets; a `;` first means none.
        let mut depth = 0i32;
        let mut j = after_name;
        let mut body = None;
        while j < s.len() {
            match s[j] {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ';' if depth == 0 => break,
                '{' if depth == 0 => {
                    body = Some(j);
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        if let Some(open) = body {
            let mut depth = 0;
            let mut k = open;
            while k < s.len() {
                match s[k] {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            let line = line_of(i);
            let end = line_of(k.min(s.len().saturating_sub(1)));
            found.push(Function {
                line,
                name,
                lines: end - line + 1,
            });
        }
        // Nested functions are items too: keep scanning inside the body.
        i = after_name;
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Cycles.
// ---------------------------------------------------------------------------------------------

/// The strongly connected components of more than one node, each sorted, in sorted order.
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::from([from.clone()]);
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for (_, to) in edges.iter().filter(|(a, _)| *a == n) {
                if seen.insert(to.clone()) {
                    stack.push(to.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|&n| (n, reach(n))).collect();
    let mut components: BTreeSet<Vec<String>> = BTreeSet::new();
    for &n in &nodes {
        let component: Vec<String> = nodes
            .iter()
            .filter(|&&m| reachable[n].contains(m) && reachable[m].contains(n))
            .map(|m| m.to_string())
            .collect();
        if component.len() > 1 {
            components.insert(component);
        }
    }
    components.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// The crate.
// ---------------------------------------------------------------------------------------------

struct SourceFile {
    /// Path relative to `src`, with `/` separators.
    path: String,
    /// Top-level module: the first path component, without `.rs`.
    module: String,
    text: String,
    code: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn load() -> Vec<SourceFile> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).expect("under src");
            let path = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let first = path.split('/').next().expect("a component");
            let module = first.strip_suffix(".rs").unwrap_or(first).to_string();
            let text = fs::read_to_string(&p).expect("read source file");
            let code = strip(&text);
            SourceFile {
                path,
                module,
                text,
                code,
            }
        })
        .collect()
}

struct Report {
    /// Modules (of files, or named by `crate::`) that have no floor in [`LAYERS`].
    unplaced: BTreeSet<String>,
    /// `(file, target module)`, sorted.
    upward: Vec<(String, String)>,
    cycles: Vec<Vec<String>>,
    /// `(file, function)`, longest first.
    functions: Vec<(String, Function)>,
    pipeline_lines: usize,
}

impl Report {
    fn long_functions(&self) -> usize {
        self.functions
            .iter()
            .filter(|(_, f)| f.lines > LONG_FN_LINES)
            .count()
    }

    fn longest_in_pipeline(&self) -> Option<&(String, Function)> {
        self.functions
            .iter()
            .find(|(file, _)| file.starts_with("pipeline/"))
    }

    fn print(&self) {
        println!("== migrate-core architecture ==");
        println!(
            "upward imports: {} (target <= {MAX_UPWARD_IMPORTS})",
            self.upward.len()
        );
        for (file, module) in &self.upward {
            println!("    src/{file} -> {module}");
        }
        println!(
            "module cycles: {} (allowed: {})",
            self.cycles.len(),
            ALLOWED_CYCLES.len()
        );
        for component in &self.cycles {
            println!("    {}", component.join(" <-> "));
        }
        println!("longest functions:");
        for (file, f) in self.functions.iter().take(10) {
            println!("    {:>4}  src/{file}:{} {}", f.lines, f.line, f.name);
        }
        println!(
            "functions > {LONG_FN_LINES} lines: {} of {}",
            self.long_functions(),
            self.functions.len()
        );
        if let Some((file, f)) = self.longest_in_pipeline() {
            println!(
                "longest in pipeline/: {} lines, src/{file}:{} {} (target <= {MAX_PIPELINE_FN_LINES})",
                f.lines, f.line, f.name
            );
        }
        println!("lines in pipeline/: {}", self.pipeline_lines);
    }
}

fn measure() -> Report {
    let files = load();
    let lib = files
        .iter()
        .find(|f| f.path == "lib.rs")
        .expect("src/lib.rs");
    let reexported = reexports(&lib.code);
    let mut unplaced = BTreeSet::new();
    let mut upward = Vec::new();
    let mut edges = BTreeSet::new();
    for file in files.iter().filter(|f| f.module != "lib") {
        let Some(own) = floor(&file.module) else {
            unplaced.insert(file.module.clone());
            continue;
        };
        let targets: BTreeSet<String> = crate_refs(&file.code)
            .into_iter()
            .map(|name| reexported.get(&name).cloned().unwrap_or(name))
            .collect();
        for target in targets {
            let Some(theirs) = floor(&target) else {
                unplaced.insert(target);
                continue;
            };
            if theirs > own {
                upward.push((file.path.clone(), target.clone()));
            }
            if target != file.module {
                edges.insert((file.module.clone(), target));
            }
        }
    }
    let mut functions: Vec<(String, Function)> = files
        .iter()
        .flat_map(|file| {
            functions(&file.code)
                .into_iter()
                .map(|f| (file.path.clone(), f))
        })
        .collect();
    functions.sort_by(|(fa, a), (fb, b)| {
        b.lines
            .cmp(&a.lines)
            .then_with(|| fa.cmp(fb))
            .then(a.line.cmp(&b.line))
    });
    let pipeline_lines = files
        .iter()
        .filter(|f| f.path.starts_with("pipeline/"))
        .map(|f| f.text.lines().count())
        .sum();
    Report {
        unplaced,
        upward,
        cycles: cycles(&edges),
        functions,
        pipeline_lines,
    }
}

fn assert_placed(report: &Report) {
    assert!(
        report.unplaced.is_empty(),
        "modules without a floor: {:?}; place each in LAYERS in tests/architecture.rs",
        report.unplaced
    );
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn layering_targets_are_met() {
    let report = measure();
    report.print();
    assert_placed(&report);
    assert!(
        report.upward.len() <= MAX_UPWARD_IMPORTS,
        "{} upward imports, at most {MAX_UPWARD_IMPORTS} allowed: {:?}",
        report.upward.len(),
        report.upward
    );
    let unexpected: Vec<&Vec<String>> = report
        .cycles
        .iter()
        .filter(|c| !ALLOWED_CYCLES.iter().any(|a| a.iter().eq(c.iter())))
        .collect();
    assert!(unexpected.is_empty(), "module cycles: {unexpected:?}");
    if let Some((file, f)) = report.longest_in_pipeline() {
        assert!(
            f.lines <= MAX_PIPELINE_FN_LINES,
            "src/{file}:{} {} is {} lines, at most {MAX_PIPELINE_FN_LINES} allowed",
            f.line,
            f.name,
            f.lines
        );
    }
}

#[test]
fn every_module_has_a_floor() {
    assert_placed(&measure());
}

#[test]
fn braces_balance_in_every_stripped_file() {
    // A literal or comment the lexer misreads almost always unbalances the braces it leaves.
    for file in load() {
        let mut depth = 0i64;
        for c in file.code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "src/{}: a `}}` closes nothing", file.path);
        }
        assert_eq!(depth, 0, "src/{}: unclosed `{{`", file.path);
    }
}

#[test]
fn grouped_use_counts_each_top_level_member() {
    let code =
        strip("use crate::{\n    journal::{self, Record},\n    ledger::Lock,\n    Error,\n};\n");
    assert_eq!(crate_refs(&code), set(&["Error", "journal", "ledger"]));
}

#[test]
fn inline_paths_count_and_super_does_not() {
    let code = strip(
        "fn f() -> Result<(), crate::Error> {\n    crate::journal::record_schema(x)?;\n    super::sibling();\n    pub(crate) fn g() {}\n}\n",
    );
    assert_eq!(crate_refs(&code), set(&["Error", "journal"]));
}

#[test]
fn comments_and_strings_are_not_code() {
    let code = strip(
        "//! see [`Event`](crate::Event)\n/// crate::backup\n// use crate::rollback;\n/* crate::config /* nested */ crate::health */\nconst S: &str = \"crate::pipeline \\\" crate::engine\";\nuse crate::sql;\n",
    );
    assert_eq!(crate_refs(&code), set(&["sql"]));
    assert_eq!(code.lines().count(), 6, "line structure is kept");
}

#[test]
fn braces_in_literals_do_not_count() {
    let code = strip(concat!(
        "fn a<'a>(x: &'a str) -> char {\n",
        "    let _ = r#\"}\"} crate::x\"#;\n",
        "    let _ = br\"}\";\n",
        "    let _ = b'}';\n",
        "    let _ = ({ '\\\\' }, ['\\'', b'\\\\', '\\u{7d}'], '}');\n",
        "    let _ = '{';\n",
        "    'outer: loop { break 'outer; }\n",
        "    '}'\n",
        "}\n",
        "fn b() {}\n",
    ));
    assert!(crate_refs(&code).is_empty());
    let fns = functions(&code);
    let found: Vec<(&str, usize, usize)> = fns
        .iter()
        .map(|f| (f.name.as_str(), f.line, f.lines))
        .collect();
    assert_eq!(found, vec![("a", 1, 9), ("b", 10, 1)]);
}

#[test]
fn function_length_runs_from_fn_line_to_closing_brace() {
    let code = strip(concat!(
        "impl T for S {\n",
        "    pub fn method(\n",
        "        &self,\n",
        "        buf: [u8; 4],\n",
        "    ) -> impl Fn(u8) -> u8 {\n",
        "        fn inner() {\n",
        "        }\n",
        "        |x| x\n",
        "    }\n",
        "}\n",
        "trait U {\n",
        "    fn declared(&self);\n",
        "    fn defaulted(&self) -> fn(u8) { todo!() }\n",
        "}\n",
    ));
    let found: Vec<(String, usize, usize)> = functions(&code)
        .into_iter()
        .map(|f| (f.name, f.line, f.lines))
        .collect();
    assert_eq!(
        found,
        vec![
            ("method".to_string(), 2, 8),
            ("inner".to_string(), 6, 2),
            ("defaulted".to_string(), 13, 1),
        ]
    );
}

#[test]
fn reexports_map_to_their_module() {
    let lib = strip(
        "pub mod executor;\npub use connection::DatabaseUrl;\npub use error::Error;\npub use executor::{\n    DeployOptions, Event,\n};\npub use a::b::{C as D};\n",
    );
    let map = reexports(&lib);
    assert_eq!(map["DatabaseUrl"], "connection");
    assert_eq!(map["Error"], "error");
    assert_eq!(map["Event"], "executor");
    assert_eq!(map["DeployOptions"], "executor");
    assert_eq!(map["D"], "a");
    assert_eq!(map.len(), 5);
}

#[test]
fn cycles_are_components_of_more_than_one_module() {
    let edges: BTreeSet<(String, String)> =
        [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("e", "f")]
            .into_iter()
            .map(|(x, y)| (x.to_string(), y.to_string()))
            .collect();
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c"]]);
}

#[test]
fn layer_table_is_consistent() {
    let all: Vec<&str> = LAYERS.iter().flat_map(|f| f.iter().copied()).collect();
    let distinct: BTreeSet<&str> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "a module is on two floors");
    assert!(floor("sql") < floor("pipeline"));
    assert!(floor("pipeline") < floor("error") && floor("error") < floor("engine"));
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}
