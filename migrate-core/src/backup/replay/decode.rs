//! Reading `test_decoding`'s text: one line per change, as
//! `table public."User": UPDATE: old-key: id[integer]:2 new-tuple: id[integer]:22 a[text]:'y'`.
//!
//! Names are printed with `quote_identifier`, types with `format_type`, values with the type's
//! output function in the decoding session's settings (pinned by the caller), strings as
//! standard literals with quotes doubled, `null` for NULL and `unchanged-toast-datum` for a
//! TOASTed value an UPDATE did not touch.

/// One decoded row change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// Schema of the table, unquoted.
    pub schema: String,
    /// Table, unquoted, as named when the change was made.
    pub table: String,
    pub op: Op,
    /// The old key (UPDATE whose key changed, or under `REPLICA IDENTITY FULL`; DELETE).
    pub old: Option<Vec<Column>>,
    /// The new tuple (INSERT, UPDATE).
    pub new: Option<Vec<Column>>,
}

/// What the change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Op {
    Insert,
    Update,
    Delete,
    Truncate,
}

/// One column of a decoded tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// The name, unquoted.
    pub name: String,
    /// The type as `format_type` printed it.
    pub type_name: String,
    pub value: Value,
}

/// A column's value as decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    /// A TOASTed value the change did not touch: not in the record, left as it is.
    Unchanged,
    /// The value's text (the type's output), unquoted.
    Text(String),
}

impl Value {
    pub(crate) fn as_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Unchanged => serde_json::Value::String("unchanged-toast-datum".to_owned()),
            Self::Text(t) => serde_json::Value::String(t.clone()),
        }
    }
}

