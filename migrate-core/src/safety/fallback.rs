//! Token-level classifier for what `sqlparser` rejects: `DO $$ … $$`, `DROP INDEX CONCURRENTLY IF
//! EXISTS`, `CREATE FUNCTION … $$ … $$`, `CREATE TRIGGER`, and PostgreSQL syntax newer than the
//! parser. It recognizes statements by their leading keywords and extracts the names rules need.

use super::ir::{Action, Name, ObjectKind, ReindexTarget, StorageChange, TransactionControl};
use super::lock::LockLevel;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word, upper-cased.
    Word(String),
    /// A quoted identifier, as written.
    Quoted(String),
    /// A string literal's content.
    Str(String),
    /// Punctuation or operator character.
    Punct(char),
}

/// Tokenizes one statement (comments, strings and dollar quotes are skipped or captured whole).
fn tokenize(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'\'' || c == b'"' {
            let (text, next) = quoted(sql, i, c);
            out.push(if c == b'"' {
                Tok::Quoted(text)
            } else {
                Tok::Str(text)
            });
            i = next;
        } else if c == b'$' && dollar_tag(&b[i..]).is_some() {
            let tag_len = dollar_tag(&b[i..]).unwrap_or(2);
            let tag = &sql[i..i + tag_len];
            let body_start = i + tag_len;
            match sql[body_start..].find(tag) {
                Some(end) => {
                    out.push(Tok::Str(sql[body_start..body_start + end].to_owned()));
                    i = body_start + end + tag_len;
                }
                None => {
                    out.push(Tok::Str(sql[body_start..].to_owned()));
                    i = b.len();
                }
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            out.push(Tok::Word(sql[start..i].to_uppercase()));
        } else {
            let ch = sql[i..].chars().next().unwrap_or(' ');
            out.push(Tok::Punct(ch));
            i += ch.len_utf8();
        }
    }
    out
}

/// The content of a quoted token starting at `start` (doubled quotes unescaped) and the offset
/// after it; an unterminated quote runs to the end.
fn quoted(sql: &str, start: usize, quote: u8) -> (String, usize) {
    let b = sql.as_bytes();
    let (mut i, mut seg) = (start + 1, start + 1);
    let mut text = String::new();
    while i < b.len() {
        if b[i] == quote {
            text.push_str(&sql[seg..i]);
            if b.get(i + 1) == Some(&quote) {
                text.push(quote as char);
                i += 2;
                seg = i;
                continue;
            }
            return (text, i + 1);
        }
        i += 1;
    }
    text.push_str(&sql[seg..]);
    (text, b.len())
}

