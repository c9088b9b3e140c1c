//! The layering test: `docs/ARCHITECTURE.md`'s table of layers against the `crate::`, `super::`
//! and `self::` paths in every source file of this crate.
//!
//! A module may name only modules of its own row or of rows above it, it may not name the crate
//! root (name the module that defines the item instead), and every file must belong to a row.
//! Since a row may only look up the table, the rows form a chain with no cycle; the files of one
//! row are one layer and may name each other. The reader below is a small lexer, enough for
//! this crate's own code: it skips comments, string and character literals, follows inline
//! `mod name { … }` blocks for `super::`, and expands `use` groups.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

#[test]
fn the_crate_follows_the_table_of_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = fs::read_to_string(root.join("../docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md is readable");
    let mut files = BTreeMap::new();
    read_sources(&root.join("src"), "", &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let problems = check(&table, &files);
    assert!(
        problems.is_empty(),
        "the layering of socketio/src does not match docs/ARCHITECTURE.md:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_each_kind_of_violation() {
    let table = "| modules | layer |\n|---|---|\n\
                 | `low.rs` | low |\n| `high/` | high |\n";
    let sources = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    let clean = sources(&[
        ("lib.rs", "pub mod low; pub mod high; pub use low::Thing;"),
        (
            "low.rs",
            "// crate::high::x in a comment\nconst S: &str = \"crate::high\"; \
             fn f<'a>(c: char) -> bool { c == '{' }",
        ),
        ("high/mod.rs", "mod part; use crate::low::{self, Thing};"),
        (
            "high/part.rs",
            "use super::super::low::Thing; mod inner { use super::*; }",
        ),
    ]);
    assert_eq!(check(table, &clean), Vec::<String>::new());

    let upward = sources(&[
        ("lib.rs", "pub mod low; pub mod high;"),
        ("low.rs", "fn f() { crate::high::{part::go, other}(); }"),
        ("high/mod.rs", "pub mod part;"),
        ("high/part.rs", ""),
    ]);
    let problems = check(table, &upward);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("low.rs names high/part.rs")),
        "{problems:?}"
    );

    let rooted = sources(&[
        ("lib.rs", "pub mod low; pub use low::Thing;"),
        ("low.rs", "use crate::Thing;"),
    ]);
    let problems = check(table, &rooted);
    assert!(
        problems.iter().any(|p| p.contains("names the crate root")),
        "{problems:?}"
    );

    // Files of one row are one layer: they may name each other.
    let same_row = sources(&[
        ("lib.rs", "pub mod high;"),
        ("high/mod.rs", "mod part; pub use part::Go; pub struct Up;"),
        ("high/part.rs", "use super::Up; pub struct Go;"),
    ]);
    assert_eq!(check(table, &same_row), Vec::<String>::new());

    let homeless = sources(&[("lib.rs", "pub mod stray;"), ("stray.rs", "")]);
    let problems = check(table, &homeless);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("stray.rs belongs to no row")),
        "{problems:?}"
    );
}

/// Every `.rs` file under `dir`, keyed by its path relative to `src/` with `/` separators.
fn read_sources(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("src is readable")
        .flatten()
        .collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            read_sources(&path, &format!("{prefix}{name}/"), out);
        } else if name.ends_with(".rs") {
            let text = fs::read_to_string(&path).expect("source is readable");
            out.insert(format!("{prefix}{name}"), text);
        }
    }
}

/// The table's rows, lowest first: each is a list of file paths and directories (ending in `/`).
fn read_table(table: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in table.lines() {
        let line = line.trim();
        if line.starts_with("|---") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let first_cell = line[1..].split('|').next().unwrap_or("");
        let paths = first_cell
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        rows.push(paths);
    }
    rows
}

/// The row of a file: an entry naming the file itself wins, then the longest directory.
fn row_of(rows: &[Vec<String>], file: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (index, row) in rows.iter().enumerate() {
        for entry in row {
            let specificity = if entry == file {
                usize::MAX
            } else if entry.ends_with('/') && file.starts_with(entry.as_str()) {
                entry.len()
            } else {
                continue;
            };
            if best.is_none_or(|(_, known)| specificity > known) {
                best = Some((index, specificity));
            }
        }
    }
    best.map(|(index, _)| index)
}

