//! rclone's list values, each one line of CSV as Go's `encoding/csv` reads it: space-
//! separated options (`upstreams = "a=x: \"b=y:with space\""`) and comma-separated ones
//! (the http backend's `headers`, a list flag's `RCLONE_EXCLUDE="*.jpg,*.png"`). A field
//! holding the separator is quoted, and a `"` inside quotes is written twice.

/// The fields of one comma-separated CSV record (empty fields kept: `a,,b` is three);
/// an error says what is malformed.
pub fn comma_separated(text: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            field = quoted(&mut chars).ok_or("a quoted field has no closing quote")?;
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(c) => return Err(format!("unexpected {c:?} after a quoted field")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("a quote inside an unquoted field".into()),
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

/// A quoted field's text, from its opening quote to its closing one (both taken, a `""`
/// inside read as one `"`); `None` when the text ends before the closing quote.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    chars.next();
    let mut field = String::new();
    loop {
        match chars.next()? {
            '"' if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => return Some(field),
            c => field.push(c),
        }
    }
}

/// The fields of a space-separated list; an error says what is malformed. Empty fields
/// (two spaces in a row, a trailing space) are left out.
pub fn space_separated(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = s.trim().chars().peekable();
    while chars.peek().is_some() {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            field = quoted(&mut chars).ok_or_else(|| format!("a quote is not closed in {s:?}"))?;
            match chars.next() {
                None | Some(' ') => {}
                Some(_) => return Err(format!("extraneous text after a closing quote in {s:?}")),
            }
        } else {
            for c in chars.by_ref() {
                match c {
                    ' ' => break,
                    '"' => return Err(format!("a bare quote inside an unquoted field in {s:?}")),
                    c => field.push(c),
                }
            }
        }
        if !field.is_empty() {
            out.push(field);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{comma_separated, space_separated};

    #[test]
    fn comma_separated_reads_a_csv_record_as_go_does() {
        let ok = |s: &str| comma_separated(s).unwrap();
        assert_eq!(ok("*.jpg"), ["*.jpg"]);
        assert_eq!(ok("*.jpg,*.png"), ["*.jpg", "*.png"]);
        assert_eq!(ok(r#""*.jpg","*.png""#), ["*.jpg", "*.png"]);
        assert_eq!(ok(r#""*.{jpg,png}",b"#), ["*.{jpg,png}", "b"]);
        assert_eq!(ok(r#""say ""hi""""#), [r#"say "hi""#]);
        assert_eq!(ok("a,,b"), ["a", "", "b"]);
        assert!(comma_separated(r#""open"#).is_err());
        assert!(comma_separated(r#"a"b"#).is_err());
        assert!(comma_separated(r#""a"b"#).is_err());
    }

    #[test]
    fn fields_split_on_spaces_and_quotes_keep_them() {
        assert_eq!(
            space_separated("a=x: b=y:dir").unwrap(),
            ["a=x:", "b=y:dir"]
        );
        assert_eq!(
            space_separated(r#""a=x:with space" b=y: "q=""z"":""#).unwrap(),
            ["a=x:with space", "b=y:", r#"q="z":"#]
        );
        assert_eq!(space_separated("  a  b ").unwrap(), ["a", "b"]);
        assert!(space_separated("").unwrap().is_empty());
        assert!(space_separated(r#""open"#).is_err());
        assert!(space_separated(r#"a"b"#).is_err());
        assert!(space_separated(r#""a"b"#).is_err());
    }
}
