//! Splitting a script into statements the way psql does.
//!
//! The splitter understands everything that can hide a semicolon: single-quoted strings (with
//! `''`), `E''` strings (with backslash escapes), quoted identifiers, dollar quotes with tags,
//! `--` comments, nested `/* */` comments, parentheses, and `BEGIN ATOMIC … END` bodies of SQL
//! functions. Each statement keeps its exact byte span and its 1-based line and column, and the
//! byte spans of its bare words (keywords and unquoted identifiers) so that classifiers never
//! look inside strings or comments. It runs in time linear in the size of the script.

use std::ops::Range;

/// A 1-based line and column (the column counts characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LineCol {
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
}

impl std::fmt::Display for LineCol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What kind of item the splitter found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// An SQL statement, ended by `;` or by the end of the script.
    Sql,
    /// A psql meta-command such as `\i file` or `\set`: the server does not understand it.
    MetaCommand,
}

/// A construct left open at the end of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unterminated {
    /// A `'…'` string.
    String,
    /// A `"…"` identifier.
    QuotedIdentifier,
    /// A `$tag$…$tag$` string.
    DollarQuote,
    /// A `/* … */` comment.
    BlockComment,
    /// An opening parenthesis.
    Parenthesis,
}

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// What was found.
    pub kind: StatementKind,
    /// Byte span in the script, from the first token to the end of the statement, excluding the
    /// terminating semicolon and any comment before the first token.
    pub span: Range<usize>,
    /// Where the statement starts.
    pub start: LineCol,
    /// Byte spans of the bare words (keywords, unquoted identifiers), outside strings, quoted
    /// identifiers and comments.
    pub words: Vec<Range<usize>>,
    /// A construct still open at the end of the script, if any.
    pub unterminated: Option<Unterminated>,
}

impl Statement {
    /// The statement text.
    #[must_use]
    pub fn text<'s>(&self, script: &'s str) -> &'s str {
        &script[self.span.clone()]
    }

    /// The `n`-th bare word, upper-cased for comparison with keywords.
    #[must_use]
    pub fn word(&self, script: &str, n: usize) -> Option<String> {
        self.words
            .get(n)
            .map(|r| script[r.clone()].to_ascii_uppercase())
    }

    /// True when one of the bare words equals `keyword` (ASCII case-insensitive).
    #[must_use]
    pub fn has_word(&self, script: &str, keyword: &str) -> bool {
        self.words
            .iter()
            .any(|r| script[r.clone()].eq_ignore_ascii_case(keyword))
    }

    /// True when the first bare words are `keywords`, in order (ASCII case-insensitive).
    #[must_use]
    pub fn starts_with_words(&self, script: &str, keywords: &[&str]) -> bool {
        keywords.len() <= self.words.len()
            && keywords
                .iter()
                .zip(&self.words)
                .all(|(k, r)| script[r.clone()].eq_ignore_ascii_case(k))
    }
}

/// Splits `script` into statements, as psql would send them.
///
/// Empty statements (a lone `;`, or only comments) are dropped, since PostgreSQL ignores them too.
///
/// ```
/// use migrate_core::sql::split;
/// let sql = "CREATE TABLE \"a;b\" (t text DEFAULT ';');\n-- c;\nDO $x$ BEGIN PERFORM 1; END $x$;";
/// let statements = split(sql);
/// assert_eq!(statements.len(), 2);
/// assert_eq!(statements[1].start.line, 3);
/// assert_eq!(statements[1].text(sql), "DO $x$ BEGIN PERFORM 1; END $x$");
/// ```
#[must_use]
pub fn split(script: &str) -> Vec<Statement> {
    Splitter::new(script).run()
}

struct Splitter<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
    out: Vec<Statement>,
    lines: LineIndex,
    // Current statement.
    start: Option<usize>,
    last_token_end: usize,
    words: Vec<Range<usize>>,
    paren_depth: usize,
    begin_depth: usize,
}

impl<'s> Splitter<'s> {
    fn new(src: &'s str) -> Self {
        Self {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            out: Vec::new(),
            lines: LineIndex::default(),
            start: None,
            last_token_end: 0,
            words: Vec::new(),
            paren_depth: 0,
            begin_depth: 0,
        }
    }

