//! Fuzzing (fixed seed and case count) of bisync's own files as read back: the state file
//! and the journal. A damaged or hostile file is an error, never a panic.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn config(cases: u32) -> ProptestConfig {
    let (cases, seed) = ferry_testbed::fuzz_budget(cases, 0x00b1_5c00);
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

/// JSON-ish lines made of the pieces these files hold.
fn jsonish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                "{", "}", "[", "]", ",", ":", "\"", "\n", "\"format\"", "\"version\"",
                "\"journal\"", "\"ferry-bisync-state\"", "\"ferry-bisync-journal\"", "1", "2",
                "18446744073709551616", "-1", "1e999", "null", "true", "\"path1\"", "\"path2\"",
                "\"files\"", "\"size\"", "\"mtime\"", "\"\\u0000\"", "\"../x\"", "\"a/b\"",
            ])
            .prop_map(str::to_string),
            1 => any::<String>(),
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn state_and_journal_files_never_panic(text in jsonish(), raw in any::<Vec<u8>>()) {
        let dir = std::env::temp_dir().join(format!("ferry-bisync-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        for bytes in [text.as_bytes(), raw.as_slice()] {
            std::fs::write(&file, bytes).unwrap();
            let _ = crate::state::load(&file);
            let _ = crate::journal::load(&file);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