/// Every problem found, one line each; empty when the sources follow the table.
fn check(table: &str, files: &BTreeMap<String, String>) -> Vec<String> {
    let rows = read_table(table);
    let mut problems = Vec::new();
    let aliases = files
        .get("lib.rs")
        .map(|lib| path_aliases(&lex(lib)))
        .unwrap_or_default();
    for (file, text) in files {
        if file == "lib.rs" {
            continue;
        }
        let Some(row) = row_of(&rows, file) else {
            problems.push(format!("{file} belongs to no row of the table"));
            continue;
        };
        let module = module_of(file);
        for path in references(&lex(text), &module) {
            let target = file_of(&path, files, &aliases);
            if target == "lib.rs" {
                problems.push(format!(
                    "{file} names the crate root: crate::{}",
                    path.join("::")
                ));
                continue;
            }
            if target == *file {
                continue;
            }
            match row_of(&rows, &target) {
                Some(target_row) if target_row > row => problems.push(format!(
                    "{file} names {target} (crate::{}), which is in a lower row",
                    path.join("::")
                )),
                _ => {}
            }
        }
    }
    problems
}

/// The module path of a file: `a/b.rs` and `a/b/mod.rs` are both `a::b`.
fn module_of(file: &str) -> Vec<String> {
    let trimmed = file.trim_end_matches(".rs");
    let mut segments: Vec<String> = trimmed.split('/').map(str::to_owned).collect();
    if segments
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        segments.pop();
    }
    segments
}

/// The file that defines the deepest module on `path`; `lib.rs` when only the root does.
fn file_of(
    path: &[String],
    files: &BTreeMap<String, String>,
    aliases: &BTreeMap<String, String>,
) -> String {
    for depth in (1..=path.len()).rev() {
        let prefix = &path[..depth];
        if let Some(file) = aliases.get(&prefix[0]).filter(|_| depth == 1) {
            return file.clone();
        }
        let joined = prefix.join("/");
        for candidate in [format!("{joined}.rs"), format!("{joined}/mod.rs")] {
            if files.contains_key(&candidate) {
                return candidate;
            }
        }
    }
    "lib.rs".to_owned()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::`, single punctuation and string contents; comments, numbers, character
/// literals and lifetimes are dropped.
fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&chars, i);
        } else if c == '"' {
            let (contents, end) = read_string(&chars, i + 1);
            tokens.push(Token::Str(contents));
            i = end;
        } else if c == '\'' {
            i = skip_quote(&chars, i);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let prefix_of_literal = matches!(word.as_str(), "r" | "b" | "br" | "c" | "cr");
            match chars.get(i) {
                Some('"') if prefix_of_literal && !word.contains('r') => {
                    let (contents, end) = read_string(&chars, i + 1);
                    tokens.push(Token::Str(contents));
                    i = end;
                }
                Some('"' | '#') if prefix_of_literal && word.contains('r') => {
                    match read_raw_string(&chars, i) {
                        Some((contents, end)) => {
                            tokens.push(Token::Str(contents));
                            i = end;
                        }
                        // `r#ident`: a raw identifier.
                        None => i += 1,
                    }
                }
                Some('\'') if word == "b" => i = skip_quote(&chars, i),
                _ => tokens.push(Token::Ident(word)),
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            tokens.push(Token::PathSep);
            i += 2;
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

fn skip_block_comment(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// The contents of a string whose opening quote is just before `i`, and the index after it.
fn read_string(chars: &[char], mut i: usize) -> (String, usize) {
    let mut contents = String::new();
    while i < chars.len() && chars[i] != '"' {
        if chars[i] == '\\' {
            i += 1;
        }
        if let Some(&c) = chars.get(i) {
            contents.push(c);
        }
        i += 1;
    }
    (contents, i + 1)
}

/// A raw string starting at `i` (at its first `#` or quote); `None` when it is a raw identifier.
fn read_raw_string(chars: &[char], mut i: usize) -> Option<(String, usize)> {
    let mut hashes = 0;
    while chars.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    if chars.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    let start = i;
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return Some((chars[start..i].iter().collect(), i + 1 + hashes));
        }
        i += 1;
    }
    Some((chars[start..].iter().collect(), chars.len()))
}

/// Skips a character literal or a lifetime starting at the quote `i`.
fn skip_quote(chars: &[char], i: usize) -> usize {
    match (chars.get(i + 1), chars.get(i + 2)) {
        (Some('\\'), _) => {
            let mut j = i + 2;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            j + 1
        }
        (Some(_), Some('\'')) => i + 3,
        // A lifetime or a label: the identifier after it is harmless.
        _ => i + 1,
    }
}

