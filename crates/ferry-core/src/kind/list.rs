//! rclone's space-separated list options (`upstreams = "a=x: \"b=y:with space\""`): one
//! line of CSV with a space as the separator, so a field holding spaces is quoted and a
//! `"` inside quotes is written twice.

/// The fields of a space-separated list; an error says what is malformed. Empty fields
/// (two spaces in a row, a trailing space) are left out.
pub fn space_separated(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = s.trim().chars().peekable();
    while chars.peek().is_some() {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err(format!("a quote is not closed in {s:?}")),
                }
            }
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
    use super::space_separated;

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
