//! A directory page read as rclone reads one: every `<a href>` that points at a direct
//! child of the directory (same scheme and host, no query), decoded; a name ending in `/`
//! is a directory. Anything else on the page (parents, siblings, other sites, sort links,
//! deeper paths) is not an entry.

use std::collections::HashSet;

use html5gum::{DefaultEmitter, Token, Tokenizer};
use url::Url;

/// One name found on a page: the decoded bytes of the last path segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linked {
    pub name: Vec<u8>,
    pub dir: bool,
}

/// The children `page` links to, in page order, each once. `dir_url` is the page's own
/// URL (ending in `/`), which relative links are resolved against.
pub fn children(dir_url: &Url, page: &str) -> Vec<Linked> {
    let mut seen = HashSet::new();
    hrefs(page)
        .filter_map(|href| child(dir_url, &href))
        .filter(|l| seen.insert((l.name.clone(), l.dir)))
        .collect()
}

/// The `href` of every `<a>` start tag, entities decoded (as the tokenizer gives them).
fn hrefs(page: &str) -> impl Iterator<Item = String> + '_ {
    let mut emitter = DefaultEmitter::default();
    // Text in <script>, <style>, <textarea>... is text, not tags, as a browser reads it.
    emitter.naively_switch_states(true);
    Tokenizer::new_with_emitter(page, emitter)
        .flatten()
        .filter_map(|token| match token {
            Token::StartTag(tag) if tag.name.eq_ignore_ascii_case(b"a") => tag
                .attributes
                .get(b"href".as_slice())
                .map(|v| String::from_utf8_lossy(&v.value).into_owned()),
            _ => None,
        })
}

/// `href` as a child of the directory at `dir_url`, if it is one.
fn child(dir_url: &Url, href: &str) -> Option<Linked> {
    let url = dir_url.join(href.trim()).ok()?;
    if url.query().is_some() || url.as_str().contains('?') {
        return None;
    }
    if url.scheme() != dir_url.scheme()
        || url.host_str() != dir_url.host_str()
        || url.port_or_known_default() != dir_url.port_or_known_default()
    {
        return None;
    }
    let path = decode(url.path());
    let rest = path.strip_prefix(decode(dir_url.path()).as_slice())?;
    let (name, dir) = match rest.strip_suffix(b"/") {
        Some(name) => (name, true),
        None => (rest, false),
    };
    if name.is_empty() || name.contains(&b'/') {
        return None;
    }
    Some(Linked {
        name: name.to_vec(),
        dir,
    })
}

fn decode(path: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(path).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(page: &str) -> Vec<(String, bool)> {
        let base = Url::parse("http://127.0.0.1:8080/files/dir/").unwrap();
        children(&base, page)
            .into_iter()
            .map(|l| (String::from_utf8_lossy(&l.name).into_owned(), l.dir))
            .collect()
    }

    #[test]
    fn an_autoindex_page() {
        let page = r#"<html><head><title>Index of /files/dir/</title></head><body>
<h1>Index of /files/dir/</h1><hr><pre><a href="../">../</a>
<a href="sub/">sub/</a>                                               05-Dec-2026 07:36       -
<a href="with%20space.txt">with space.txt</a>                        05-Dec-2026 07:36       5
<a href="%C3%BCn%C3%AFc%C3%B8d%C3%A9.txt">ünïcødé.txt</a>
<a href="100%25.txt">100%.txt</a>
<a href="a&amp;b.txt">a&amp;b.txt</a>
</pre><hr></body></html>"#;
        assert_eq!(
            names(page),
            [
                ("sub", true),
                ("with space.txt", false),
                ("ünïcødé.txt", false),
                ("100%.txt", false),
                ("a&b.txt", false),
            ]
            .map(|(n, d)| (n.to_owned(), d))
        );
    }

    #[test]
    fn hostile_and_foreign_links_are_not_entries() {
        let page = r##"
<a href="../x">up</a> <a href="../">parent</a> <a href="/">root</a> <a href="/files/">above</a>
<a href="http://evil.example/files/dir/x">other host</a>
<a href="https://127.0.0.1:8080/files/dir/x">other scheme</a>
<a href="http://127.0.0.1:9999/files/dir/x">other port</a>
<a href="?C=N;O=D">sort</a> <a href="y?download=1">query</a>
<a href="a/b">deeper</a> <a href="a/b/">deeper dir</a> <a href="a%2Fb">encoded slash</a>
<a href="">self</a> <a href="./">self too</a> <a href="#top">fragment</a>
<a href="javascript:alert(1)">js</a> <a href="mailto:x@y">mail</a>
<a name="anchor">no href</a>
<script>document.write('<a href="scripted">s</a>')</script>
<a href="http://127.0.0.1:8080/files/dir/absolute.txt">same place, absolute</a>
<a href="/files/dir/rooted.txt">rooted</a>
<a href="ok.txt#frag">fragment on a child</a>
<a href="twice">1</a> <a href="twice">2</a> <a href="twice/">as a dir</a>
"##;
        assert_eq!(
            names(page),
            [
                ("absolute.txt", false),
                ("rooted.txt", false),
                ("ok.txt", false),
                ("twice", false),
                ("twice", true),
            ]
            .map(|(n, d)| (n.to_owned(), d))
        );
    }

    #[test]
    fn names_that_are_not_utf8_stay_bytes() {
        let base = Url::parse("http://h/d/").unwrap();
        let got = children(&base, r#"<a href="caf%E9">x</a>"#);
        assert_eq!(got[0].name, b"caf\xe9");
    }
}
