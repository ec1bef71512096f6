//! Passwords and yes/no answers from the person (or script) running the CLI.
//!
//! A password is never a command-line argument, where `ps` and shell
//! history would show it: it is the next line of standard input, or, when
//! standard input is a terminal, typed at a prompt without echo.

use std::fmt;
use std::io::{self, BufRead, IsTerminal, Write};

/// A password held in memory; `Debug` hides it and dropping it overwrites it.
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // into_bytes keeps the same heap buffer, so this overwrites it.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&mut bytes);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("expected {what} on line {line} of standard input, found its end")]
    Missing { what: &'static str, line: usize },
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is not UTF-8")]
    NotUtf8 { what: &'static str },
    #[error("the new passwords typed differ")]
    Mismatch,
    #[error("cannot read {what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

/// Reads one password per entry of `what` (e.g. "password", "new
/// password"): lines of standard input in that order, or prompts.
pub fn passwords(what: &[&'static str]) -> Result<Vec<Secret>, InputError> {
    if io::stdin().is_terminal() {
        what.iter().map(|w| prompt(w)).collect()
    } else {
        let mut stdin = io::stdin().lock();
        what.iter()
            .enumerate()
            .map(|(i, w)| next_line(&mut stdin, w, i + 1))
            .collect()
    }
}

/// One password: the first line of standard input, or a prompt.
pub fn password(what: &'static str) -> Result<Secret, InputError> {
    passwords(&[what])?
        .pop()
        .ok_or(InputError::Missing { what, line: 1 })
}

/// At a terminal the new password is typed twice, since nobody sees it.
pub fn confirm_at_terminal(new: &Secret) -> Result<(), InputError> {
    if !io::stdin().is_terminal() {
        return Ok(());
    }
    let again = prompt("new password again")?;
    if again.expose() == new.expose() {
        Ok(())
    } else {
        Err(InputError::Mismatch)
    }
}

fn prompt(what: &'static str) -> Result<Secret, InputError> {
    let mut label = what.to_owned();
    if let Some(first) = label.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    let typed = rpassword::prompt_password(format!("{label}: "))
        .map_err(|source| InputError::Io { what, source })?;
    non_empty(Secret(typed), what)
}

/// One line, without its `\n` or `\r\n`. Anything else in it, spaces
/// included, is part of the password.
pub fn next_line(
    input: &mut impl BufRead,
    what: &'static str,
    line: usize,
) -> Result<Secret, InputError> {
    let mut bytes = Vec::with_capacity(256);
    let read = input
        .read_until(b'\n', &mut bytes)
        .map_err(|source| InputError::Io { what, source });
    if read? == 0 {
        return Err(InputError::Missing { what, line });
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let mut bytes = e.into_bytes();
        bytes.fill(0);
        InputError::NotUtf8 { what }
    })?;
    non_empty(Secret(text), what)
}

fn non_empty(secret: Secret, what: &'static str) -> Result<Secret, InputError> {
    if secret.expose().is_empty() {
        Err(InputError::Empty { what })
    } else {
        Ok(secret)
    }
}

/// Asks `question` on standard error and reads `y`/`yes` or `n`/`no` (any
/// case) from standard input. The end of input is an error rather than a
/// "no", so a script that forgot to answer does not reject by accident.
pub fn yes_or_no(question: &str) -> Result<bool, InputError> {
    let what = "an answer (y or n)";
    loop {
        eprint!("{question} [y/n] ");
        let _ = io::stderr().flush();
        let mut answer = String::new();
        let read = io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|source| InputError::Io { what, source })?;
        if read == 0 {
            return Err(InputError::Missing { what, line: 1 });
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ => eprintln!("please answer y or n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_in_order_without_their_line_endings() {
        let mut input = io::Cursor::new(b"old pass word \r\nnew\n".to_vec());
        let first = next_line(&mut input, "current password", 1).unwrap();
        let second = next_line(&mut input, "new password", 2).unwrap();
        assert_eq!(first.expose(), "old pass word ");
        assert_eq!(second.expose(), "new");
    }

    #[test]
    fn a_last_line_without_a_newline_still_counts() {
        let mut input = io::Cursor::new(b"only".to_vec());
        assert_eq!(
            next_line(&mut input, "password", 1).unwrap().expose(),
            "only"
        );
    }

    #[test]
    fn a_missing_or_empty_line_is_an_error_naming_what_was_expected() {
        let mut input = io::Cursor::new(b"first\n".to_vec());
        next_line(&mut input, "current password", 1).unwrap();
        let err = next_line(&mut input, "new password", 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected new password on line 2 of standard input, found its end"
        );
        let mut blank = io::Cursor::new(b"\n".to_vec());
        let err = next_line(&mut blank, "password", 1).unwrap_err();
        assert!(matches!(err, InputError::Empty { .. }), "{err}");
    }

    #[test]
    fn debug_output_never_shows_a_password() {
        let secret = Secret("hunter2hunter2".into());
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }
}
