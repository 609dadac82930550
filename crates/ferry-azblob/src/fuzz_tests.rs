//! Fuzzing (fixed seed and case count) of what the Blob service sends back: List Blobs /
//! List Containers pages, blob tags, and the dates in headers and metadata. Nothing a
//! server sends may panic ferry.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use crate::listing::{parse_page, parse_tags};
use crate::meta::{parse_http_date, parse_mtime};

fn config(cases: u32) -> ProptestConfig {
    let (cases, seed) = ferry_testbed::fuzz_budget(cases, 0x00a2_b10b);
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

/// XML-ish text built from the elements and escapes the listing parser reads.
fn listing_xml() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>", "<EnumerationResults>",
                "</EnumerationResults>", "<Blobs>", "</Blobs>", "<Blob>", "</Blob>", "<Name>",
                "</Name>", "<Name Encoded=\"true\">", "<Properties>", "</Properties>",
                "<Content-Length>", "</Content-Length>", "<Last-Modified>", "</Last-Modified>",
                "<Content-MD5>", "</Content-MD5>", "<Metadata>", "</Metadata>", "<mtime>",
                "</mtime>", "<BlobPrefix>", "</BlobPrefix>", "<NextMarker>", "</NextMarker>",
                "<Containers>", "<Container>", "</Container>", "<Tags>", "<TagSet>", "<Tag>",
                "<Key>", "</Key>", "<Value>", "</Value>", "</Tag>", "</TagSet>", "</Tags>",
                "&amp;", "&lt;", "&#0;", "&#xFFFF;", "&bogus;", "%2F", "%", "a/b", "../x", "/",
                "18446744073709551616", "-1", "Mon, 01 Jan 2024 00:00:00 GMT", "\u{feff}",
                "<![CDATA[x]]>", "<!-- c -->", "\u{0}",
            ])
            .prop_map(str::to_string),
            1 => any::<String>(),
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn listing_pages_never_panic(xml in listing_xml()) {
        let _ = parse_page(&xml);
        let _ = parse_tags(&xml);
    }

    #[test]
    fn dates_never_panic(s in any::<String>(), n in any::<i64>()) {
        let _ = parse_mtime(&s);
        let _ = parse_http_date(&s);
        let _ = parse_mtime(&n.to_string());
        let _ = parse_mtime(&format!("{n}.{n}"));
    }
}
