//! Fuzzing (fixed seed and case count) of the size and age values of `--min-size`,
//! `--max-age` and friends: out of range is an error quoting the value, never a panic.

use std::time::{Duration, SystemTime};

use ferry_core::units::parse_size_flag as parse_size;
use ferry_filter::{parse_age, AGE_OFF, SIZE_OFF};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn valueish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                "0", "1", "9", "18446744073709551615", "213503982334601", ".", "-", "+", "e",
                "E", "inf", "NaN", "Ki", "Mi", "P", "iB", "b", "ms", "s", "m", "h", "d", "w",
                "M", "y", " ", "off", ":", "T", "Z", "2023-11-14", "2023-11-14T19:13:20Z",
                "+02:00", "9999-12-31", "0000-01-01",
            ])
            .prop_map(str::to_string),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..8,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config({
        let (cases, seed) = ferry_testbed::fuzz_budget(4000, 0x00f1_17e5);
        ProptestConfig {
            cases,
            rng_seed: RngSeed::Fixed(seed),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    })]

    #[test]
    fn sizes_and_ages_never_panic(s in valueish(), secs in any::<u32>()) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(secs));
        match parse_size(&s) {
            Ok(n) => prop_assert!(n == SIZE_OFF || n <= i64::MAX as u64),
            Err(e) => prop_assert!(e.contains(&format!("{s:?}")), "{e}"),
        }
        // Durations are capped; a date's age may be longer (0001-01-01 is ~2000 years).
        if let (Ok(d), Ok(Some(_))) = (parse_age(&s, now), ferry_core::units::parse_duration_syntax(&s)) {
            prop_assert!(d == AGE_OFF || d <= ferry_core::units::MAX_DURATION);
        }
    }
}

/// Values that used to be accepted as garbage or could overflow, kept as regressions.
#[test]
fn huge_values_are_errors() {
    let now = SystemTime::now();
    assert!(parse_size("99999999P").unwrap_err().contains("too large"));
    assert!(parse_age("213503982334601d", now)
        .unwrap_err()
        .contains("too large"));
    assert!(parse_age("18446744073709551615", now)
        .unwrap_err()
        .contains("too large"));
}
