//! Cheap randomness for what only has to keep concurrent actors apart (temporary names,
//! retry jitter): no seed to manage, no dependency.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// 64 bits that differ between calls and processes (a fresh SipHash key per call, over
/// the current time).
pub(crate) fn bits() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// A number in [0, 1).
pub(crate) fn unit() -> f64 {
    (bits() >> 11) as f64 / (1u64 << 53) as f64
}