    fn run(mut self) -> Vec<Statement> {
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            match b {
                b';' if self.paren_depth == 0 && self.begin_depth == 0 => {
                    self.finish(None);
                    self.pos += 1;
                }
                b'-' if self.peek(1) == Some(b'-') => self.skip_line_comment(),
                b'/' if self.peek(1) == Some(b'*') => {
                    if !self.skip_block_comment() {
                        return self.end(Some(Unterminated::BlockComment));
                    }
                }
                b'\\' if self.start.is_none() => self.meta_command(),
                b'\'' => {
                    let escapes = self.is_escape_string_prefix();
                    if !self.token(|s| s.skip_quoted(b'\'', escapes)) {
                        return self.end(Some(Unterminated::String));
                    }
                }
                b'"' => {
                    if !self.token(|s| s.skip_quoted(b'"', false)) {
                        return self.end(Some(Unterminated::QuotedIdentifier));
                    }
                }
                b'$' => match self.dollar_tag() {
                    Some(tag_len) => {
                        if !self.token(|s| s.skip_dollar_quote(tag_len)) {
                            return self.end(Some(Unterminated::DollarQuote));
                        }
                    }
                    None => self.single(),
                },
                b'(' => {
                    self.paren_depth += 1;
                    self.single();
                }
                b')' => {
                    self.paren_depth = self.paren_depth.saturating_sub(1);
                    self.single();
                }
                b if b.is_ascii_whitespace() => self.pos += 1,
                b if is_ident_start(b) => self.word(),
                _ => self.single(),
            };
        }
        let open = (self.paren_depth > 0).then_some(Unterminated::Parenthesis);
        self.end(open)
    }

    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    /// Consumes one token with `f`, marking the statement as started; returns `f`'s result.
    fn token(&mut self, f: impl FnOnce(&mut Self) -> bool) -> bool {
        self.start.get_or_insert(self.pos);
        let ok = f(self);
        self.last_token_end = self.pos;
        ok
    }

    fn single(&mut self) {
        self.token(|s| {
            // Advance by one character, not one byte, to keep spans on char boundaries.
            let ch_len = s.src[s.pos..].chars().next().map_or(1, char::len_utf8);
            s.pos += ch_len;
            true
        });
    }

    fn word(&mut self) {
        let begin = self.pos;
        self.token(|s| {
            while s.pos < s.bytes.len() && is_ident_continue(s.bytes[s.pos]) {
                s.pos += 1;
            }
            true
        });
        let range = begin..self.pos;
        self.track_begin_atomic(&self.src[range.clone()]);
        self.words.push(range);
    }

    /// psql does not split inside the `BEGIN ATOMIC … END` body of a SQL-standard function.
    fn track_begin_atomic(&mut self, word: &str) {
        let in_routine = self.words.len() >= 2 && {
            let first = &self.src[self.words[0].clone()];
            first.eq_ignore_ascii_case("CREATE")
                && self.words.iter().take(5).any(|r| {
                    let w = &self.src[r.clone()];
                    w.eq_ignore_ascii_case("FUNCTION") || w.eq_ignore_ascii_case("PROCEDURE")
                })
        };
        if !in_routine {
            return;
        }
        let opens = word.eq_ignore_ascii_case("BEGIN")
            || (word.eq_ignore_ascii_case("CASE") && self.begin_depth > 0);
        if opens {
            self.begin_depth += 1;
        } else if word.eq_ignore_ascii_case("END") && self.begin_depth > 0 {
            self.begin_depth -= 1;
        }
    }

    fn is_escape_string_prefix(&self) -> bool {
        // E'…' or e'…': the E must be a word of its own, not the end of an identifier.
        self.pos >= 1
            && matches!(self.bytes[self.pos - 1], b'E' | b'e')
            && (self.pos < 2 || !is_ident_continue(self.bytes[self.pos - 2]))
    }

    fn skip_quoted(&mut self, quote: u8, backslash_escapes: bool) -> bool {
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            if backslash_escapes && b == b'\\' {
                self.pos += 2;
                continue;
            }
            self.pos += 1;
            if b == quote {
                if self.bytes.get(self.pos) == Some(&quote) {
                    self.pos += 1; // doubled quote
                } else {
                    return true;
                }
            }
        }
        self.pos = self.bytes.len();
        false
    }

    /// Length of a dollar-quote opening tag (`$$` or `$tag$`) at the current position.
    fn dollar_tag(&self) -> Option<usize> {
        // `a$b` and `$1` are not dollar quotes.
        if self.pos > 0 && is_ident_continue(self.bytes[self.pos - 1]) {
            return None;
        }
        let rest = &self.bytes[self.pos + 1..];
        if rest.first().is_some_and(|b| b.is_ascii_digit()) {
            return None;
        }
        let tag = rest
            .iter()
            .take_while(|b| is_ident_continue(**b) && **b != b'$')
            .count();
        (rest.get(tag) == Some(&b'$')).then_some(tag + 2)
    }

    fn skip_dollar_quote(&mut self, tag_len: usize) -> bool {
        let tag = &self.bytes[self.pos..self.pos + tag_len];
        self.pos += tag_len;
        match find(&self.bytes[self.pos..], tag) {
            Some(at) => {
                self.pos += at + tag_len;
                true
            }
            None => {
                self.pos = self.bytes.len();
                false
            }
        }
    }

    fn skip_line_comment(&mut self) {
        match self.bytes[self.pos..].iter().position(|b| *b == b'\n') {
            Some(at) => self.pos += at + 1,
            None => self.pos = self.bytes.len(),
        }
    }

    fn skip_block_comment(&mut self) -> bool {
        let mut depth = 0usize;
        while self.pos < self.bytes.len() {
            match (self.bytes[self.pos], self.peek(1)) {
                (b'/', Some(b'*')) => {
                    depth += 1;
                    self.pos += 2;
                }
                (b'*', Some(b'/')) => {
                    depth -= 1;
                    self.pos += 2;
                    if depth == 0 {
                        return true;
                    }
                }
                _ => self.pos += 1,
            }
        }
        false
    }

    fn meta_command(&mut self) {
        let begin = self.pos;
        self.skip_line_comment();
        let end = self.src[begin..self.pos].trim_end().len() + begin;
        self.out.push(Statement {
            kind: StatementKind::MetaCommand,
            span: begin..end,
            start: self.lines.locate(self.src, begin),
            words: Vec::new(),
            unterminated: None,
        });
    }

    fn finish(&mut self, unterminated: Option<Unterminated>) {
        if let Some(start) = self.start.take() {
            let end = if unterminated.is_some() {
                self.bytes.len()
            } else {
                self.last_token_end
            };
            self.out.push(Statement {
                kind: StatementKind::Sql,
                span: start..end,
                start: self.lines.locate(self.src, start),
                words: std::mem::take(&mut self.words),
                unterminated,
            });
        }
        self.words.clear();
        self.paren_depth = 0;
        self.begin_depth = 0;
    }

    fn end(mut self, unterminated: Option<Unterminated>) -> Vec<Statement> {
        self.finish(unterminated);
        self.out
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Converts byte offsets into line/column, scanning forward only (offsets come in order), so
/// locating every statement of a script is linear overall.
#[derive(Default)]
pub(crate) struct LineIndex {
    offset: usize,
    line: usize,
    line_start: usize,
}

impl LineIndex {
    pub(crate) fn locate(&mut self, src: &str, offset: usize) -> LineCol {
        if offset < self.offset {
            *self = Self::default();
        }
        let bytes = src.as_bytes();
        for (i, b) in bytes[self.offset..offset].iter().enumerate() {
            if *b == b'\n' {
                self.line += 1;
                self.line_start = self.offset + i + 1;
            }
        }
        self.offset = offset;
        LineCol {
            line: self.line + 1,
            column: src[self.line_start..offset].chars().count() + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).iter().map(|s| s.text(sql)).collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let sql = "SELECT ';' ; SELECT \"x;y\"; SELECT E'\\';' ; SELECT (1;2); -- ;\n/* ; /* ; */ ; */ SELECT 3";
        assert_eq!(
            texts(sql),
            [
                "SELECT ';'",
                "SELECT \"x;y\"",
                "SELECT E'\\';'",
                "SELECT (1;2)",
                "SELECT 3"
            ]
        );
    }

    #[test]
    fn dollar_quotes_with_tags() {
        let sql = "DO $body$ BEGIN RAISE NOTICE '$$;'; END $body$; SELECT $$a;b$$; SELECT $1, a$b;";
        assert_eq!(
            texts(sql),
            [
                "DO $body$ BEGIN RAISE NOTICE '$$;'; END $body$",
                "SELECT $$a;b$$",
                "SELECT $1, a$b"
            ]
        );
    }

    #[test]
    fn standard_strings_have_no_backslash_escapes() {
        let sql = "SELECT 'a\\'; SELECT 2;";
        assert_eq!(texts(sql), ["SELECT 'a\\'", "SELECT 2"]);
    }

    #[test]
    fn begin_atomic_bodies_stay_whole() {
        let sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END; SELECT 2;";
        let t = texts(sql);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[1], "SELECT 2");
    }

    #[test]
    fn transaction_begin_is_its_own_statement() {
        assert_eq!(
            texts("BEGIN; SELECT 1; COMMIT;"),
            ["BEGIN", "SELECT 1", "COMMIT"]
        );
    }

    #[test]
    fn reports_positions_and_words() {
        let sql = "-- header\n\n  CREATE INDEX CONCURRENTLY \"i\" ON t (c);\nDROP TABLE é;";
        let st = split(sql);
        assert_eq!(st[0].start, LineCol { line: 3, column: 3 });
        assert_eq!(st[0].word(sql, 2).as_deref(), Some("CONCURRENTLY"));
        assert!(st[0].starts_with_words(sql, &["create", "index"]));
        assert!(
            !st[0].has_word(sql, "i"),
            "quoted identifiers are not bare words"
        );
        assert_eq!(st[1].start, LineCol { line: 4, column: 1 });
        assert_eq!(st[1].word(sql, 2).as_deref(), Some("é"));
    }

    #[test]
    fn reports_unterminated_constructs_and_meta_commands() {
        let st = split("SELECT 'abc");
        assert_eq!(st[0].unterminated, Some(Unterminated::String));
        let st = split("SELECT $$abc");
        assert_eq!(st[0].unterminated, Some(Unterminated::DollarQuote));
        let st = split("\\i other.sql\nSELECT 1;");
        assert_eq!(st[0].kind, StatementKind::MetaCommand);
        assert_eq!(st[1].start.line, 2);
    }

    #[test]
    fn comments_only_is_empty() {
        assert!(split("-- This is an empty migration.").is_empty());
        assert!(split(" ; ;\n/* x */").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn outside_statements_only_whitespace_semicolons_and_comments_remain(
            sql in r#"([a-zA-Z0-9 ;'"$()\-/*\n]|--|/\*|\*/|\$\$|E'){0,60}"#
        ) {
            let statements = split(&sql);
            let mut gaps = String::new();
            let mut last = 0;
            for st in &statements {
                gaps.push_str(&sql[last..st.span.start]);
                gaps.push('\n');
                last = st.span.end;
            }
            gaps.push_str(&sql[last..]);
            // Every non-whitespace character outside the statements belongs to a comment or is a
            // separator: splitting what remains finds nothing.
            let rest = split(&gaps);
            proptest::prop_assert!(rest.is_empty(), "{:?} left {:?}", sql, rest.iter().map(|s| s.text(&gaps)).collect::<Vec<_>>());
        }

        #[test]
        fn spans_are_in_order_on_char_boundaries(sql in "[a-zA-Z0-9 ;'\"$()\\-/*\\n\\\\éE]{0,80}") {
            let statements = split(&sql);
            let mut last = 0;
            for st in &statements {
                proptest::prop_assert!(st.span.start >= last && st.span.end >= st.span.start);
                proptest::prop_assert!(sql.is_char_boundary(st.span.start) && sql.is_char_boundary(st.span.end));
                last = st.span.end;
            }
        }
    }
}