/// Parses one change line; `Err` says what could not be read.
pub(crate) fn parse(line: &str) -> Result<Change, String> {
    let mut p = Cursor { rest: line };
    p.expect("table ")?;
    let schema = p.ident()?;
    p.expect(".")?;
    let table = p.ident()?;
    p.expect(": ")?;
    let op = if p.eat("INSERT:") {
        Op::Insert
    } else if p.eat("UPDATE:") {
        Op::Update
    } else if p.eat("DELETE:") {
        Op::Delete
    } else if p.eat("TRUNCATE:") {
        Op::Truncate
    } else {
        return Err(format!("unknown change in {line:?}"));
    };
    let (mut old, mut new) = (None, None);
    match op {
        Op::Truncate => {}
        Op::Insert => new = p.tuple()?,
        Op::Delete => old = p.tuple()?,
        Op::Update => {
            p.skip_spaces();
            if p.eat("old-key:") {
                old = p.tuple()?;
                p.skip_spaces();
                p.expect("new-tuple:")?;
            }
            new = p.tuple()?;
        }
    }
    Ok(Change {
        schema,
        table,
        op,
        old,
        new,
    })
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn eat(&mut self, s: &str) -> bool {
        match self.rest.strip_prefix(s) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, s: &str) -> Result<(), String> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(format!("expected {s:?} at {:?}", self.head()))
        }
    }

    fn head(&self) -> &str {
        let end = self
            .rest
            .char_indices()
            .nth(40)
            .map_or(self.rest.len(), |(i, _)| i);
        &self.rest[..end]
    }

    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start_matches(' ');
    }

    /// A name as `quote_identifier` prints it: bare (lower case, digits, `_`, `$`) or quoted.
    fn ident(&mut self) -> Result<String, String> {
        if let Some(rest) = self.rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = rest.char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if rest[i + 1..].starts_with('"') {
                        out.push('"');
                        chars.next();
                    } else {
                        self.rest = &rest[i + 1..];
                        return Ok(out);
                    }
                } else {
                    out.push(c);
                }
            }
            return Err(format!("unterminated quoted name at {:?}", self.head()));
        }
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return Err(format!("expected a name at {:?}", self.head()));
        }
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        Ok(name.to_owned())
    }

    /// ` name[type]:value …` up to the end or to ` new-tuple:`; `None` for `(no-tuple-data)`.
    fn tuple(&mut self) -> Result<Option<Vec<Column>>, String> {
        self.skip_spaces();
        if self.eat("(no-tuple-data)") {
            return Ok(None);
        }
        let mut columns = Vec::new();
        loop {
            self.skip_spaces();
            if self.rest.is_empty() || self.rest.starts_with("new-tuple:") {
                return Ok(Some(columns));
            }
            let name = self.ident()?;
            self.expect("[")?;
            // The type ends at the first `]` followed by `:` (`text[]]:` is an array type).
            let end = self
                .rest
                .find("]:")
                .ok_or_else(|| format!("unterminated type at {:?}", self.head()))?;
            let type_name = self.rest[..end].to_owned();
            self.rest = &self.rest[end + 2..];
            let value = self.value()?;
            columns.push(Column {
                name,
                type_name,
                value,
            });
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        if let Some(rest) = self.rest.strip_prefix('\'') {
            return self.quoted(rest);
        }
        if let Some(rest) = self.rest.strip_prefix("B'") {
            // A bit string: its digits are its input too.
            return self.quoted(rest);
        }
        let end = self.rest.find(' ').unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        Ok(match word {
            "null" => Value::Null,
            "unchanged-toast-datum" => Value::Unchanged,
            _ => Value::Text(word.to_owned()),
        })
    }

    /// The rest of a literal whose opening quote is consumed: quotes are doubled inside.
    fn quoted(&mut self, rest: &str) -> Result<Value, String> {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if rest[i + 1..].starts_with('\'') {
                    out.push('\'');
                    chars.next();
                } else {
                    let consumed = self.rest.len() - rest.len() + i + 1;
                    self.rest = &self.rest[consumed..];
                    return Ok(Value::Text(out));
                }
            } else {
                out.push(c);
            }
        }
        Err(format!("unterminated literal at {:?}", self.head()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    fn names(cols: &Option<Vec<Column>>) -> Vec<(&str, &str, &Value)> {
        cols.as_ref()
            .unwrap()
            .iter()
            .map(|c| (c.name.as_str(), c.type_name.as_str(), &c.value))
            .collect()
    }

    #[test]
    fn reads_the_documented_forms() {
        let c =
            parse("table public.pk_def: UPDATE: id[integer]:1 a[text]:'x' b[integer]:11").unwrap();
        assert_eq!((c.op, c.old.is_none()), (Op::Update, true));
        assert_eq!(
            names(&c.new),
            vec![
                ("id", "integer", &text("1")),
                ("a", "text", &text("x")),
                ("b", "integer", &text("11"))
            ]
        );
        let c = parse(
            "table public.pk_def: UPDATE: old-key: id[integer]:2 new-tuple: id[integer]:22 a[text]:'y' b[integer]:20",
        )
        .unwrap();
        assert_eq!(names(&c.old), vec![("id", "integer", &text("2"))]);
        assert_eq!(names(&c.new)[0], ("id", "integer", &text("22")));
        let c = parse("table public.nopk: DELETE: (no-tuple-data)").unwrap();
        assert_eq!((c.op, c.old, c.new), (Op::Delete, None, None));
        let c = parse("table public.t: TRUNCATE: (no-flags)").unwrap();
        assert_eq!(c.op, Op::Truncate);
        let c = parse(
            "table public.tst: UPDATE: id[integer]:1 big[text]:unchanged-toast-datum n[integer]:2",
        )
        .unwrap();
        assert_eq!(names(&c.new)[1].2, &Value::Unchanged);
    }

    #[test]
    fn quoted_names_literals_arrays_and_nulls() {
        let c = parse(
            r#"table "my schema"."User": INSERT: "createdAt"[timestamp(3) without time zone]:'2024-01-02 03:04:05' tags[text[]]:'{a,"b c"}' note[text]:'it''s "q"' gone[integer]:null flags[bit(4)]:B'0101' ok[boolean]:true"#,
        )
        .unwrap();
        assert_eq!((c.schema.as_str(), c.table.as_str()), ("my schema", "User"));
        assert_eq!(
            names(&c.new),
            vec![
                (
                    "createdAt",
                    "timestamp(3) without time zone",
                    &text("2024-01-02 03:04:05")
                ),
                ("tags", "text[]", &text("{a,\"b c\"}")),
                ("note", "text", &text("it's \"q\"")),
                ("gone", "integer", &Value::Null),
                ("flags", "bit(4)", &text("0101")),
                ("ok", "boolean", &text("true")),
            ]
        );
    }

    #[test]
    fn a_literal_may_hold_what_looks_like_syntax() {
        let c = parse("table public.t: INSERT: a[text]:'x new-tuple: b[text]:''y'' ' b[integer]:2")
            .unwrap();
        assert_eq!(
            names(&c.new),
            vec![
                ("a", "text", &text("x new-tuple: b[text]:'y' ")),
                ("b", "integer", &text("2"))
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for line in [
            "",
            "table",
            "table public.t: MERGE: x",
            "table public.t: INSERT: a[text]:'open",
            "table \"unterminated: INSERT:",
            "table public.t: INSERT: a[text",
        ] {
            assert!(parse(line).is_err(), "{line:?}");
        }
    }
}
