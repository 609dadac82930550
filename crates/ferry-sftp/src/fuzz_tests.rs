//! Fuzzing (fixed seed and case count) of what an SSH server sends back to ferry's SFTP
//! backend: checksum command output and host keys. Nothing a server says may panic ferry.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use crate::exec::{parse_cksum, parse_many, parse_sum};
use crate::hostkeys::parse_key;

fn config(cases: u32) -> ProptestConfig {
    let (cases, seed) = ferry_testbed::fuzz_budget(cases, 0x005f_7b00);
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

/// Lines shaped like `md5sum`/`sha1sum`/`cksum` output, with the usual oddities.
fn sum_output() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(vec![
                "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                "4294967295", "0", " ", "  ", " *", "\\", "\n", "\r\n", "\t", "file.txt",
                "dir/a b", "é", "md5sum: x: No such file or directory", "-",
            ])
            .prop_map(str::to_string),
            1 => any::<String>(),
        ],
        0..20,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn checksum_output_never_panics(out in sum_output(), width in 0usize..80, path in any::<String>()) {
        for line in out.lines() {
            let _ = parse_sum(line, width);
        }
        let _ = parse_many(&out, width);
        let _ = parse_cksum(&out, &[path.as_str(), "file.txt"]);
    }

    #[test]
    fn host_keys_never_panic(s in any::<String>(), b64 in "[A-Za-z0-9+/=]{0,120}") {
        let _ = parse_key(&s);
        let _ = parse_key(&format!("ssh-ed25519 {b64}"));
        let _ = parse_key(&format!("ssh-rsa {b64}"));
        let _ = parse_key(&format!("ecdsa-sha2-nistp256 {b64}"));
    }
}

/// Found by the fuzzer: a line of non-ASCII output whose `width`-th byte falls inside a
/// character used to panic `parse_many` (a hostile or odd server could end a run).
#[test]
fn checksum_output_cut_inside_a_character_is_skipped() {
    let line = "é🭥𔕧ன𝕄Õৗ{*꒞¥eઐȺ'i=<.𜲿𞹢T\u{c}𜷃a-";
    assert!(parse_many(line, 54).is_empty());
    assert!(parse_many("ab\u{e9}cd  name", 3).is_empty());
}