/// `#[path = "file.rs"] mod name;` in the crate root: module name → file.
fn path_aliases(tokens: &[Token]) -> BTreeMap<String, String> {
    let mut aliases = BTreeMap::new();
    let mut pending: Option<String> = None;
    for (i, token) in tokens.iter().enumerate() {
        match (token, tokens.get(i + 1), tokens.get(i + 2)) {
            (Token::Ident(word), Some(Token::Punct('=')), Some(Token::Str(file)))
                if word == "path" =>
            {
                pending = Some(file.clone());
            }
            (Token::Ident(word), Some(Token::Ident(name)), _) if word == "mod" => {
                if let Some(file) = pending.take() {
                    aliases.insert(name.clone(), file);
                }
            }
            _ => {}
        }
    }
    aliases
}

/// Every crate path named in `tokens`, made absolute (without `crate`), for code in `module`.
fn references(tokens: &[Token], module: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    // `mod name;` declares a child file, which the file may name without `self::`.
    let children: BTreeSet<&str> = tokens
        .windows(3)
        .filter_map(|window| match window {
            [Token::Ident(word), Token::Ident(name), Token::Punct(';')] if word == "mod" => {
                Some(name.as_str())
            }
            _ => None,
        })
        .collect();
    // Inline `mod name {` blocks, with the brace depth at which each closes.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, at)| *at == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some(Token::Ident(name)), Some(Token::Punct('{'))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    inline.push((name.clone(), depth + 1));
                }
            }
            Token::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && tokens.get(i + 1) == Some(&Token::PathSep)
                    && (i == 0 || tokens[i - 1] != Token::PathSep) =>
            {
                let mut here: Vec<String> = module.to_vec();
                here.extend(inline.iter().map(|(name, _)| name.clone()));
                let (base, after) = path_base(tokens, i, here);
                let (found, end) = path_tail(tokens, after, base);
                paths.extend(found);
                i = end;
                continue;
            }
            Token::Ident(word)
                if children.contains(word.as_str())
                    && tokens.get(i + 1) == Some(&Token::PathSep)
                    && (i == 0 || tokens[i - 1] != Token::PathSep) =>
            {
                let mut base = module.to_vec();
                base.push(word.clone());
                let (found, end) = path_tail(tokens, i + 2, base);
                paths.extend(found);
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    paths
}

/// Resolves the leading `crate`/`self`/`super::super…` of the path at `i`; returns the absolute
/// module it names and the index just after its last `::`.
fn path_base(tokens: &[Token], mut i: usize, mut here: Vec<String>) -> (Vec<String>, usize) {
    let first = &tokens[i];
    if *first == Token::Ident("crate".into()) {
        here.clear();
    } else if *first == Token::Ident("super".into()) {
        here.pop();
    }
    i += 2;
    while tokens.get(i) == Some(&Token::Ident("super".into()))
        && tokens.get(i + 1) == Some(&Token::PathSep)
    {
        here.pop();
        i += 2;
    }
    (here, i)
}

/// The paths at `i` (just after a `::`) under `prefix`, expanding `{…}` groups; returns them and
/// the index after the path.
fn path_tail(tokens: &[Token], mut i: usize, mut prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    loop {
        match tokens.get(i) {
            Some(Token::Ident(word)) => {
                if word != "self" {
                    prefix.push(word.clone());
                }
                i += 1;
                if tokens.get(i) == Some(&Token::PathSep) {
                    i += 1;
                    continue;
                }
                return (vec![prefix], i);
            }
            Some(Token::Punct('{')) => {
                let mut paths = Vec::new();
                i += 1;
                loop {
                    match tokens.get(i) {
                        None => return (paths, i),
                        Some(Token::Punct('}')) => return (paths, i + 1),
                        Some(Token::Punct(',')) => i += 1,
                        Some(Token::Ident(word)) if word == "as" => i += 2,
                        Some(Token::Ident(_) | Token::Punct('{')) => {
                            let (found, end) = path_tail(tokens, i, prefix.clone());
                            paths.extend(found);
                            i = end;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            // `*` or anything else: the prefix itself.
            _ => return (vec![prefix], i),
        }
    }
}
