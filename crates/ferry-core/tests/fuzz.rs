//! Fuzzing (property-based, fixed seed and case count so CI is deterministic and quick) of
//! ferry-core's parsers of user and server input: sizes, durations, counts, booleans,
//! metadata times and assignments, time layouts. None may panic, and what
//! they accept must be in range.

use std::time::Duration;

use ferry_core::units::{
    parse_bool, parse_count, parse_duration, parse_size_checked, MAX_DURATION, MAX_SIZE,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn config(cases: u32) -> ProptestConfig {
    let (cases, seed) = ferry_testbed::fuzz_budget(cases, 0x00f3_e77a);
    ProptestConfig {
        cases,
        // Found inputs are kept as explicit tests below, not in a file.
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

/// Text made of the pieces number parsers trip on.
fn numberish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                "0", "1", "9", "18446744073709551615", "213503982334601", "9223372036854775807",
                ".", "-", "+", "e", "E", "e308", "inf", "NaN", "nan", "Ki", "Mi", "Gi", "P", "E",
                "iB", "b", "B", "k", "ns", "us", "µs", "ms", "s", "m", "h", "d", "w", "M", "y",
                " ", "\t", "off", "_", ",", ":", "1e30", "0x10", "٣",
            ])
            .prop_map(str::to_string),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..12,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn sizes_parse_in_range_or_fail(s in numberish()) {
        if let Ok(n) = parse_size_checked(&s) {
            prop_assert!(n <= MAX_SIZE);
        }
    }

    #[test]
    fn durations_parse_in_range_or_fail(s in numberish()) {
        match parse_duration(&s) {
            Ok(d) => prop_assert!(d <= MAX_DURATION),
            Err(e) => prop_assert!(e.contains(&format!("{s:?}")), "{e}"),
        }
    }

    #[test]
    fn counts_parse_in_range_or_fail(s in numberish(), min in -5i64..5, span in 0i64..100) {
        if let Ok(n) = parse_count(&s, min, min + span) {
            prop_assert!((min..=min + span).contains(&n));
        }
        let _ = parse_bool(&s);
    }

    #[test]
    fn written_durations_read_back(secs in 0u64..9_000_000_000, nanos in 0u32..1_000_000_000) {
        let d = Duration::new(secs, nanos);
        let text = format!("{secs}s{nanos}ns");
        prop_assert_eq!(parse_duration(&text), Ok(d));
    }

    #[test]
    fn metadata_values_never_panic(s in any::<String>(), n in numberish()) {
        let _ = ferry_core::metadata::parse_time(&s);
        let _ = ferry_core::metadata::parse_time(&n);
        let _ = ferry_core::metadata::parse_assignment(&s);
    }

    #[test]
    fn time_layouts_never_panic(layout in any::<String>(), secs in any::<i32>(), offset in -50_000i32..50_000) {
        let t = if secs >= 0 {
            std::time::UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            std::time::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs() as u64)
        };
        let clock = ferry_core::timefmt::Clock::at(t, offset);
        let _ = ferry_core::timefmt::go_format(&clock, &layout);
        let _ = ferry_core::timefmt::go_format(&clock, ferry_core::timefmt::named_layout(&layout));
    }
}

/// Inputs that once panicked (item 5 of issue 17), kept as regressions.
#[test]
fn values_that_panicked_are_errors() {
    for s in [
        "18446744073709551615",
        " 18446744073709551615",
        "213503982334601d",
        "1e300",
        "99999999P",
        " ",
    ] {
        assert!(
            parse_duration(s).is_err() || parse_size_checked(s).is_err(),
            "{s}"
        );
    }
    assert!(parse_size_checked("99999999P").is_err());
    assert!(parse_duration("18446744073709551615").is_err());
    assert!(parse_duration("213503982334601d").is_err());
}