fn dollar_tag(b: &[u8]) -> Option<usize> {
    let tag = b[1..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (b.get(1 + tag) == Some(&b'$') && !b.get(1).is_some_and(u8::is_ascii_digit)).then_some(tag + 2)
}

struct Cursor {
    toks: Vec<Tok>,
    pos: usize,
}

impl Cursor {
    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    /// Consumes the given keywords if they come next, in order.
    fn eat(&mut self, words: &[&str]) -> bool {
        let matches = words
            .iter()
            .enumerate()
            .all(|(k, w)| matches!(self.toks.get(self.pos + k), Some(Tok::Word(x)) if x == w));
        if matches {
            self.pos += words.len();
        }
        matches
    }

    /// Reads an identifier (bare word folded to lower case, or quoted as written).
    fn ident(&mut self) -> Option<String> {
        let t = match self.toks.get(self.pos)? {
            Tok::Word(w) => w.to_lowercase(),
            Tok::Quoted(q) => q.clone(),
            _ => return None,
        };
        self.pos += 1;
        Some(t)
    }

    /// Reads a possibly qualified name.
    fn name(&mut self) -> Option<Name> {
        let first = self.ident()?;
        if self.toks.get(self.pos) == Some(&Tok::Punct('.')) {
            self.pos += 1;
            let second = self.ident()?;
            return Some(Name {
                schema: Some(first),
                name: second,
            });
        }
        Some(Name::bare(first))
    }

    fn names(&mut self) -> Vec<Name> {
        let mut names = Vec::new();
        while let Some(n) = self.name() {
            names.push(n);
            if self.toks.get(self.pos) != Some(&Tok::Punct(',')) {
                break;
            }
            self.pos += 1;
        }
        names
    }

    /// Whether the words come in this order, one right after the other, anywhere.
    fn has_seq(&self, words: &[&str]) -> bool {
        self.toks.windows(words.len()).any(|w| {
            w.iter()
                .zip(words)
                .all(|(t, word)| matches!(t, Tok::Word(x) if x == word))
        })
    }

    fn has(&self, word: &str) -> bool {
        self.toks
            .iter()
            .any(|t| matches!(t, Tok::Word(w) if w == word))
    }

    /// Whether the option `word` is on: present, and not followed by `FALSE`, `OFF` or `0`
    /// (`VACUUM (FULL FALSE)`, `REINDEX (CONCURRENTLY OFF)`).
    fn option_on(&self, word: &str) -> bool {
        self.toks.iter().enumerate().any(|(i, t)| {
            matches!(t, Tok::Word(w) if w == word)
                && !matches!(
                    self.toks.get(i + 1),
                    Some(Tok::Word(v)) if v == "FALSE" || v == "OFF"
                )
                && self.toks.get(i + 1) != Some(&Tok::Punct('0'))
        })
    }

    /// Skips a parenthesized option list (`VACUUM (FULL, ANALYZE)`), if one comes next.
    fn skip_options(&mut self) {
        if self.toks.get(self.pos) != Some(&Tok::Punct('(')) {
            return;
        }
        while let Some(t) = self.toks.get(self.pos) {
            self.pos += 1;
            if *t == Tok::Punct(')') {
                break;
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        match self.toks.get(self.pos)? {
            Tok::Str(s) => {
                let s = s.clone();
                self.pos += 1;
                Some(s)
            }
            _ => None,
        }
    }
}

/// Classifies a statement `sqlparser` could not parse. `None` means not understood.
pub(crate) fn classify(sql: &str) -> Option<Vec<Action>> {
    let mut c = Cursor {
        toks: tokenize(sql),
        pos: 0,
    };
    let other = |kind: &str| {
        Some(vec![Action::Other {
            kind: kind.to_owned(),
        }])
    };
    let first = c.peek_word()?.to_owned();
    c.pos += 1;
    match first.as_str() {
        "DO" => other("DO"),
        "BEGIN" | "START" => tx(TransactionControl::Begin),
        "COMMIT" | "END" => tx(TransactionControl::Commit),
        "ROLLBACK" | "ABORT" => tx(TransactionControl::Rollback),
        "SAVEPOINT" | "RELEASE" => tx(TransactionControl::Other),
        "SET" => {
            let _scope = c.eat(&["SESSION"]) || c.eat(&["LOCAL"]);
            let name = c.ident()?;
            c.pos += 1; // `=` or TO
            let value = match c.toks.get(c.pos) {
                Some(Tok::Str(s)) => s.clone(),
                Some(Tok::Word(w)) => w.to_lowercase(),
                _ => String::new(),
            };
            Some(vec![Action::Set { name, value }])
        }
        "CREATE" => create(&mut c),
        "DROP" => drop(&mut c),
        "ALTER" => alter(&mut c),
        "TRUNCATE" => {
            c.eat(&["TABLE"]);
            c.eat(&["ONLY"]);
            Some(vec![Action::Truncate { tables: c.names() }])
        }
        "DELETE" => {
            c.eat(&["FROM"]);
            c.eat(&["ONLY"]);
            let table = c.name()?;
            Some(vec![Action::Delete {
                has_where: c.has("WHERE"),
                table,
            }])
        }
        "UPDATE" => {
            c.eat(&["ONLY"]);
            let table = c.name()?;
            Some(vec![Action::Update {
                has_where: c.has("WHERE"),
                table,
            }])
        }
        "INSERT" => {
            c.eat(&["INTO"]);
            Some(vec![Action::Insert { table: c.name()? }])
        }
        "VACUUM" if c.option_on("FULL") => {
            c.skip_options();
            while c.eat(&["FULL"])
                || c.eat(&["FREEZE"])
                || c.eat(&["VERBOSE"])
                || c.eat(&["ANALYZE"])
            {}
            Some(vec![Action::VacuumFull {
                table: c.names().into_iter().next(),
            }])
        }
        "CLUSTER" => {
            c.skip_options();
            c.eat(&["VERBOSE"]);
            // `CLUSTER index ON table` is the pre-8.3 spelling.
            let first = c.name();
            let table = if c.eat(&["ON"]) { c.name() } else { first };
            Some(vec![Action::Cluster { table }])
        }
        "LOCK" => {
            c.eat(&["TABLE"]);
            c.eat(&["ONLY"]);
            let tables = c.names();
            let mode = if c.eat(&["IN"]) {
                lock_mode(&mut c)
            } else {
                None
            };
            Some(vec![Action::LockTable {
                tables,
                mode: mode.unwrap_or(LockLevel::AccessExclusive),
            }])
        }
        "REFRESH" => {
            c.eat(&["MATERIALIZED", "VIEW"]);
            let concurrently = c.eat(&["CONCURRENTLY"]);
            Some(vec![Action::RefreshMaterializedView {
                name: c.name()?,
                concurrently,
            }])
        }
        "REINDEX" => {
            let concurrently = c.option_on("CONCURRENTLY");
            c.skip_options();
            let target = match c.peek_word()? {
                "INDEX" => ReindexTarget::Index,
                "TABLE" => ReindexTarget::Table,
                "SCHEMA" => ReindexTarget::Schema,
                "DATABASE" | "SYSTEM" => ReindexTarget::Database,
                _ => return None,
            };
            c.pos += 1;
            c.eat(&["CONCURRENTLY"]);
            Some(vec![Action::Reindex {
                target,
                name: c.name(),
                concurrently,
            }])
        }
        "VACUUM" | "ANALYZE" | "COMMENT" | "GRANT" | "REVOKE" | "SELECT" | "WITH" | "RESET"
        | "NOTIFY" | "SECURITY" | "CALL" | "PERFORM" | "IMPORT" | "REASSIGN" => other(&first),
        _ => None,
    }
}

/// The mode of `LOCK … IN mode MODE`, after `IN`.
fn lock_mode(c: &mut Cursor) -> Option<LockLevel> {
    const MODES: &[(&[&str], LockLevel)] = &[
        (&["ACCESS", "SHARE"], LockLevel::AccessShare),
        (&["ROW", "SHARE"], LockLevel::RowShare),
        (&["ROW", "EXCLUSIVE"], LockLevel::RowExclusive),
        (
            &["SHARE", "UPDATE", "EXCLUSIVE"],
            LockLevel::ShareUpdateExclusive,
        ),
        (&["SHARE", "ROW", "EXCLUSIVE"], LockLevel::ShareRowExclusive),
        (&["SHARE"], LockLevel::Share),
        (&["EXCLUSIVE"], LockLevel::Exclusive),
        (&["ACCESS", "EXCLUSIVE"], LockLevel::AccessExclusive),
    ];
    MODES
        .iter()
        .find(|(words, _)| c.eat(words))
        .map(|(_, mode)| *mode)
}

fn tx(control: TransactionControl) -> Option<Vec<Action>> {
    Some(vec![Action::Transaction { control }])
}

fn create(c: &mut Cursor) -> Option<Vec<Action>> {
    c.eat(&["OR", "REPLACE"]);
    let unique = c.eat(&["UNIQUE"]);
    if c.eat(&["INDEX"]) {
        let concurrently = c.eat(&["CONCURRENTLY"]);
        c.eat(&["IF", "NOT", "EXISTS"]);
        let name = if c.peek_word() == Some("ON") {
            None
        } else {
            c.ident()
        };
        if !c.eat(&["ON"]) {
            return None;
        }
        c.eat(&["ONLY"]);
        return Some(vec![Action::CreateIndex {
            name,
            table: c.name()?,
            unique,
            concurrently,
            columns: Vec::new(),
        }]);
    }
    let kind = c.peek_word()?.to_owned();
    match kind.as_str() {
        "FUNCTION" | "PROCEDURE" | "TRIGGER" | "EXTENSION" | "VIEW" | "MATERIALIZED" | "SCHEMA"
        | "SEQUENCE" | "POLICY" | "RULE" | "AGGREGATE" | "DOMAIN" | "COLLATION" | "CAST"
        | "OPERATOR" | "PUBLICATION" | "ROLE" | "USER" | "TYPE" | "TEMP" | "TEMPORARY"
        | "RECURSIVE" | "CONSTRAINT" | "EVENT" | "STATISTICS" | "TEXT" | "LANGUAGE" | "SERVER"
        | "FOREIGN" | "DEFAULT" | "UNLOGGED" | "TABLE" => Some(vec![Action::Other {
            kind: format!("CREATE {kind}"),
        }]),
        _ => None,
    }
}

fn drop(c: &mut Cursor) -> Option<Vec<Action>> {
    let kind = c.peek_word()?.to_owned();
    c.pos += 1;
    let object = |c: &mut Cursor, kind: ObjectKind| {
        c.eat(&["IF", "EXISTS"]);
        let names = c.names();
        Some(vec![Action::DropObject {
            kind,
            names,
            cascade: c.has("CASCADE"),
        }])
    };
    match kind.as_str() {
        "INDEX" => {
            let concurrently = c.eat(&["CONCURRENTLY"]);
            c.eat(&["IF", "EXISTS"]);
            Some(vec![Action::DropIndex {
                names: c.names(),
                concurrently,
            }])
        }
        "TABLE" => {
            c.eat(&["IF", "EXISTS"]);
            Some(vec![Action::DropTable { tables: c.names() }])
        }
        "TYPE" => {
            c.eat(&["IF", "EXISTS"]);
            let names = c.names();
            Some(vec![Action::DropType {
                names,
                cascade: c.has("CASCADE"),
            }])
        }
        "SCHEMA" => object(c, ObjectKind::Schema),
        "VIEW" => object(c, ObjectKind::View),
        "MATERIALIZED" => {
            c.eat(&["VIEW"]);
            object(c, ObjectKind::MaterializedView)
        }
        "FUNCTION" | "PROCEDURE" => object(c, ObjectKind::Function),
        "SEQUENCE" => object(c, ObjectKind::Sequence),
        "DATABASE" => object(c, ObjectKind::Database),
        "DOMAIN" => object(c, ObjectKind::Domain),
        "EXTENSION" => object(c, ObjectKind::Extension),
        "OWNED" if c.eat(&["BY"]) => Some(vec![Action::DropOwned {
            roles: c.names().into_iter().map(|n| n.name).collect(),
        }]),
        _ => object(c, ObjectKind::Other),
    }
}

fn alter(c: &mut Cursor) -> Option<Vec<Action>> {
    let kind = c.peek_word()?.to_owned();
    c.pos += 1;
    match kind.as_str() {
        "TABLE" => {
            c.eat(&["IF", "EXISTS"]);
            c.eat(&["ONLY"]);
            let table = c.name()?;
            let action = if c.eat(&["DROP", "COLUMN"]) {
                c.eat(&["IF", "EXISTS"]);
                Action::DropColumn {
                    table,
                    column: c.ident()?,
                }
            } else if c.eat(&["RENAME", "TO"]) {
                Action::RenameTable {
                    table,
                    to: c.ident()?,
                }
            } else if c.eat(&["VALIDATE", "CONSTRAINT"]) {
                Action::ValidateConstraint {
                    table,
                    name: c.ident()?,
                }
            } else if c.eat(&["DROP", "CONSTRAINT"]) {
                c.eat(&["IF", "EXISTS"]);
                Action::DropConstraint {
                    table,
                    name: c.ident()?,
                }
            } else if c.eat(&["SET", "TABLESPACE"]) {
                Action::ChangeStorage {
                    table,
                    change: StorageChange::SetTablespace,
                }
            } else if c.eat(&["SET", "LOGGED"]) {
                Action::ChangeStorage {
                    table,
                    change: StorageChange::SetLogged,
                }
            } else if c.eat(&["SET", "UNLOGGED"]) {
                Action::ChangeStorage {
                    table,
                    change: StorageChange::SetUnlogged,
                }
            } else {
                Action::Other {
                    kind: "ALTER TABLE".into(),
                }
            };
            Some(vec![action])
        }
        "TYPE" => {
            let name = c.name()?;
            if c.eat(&["ADD", "VALUE"]) {
                c.eat(&["IF", "NOT", "EXISTS"]);
                Some(vec![Action::AddEnumValue {
                    name,
                    value: c.string()?,
                }])
            } else if c.eat(&["RENAME", "TO"]) {
                Some(vec![Action::RenameType {
                    name,
                    to: c.ident()?,
                }])
            } else {
                Some(vec![Action::Other {
                    kind: "ALTER TYPE".into(),
                }])
            }
        }
        "DOMAIN" => {
            let domain = c.name()?;
            if c.eat(&["ADD"]) {
                Some(vec![Action::AlterDomainAddConstraint {
                    domain,
                    not_valid: c.has_seq(&["NOT", "VALID"]),
                }])
            } else if c.eat(&["SET", "NOT", "NULL"]) {
                // Checks every column of the domain like a validated constraint; there is no
                // NOT VALID form.
                Some(vec![Action::AlterDomainAddConstraint {
                    domain,
                    not_valid: false,
                }])
            } else {
                Some(vec![Action::Other {
                    kind: "ALTER DOMAIN".into(),
                }])
            }
        }
        "INDEX" => {
            c.eat(&["IF", "EXISTS"]);
            let name = c.name()?;
            if c.eat(&["RENAME", "TO"]) {
                Some(vec![Action::RenameIndex {
                    name,
                    to: c.ident()?,
                }])
            } else if c.eat(&["SET", "TABLESPACE"]) {
                Some(vec![Action::ChangeStorage {
                    table: name,
                    change: StorageChange::SetTablespace,
                }])
            } else {
                Some(vec![Action::Other {
                    kind: "ALTER INDEX".into(),
                }])
            }
        }
        "MATERIALIZED" if c.eat(&["VIEW"]) => {
            c.eat(&["IF", "EXISTS"]);
            let name = c.name()?;
            Some(vec![if c.eat(&["SET", "TABLESPACE"]) {
                Action::ChangeStorage {
                    table: name,
                    change: StorageChange::SetTablespace,
                }
            } else {
                Action::Other {
                    kind: "ALTER MATERIALIZED VIEW".into(),
                }
            }])
        }
        _ => Some(vec![Action::Other {
            kind: format!("ALTER {kind}"),
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_what_sqlparser_rejects() {
        let drop = classify("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"Task_x_idx\"").unwrap();
        assert_eq!(
            drop,
            [Action::DropIndex {
                names: vec![Name {
                    schema: Some("public".into()),
                    name: "Task_x_idx".into()
                }],
                concurrently: true
            }]
        );
        assert_eq!(
            classify("DO $$ BEGIN PERFORM 1; END $$").unwrap()[0],
            Action::Other { kind: "DO".into() }
        );
        let add = classify("ALTER TYPE \"Status\" ADD VALUE IF NOT EXISTS 'DONE'").unwrap();
        assert_eq!(
            add[0],
            Action::AddEnumValue {
                name: Name::bare("Status"),
                value: "DONE".into()
            }
        );
        let idx = classify(
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"T\" USING btree (\"a\")",
        )
        .unwrap();
        assert!(
            matches!(&idx[0], Action::CreateIndex { concurrently: true, unique: true, table, .. } if table.name == "T")
        );
        assert!(classify("FROBNICATE everything").is_none());
    }

    #[test]
    fn classifies_maintenance_and_locking_statements() {
        assert_eq!(
            classify("REINDEX (VERBOSE) INDEX CONCURRENTLY public.\"i\"").unwrap(),
            [Action::Reindex {
                target: ReindexTarget::Index,
                name: Some(Name {
                    schema: Some("public".into()),
                    name: "i".into()
                }),
                concurrently: true
            }]
        );
        assert_eq!(
            classify("LOCK TABLE ONLY a, b IN SHARE ROW EXCLUSIVE MODE NOWAIT").unwrap(),
            [Action::LockTable {
                tables: vec![Name::bare("a"), Name::bare("b")],
                mode: LockLevel::ShareRowExclusive
            }]
        );
        assert_eq!(
            classify("ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0) NOT VALID").unwrap(),
            [Action::AlterDomainAddConstraint {
                domain: Name::bare("d"),
                not_valid: true
            }]
        );
        assert_eq!(
            classify("ALTER TABLE t SET TABLESPACE fast").unwrap(),
            [Action::ChangeStorage {
                table: Name::bare("t"),
                change: StorageChange::SetTablespace
            }]
        );
        assert_eq!(
            classify("CLUSTER VERBOSE t USING i").unwrap(),
            [Action::Cluster {
                table: Some(Name::bare("t"))
            }]
        );
        assert_eq!(
            classify("VACUUM (FULL FALSE, ANALYZE) t").unwrap(),
            [Action::Other {
                kind: "VACUUM".into()
            }]
        );
    }
}
