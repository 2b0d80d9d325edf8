//! What `raw_read` lets through: one statement that only reads, judged from its text.
//!
//! The database's read-only mode refuses writes, but a statement can weaken that mode
//! itself: `SET SESSION TRANSACTION READ WRITE`, `BEGIN READ WRITE`, `COMMIT` of the read
//! guard's transaction. So raw SQL marked as a read must be one statement that starts with a
//! keyword of a query (`SELECT`, `WITH`, `VALUES`, `TABLE`, `SHOW`, `EXPLAIN`, ...), after
//! comments and opening parentheses. A write inside such a statement (a data-modifying
//! `WITH`, a function that writes) is then the read-only mode's to refuse.

/// Keywords a read-only statement may start with.
const READ_KEYWORDS: &[&str] = &[
    "SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "PRAGMA",
];

/// `Ok` when `sql` is one statement that starts like a read; else why not.
pub(crate) fn check_reads_only(sql: &str) -> Result<(), String> {
    let mut lexer = Lexer::new(sql);
    lexer.skip_blank_and_open_parens()?;
    let keyword = lexer.word();
    if !READ_KEYWORDS
        .iter()
        .any(|read| read.eq_ignore_ascii_case(keyword))
    {
        let shown = if keyword.is_empty() {
            sql.trim()
        } else {
            keyword
        };
        return Err(format!(
            "`raw_read` runs statements that only read, starting with `SELECT`, `WITH`, \
             `VALUES`, `TABLE`, `SHOW` or `EXPLAIN`, not `{}`: run it on a writer",
            shown.chars().take(40).collect::<String>()
        ));
    }
    lexer.check_single_statement()
}

struct Lexer<'a> {
    rest: &'a str,
}

impl<'a> Lexer<'a> {
    fn new(sql: &'a str) -> Self {
        Self { rest: sql }
    }

    /// Skips whitespace, comments and `(`.
    fn skip_blank_and_open_parens(&mut self) -> Result<(), String> {
        loop {
            self.skip_blank()?;
            match self.rest.strip_prefix('(') {
                Some(rest) => self.rest = rest,
                None => return Ok(()),
            }
        }
    }

    /// Skips whitespace and comments; refuses MySQL's executable comments (`/*! ... */`),
    /// which run their content as SQL.
    fn skip_blank(&mut self) -> Result<(), String> {
        loop {
            self.rest = self.rest.trim_start();
            if let Some(rest) = self.rest.strip_prefix("--") {
                self.rest = rest.split_once('\n').map_or("", |(_, after)| after);
            } else if self.rest.starts_with("/*!") || self.rest.starts_with("/*M!") {
                return Err(
                    "`raw_read` refuses MySQL's executable comments (`/*! ... */`)".to_owned(),
                );
            } else if let Some(rest) = self.rest.strip_prefix("/*") {
                self.rest = skip_block_comment(rest);
            } else {
                return Ok(());
            }
        }
    }

    /// The word at the start, and moves past it.
    fn word(&mut self) -> &'a str {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        word
    }

    /// Refuses a `;` followed by more than blanks: a second statement.
    fn check_single_statement(&mut self) -> Result<(), String> {
        while let Some(c) = self.rest.chars().next() {
            match c {
                '\'' | '"' | '`' => self.rest = skip_quoted(&self.rest[1..], c),
                '$' => self.rest = skip_dollar_quoted(self.rest),
                '-' if self.rest.starts_with("--") => self.skip_blank()?,
                '/' if self.rest.starts_with("/*") => self.skip_blank()?,
                ';' => {
                    self.rest = &self.rest[1..];
                    self.skip_blank()?;
                    if !self.rest.is_empty() && !self.rest.starts_with(';') {
                        return Err("`raw_read` runs one statement at a time".to_owned());
                    }
                }
                _ => self.rest = &self.rest[c.len_utf8()..],
            }
        }
        Ok(())
    }
}

/// After a `/*`: past its (nested, as PostgreSQL nests them) closing `*/`.
fn skip_block_comment(mut rest: &str) -> &str {
    let mut depth = 1;
    while depth > 0 {
        let Some(at) = rest.find(['*', '/']) else {
            return "";
        };
        let (_, after) = rest.split_at(at);
        if let Some(past) = after.strip_prefix("*/") {
            depth -= 1;
            rest = past;
        } else if let Some(past) = after.strip_prefix("/*") {
            depth += 1;
            rest = past;
        } else {
            rest = &after[1..];
        }
    }
    rest
}

/// After an opening quote: past the closing one (a doubled quote, or a backslash before it,
/// stays inside).
fn skip_quoted(mut rest: &str, quote: char) -> &str {
    loop {
        let Some(at) = rest.find([quote, '\\']) else {
            return "";
        };
        let after = &rest[at..];
        if after.starts_with('\\') {
            rest = after.get(2..).unwrap_or("");
        } else if after[1..].starts_with(quote) {
            rest = &after[2..];
        } else {
            return &after[1..];
        }
    }
}

/// At a `$`: past a PostgreSQL dollar-quoted string (`$$...$$`, `$tag$...$tag$`), or past
/// the `$` alone (a parameter such as `$1`).
fn skip_dollar_quoted(text: &str) -> &str {
    let tag_end = text[1..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map(|at| at + 1);
    match tag_end {
        Some(end)
            if text[end..].starts_with('$') && !text[1..end].starts_with(char::is_numeric) =>
        {
            let tag = &text[..=end];
            let body = &text[tag.len()..];
            body.find(tag).map_or("", |at| &body[at + tag.len()..])
        }
        _ => &text[1..],
    }
}

#[cfg(test)]
mod tests {
    use super::check_reads_only;

    #[test]
    fn reads_pass() {
        for sql in [
            "SELECT 1",
            "  select count(*) AS n FROM posts",
            "-- the count\nSELECT 1",
            "/* a /* nested */ comment */ SELECT 1",
            "(SELECT 1) UNION (SELECT 2)",
            "WITH t AS (SELECT 1) SELECT * FROM t",
            "VALUES (1), (2)",
            "SHOW server_version",
            "EXPLAIN SELECT 1",
            "SELECT 'a;b', \"c;d\", $$e;f$$, $tag$;$tag$ FROM t;",
            "SELECT 'it''s; fine' ; ",
            "SELECT $1, `x;y` FROM t -- trailing; comment",
        ] {
            assert_eq!(check_reads_only(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn statements_that_weaken_read_only_mode_are_refused() {
        for sql in [
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "set session transaction read write",
            "BEGIN READ WRITE",
            "START TRANSACTION READ WRITE",
            "COMMIT",
            "END",
            "ROLLBACK",
            "INSERT INTO posts VALUES (1)",
            "/* hidden */ DELETE FROM posts",
            "(UPDATE posts SET x = 1)",
            "CALL p()",
            "DO $$ BEGIN END $$",
            "/*! SET SESSION TRANSACTION READ WRITE */ SELECT 1",
            "/*M!100000 COMMIT */ SELECT 1",
            "SELECT 1; COMMIT",
            "SELECT 1; SET SESSION TRANSACTION READ WRITE",
            "SELECT ';'; INSERT INTO t VALUES (1)",
            "",
            "   ",
        ] {
            assert!(check_reads_only(sql).is_err(), "{sql}");
        }
    }
}
