//! Fuzzing (fixed seed and case count) of what a WebDAV server sends back: multistatus
//! bodies, hrefs and dates. Nothing a server sends may panic ferry, and no href may name
//! anything but a direct child of the folder listed.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use reqwest::Url;

use crate::propfind::{child_name, parse, parse_time};

fn config(cases: u32) -> ProptestConfig {
    let (cases, seed) = ferry_testbed::fuzz_budget(cases, 0x00da_7da0);
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

/// XML-ish text built from the elements and escapes the multistatus parser reads.
fn multistatus() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                "<?xml version=\"1.0\"?>", "<d:multistatus xmlns:d=\"DAV:\">", "</d:multistatus>",
                "<d:response>", "</d:response>", "<d:href>", "</d:href>", "<d:propstat>",
                "</d:propstat>", "<d:prop>", "</d:prop>", "<d:status>", "</d:status>",
                "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "<d:resourcetype>",
                "</d:resourcetype>", "<d:collection/>", "<d:getcontentlength>",
                "</d:getcontentlength>", "<d:getlastmodified>", "</d:getlastmodified>",
                "<oc:checksums xmlns:oc=\"x\">", "<oc:checksum>", "</oc:checksum>",
                "</oc:checksums>", "SHA1:abc MD5:", "&amp;", "&lt;", "&#0;", "&#xFFFF;",
                "&bogus;", "%2F", "%", "a/b", "../x", "/", "18446744073709551616", "-1",
                "Mon, 01 Jan 2024 00:00:00 GMT", "\u{feff}", "<![CDATA[x]]>", "<!-- c -->",
            ])
            .prop_map(str::to_string),
            1 => any::<String>(),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

fn href() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(vec![
                "/dav/dir/", "/dav/", "dir", "..", ".", "%2e%2e", "%2F", "%00", "%ff", "/",
                "//", "?", "#", "http://h:1", "https://other", "%", "%zz", "\\", "x", "é",
            ])
            .prop_map(str::to_string),
            1 => any::<String>(),
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn multistatus_bodies_never_panic(body in multistatus()) {
        let _ = parse(&body);
    }

    #[test]
    fn hrefs_name_direct_children_or_nothing(h in href()) {
        let dir = Url::parse("http://h:1/dav/dir/").unwrap();
        if let Ok(Some(name)) = child_name(&dir, &h) {
            prop_assert!(!name.is_empty());
            prop_assert!(!name.contains(&b'/'), "{h:?} gave {name:?}");
            prop_assert!(name != b"." && name != b"..", "{h:?} gave {name:?}");
        }
    }

    #[test]
    fn dates_never_panic(t in any::<String>()) {
        let _ = parse_time(&t);
    }
}
