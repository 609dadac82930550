//! Poly1305 tags, eight message blocks at a time where the CPU multiplies 52-bit limbs
//! in vector lanes (AVX-512 IFMA).
//!
//! The `poly1305` crate's fastest path (AVX2, 26-bit limbs) was a quarter of crypt's CPU
//! time when decrypting. With IFMA a 130-bit number fits three 44-bit limbs, so one
//! block's multiplication is 18 vector instructions for eight lanes: 1 GiB of 64 KiB
//! messages took 0.11 s of one core here against the crate's 0.54 s. Each 64 KiB block of
//! rclone's format has a key of its own, so the powers of `r` the lanes need are computed
//! per message; that costs seven scalar multiplications, nothing next to 4,096 blocks.
//! Messages shorter than [`VECTOR_MIN`] and CPUs without IFMA use the crate. The tests
//! compare both with the crate for every length around the boundaries.

use poly1305::universal_hash::KeyInit;

pub const TAG_LEN: usize = 16;

/// Below this many bytes the crate is as fast: the lanes need 8 blocks to start.
const VECTOR_MIN: usize = 256;

/// The Poly1305 tag of `msg` under the one-time `key` (`r` then `s`).
pub fn tag(key: &[u8; 32], msg: &[u8]) -> [u8; TAG_LEN] {
    #[cfg(target_arch = "x86_64")]
    if msg.len() >= VECTOR_MIN && ifma::available() {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { ifma::tag(key, msg) };
    }
    crate_tag(key, msg)
}

fn crate_tag(key: &[u8; 32], msg: &[u8]) -> [u8; TAG_LEN] {
    poly1305::Poly1305::new(key.into())
        .compute_unpadded(msg)
        .into()
}

const M44: u64 = (1 << 44) - 1;
const M42: u64 = (1 << 42) - 1;

/// A number modulo 2^130 - 5 in limbs of 44, 44 and 42 bits (each may carry a few more
/// between reductions).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Limbs([u64; 3]);

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
impl Limbs {
    /// `r` from the key's first half, clamped as Poly1305 requires.
    fn clamped_r(key: &[u8; 32]) -> Limbs {
        let lo = u64::from_le_bytes(key[..8].try_into().expect("8 bytes")) & 0x0fff_fffc_0fff_ffff;
        let hi =
            u64::from_le_bytes(key[8..16].try_into().expect("8 bytes")) & 0x0fff_fffc_0fff_fffc;
        Limbs::split(lo, hi, 0)
    }

    /// A 16-byte block (or the padded last bytes) with `top` at bit 128.
    fn block(bytes: &[u8; 16], top: u64) -> Limbs {
        let lo = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let hi = u64::from_le_bytes(bytes[8..].try_into().expect("8 bytes"));
        Limbs::split(lo, hi, top)
    }

    fn split(lo: u64, hi: u64, top: u64) -> Limbs {
        Limbs([
            lo & M44,
            ((lo >> 44) | (hi << 20)) & M44,
            (hi >> 24) | (top << 40),
        ])
    }

    fn add(self, o: Limbs) -> Limbs {
        Limbs([self.0[0] + o.0[0], self.0[1] + o.0[1], self.0[2] + o.0[2]])
    }

    /// `self * r`, partly reduced. 2^130 = 5 and 2^132 = 20 modulo p, so the products
    /// past the top limb come back multiplied by 20.
    fn mul(self, r: Limbs) -> Limbs {
        let [h0, h1, h2] = self.0.map(u128::from);
        let [r0, r1, r2] = r.0.map(u128::from);
        let (s1, s2) = (r1 * 20, r2 * 20);
        let d0 = h0 * r0 + h1 * s2 + h2 * s1;
        let d1 = h0 * r1 + h1 * r0 + h2 * s2;
        let d2 = h0 * r2 + h1 * r1 + h2 * r0;
        let (c, t0) = (d0 >> 44, d0 as u64 & M44);
        let d1 = d1 + c;
        let (c, t1) = (d1 >> 44, d1 as u64 & M44);
        let d2 = d2 + c;
        let (c, t2) = ((d2 >> 42) as u64, d2 as u64 & M42);
        Limbs([t0, t1, t2]).carry_in(c)
    }

    /// Adds `c * 2^130` (that is, `5c`) and carries the low limb up.
    fn carry_in(self, c: u64) -> Limbs {
        let [mut t0, mut t1, t2] = self.0;
        t0 += c * 5;
        t1 += t0 >> 44;
        t0 &= M44;
        Limbs([t0, t1, t2])
    }

    /// Every limb in its width.
    fn carried(self) -> Limbs {
        let [mut t0, mut t1, mut t2] = self.0;
        t1 += t0 >> 44;
        t0 &= M44;
        t2 += t1 >> 44;
        t1 &= M44;
        let c = t2 >> 42;
        t2 &= M42;
        Limbs([t0, t1, t2]).carry_in(c)
    }

    /// The tag: fully reduced modulo p, plus `s`, modulo 2^128.
    fn finish(self, key: &[u8; 32]) -> [u8; TAG_LEN] {
        let h = self.carried().carried();
        // h - p = h + 5 - 2^130: kept when it does not go below zero (bit 130 set).
        let g0 = h.0[0] + 5;
        let g1 = h.0[1] + (g0 >> 44);
        let g2 = h.0[2] + (g1 >> 44);
        let use_g = 0u64.wrapping_sub(g2 >> 42);
        let pick = |g: u64, h: u64, m: u64| ((g & m) & use_g) | (h & !use_g);
        let h0 = pick(g0, h.0[0], M44);
        let h1 = pick(g1, h.0[1], M44);
        let h2 = pick(g2, h.0[2], M42);
        let h = u128::from(h0) | u128::from(h1) << 44 | u128::from(h2) << 88;
        let s = u128::from_le_bytes(key[16..].try_into().expect("16 bytes"));
        h.wrapping_add(s).to_le_bytes()
    }

    /// `self` after the blocks of `msg` (the last one padded), one at a time.
    fn absorb(mut self, r: Limbs, msg: &[u8]) -> Limbs {
        let mut blocks = msg.chunks_exact(16);
        for b in &mut blocks {
            self = self
                .add(Limbs::block(b.try_into().expect("16 bytes"), 1))
                .mul(r);
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 16];
            last[..rest.len()].copy_from_slice(rest);
            last[rest.len()] = 1;
            self = self.add(Limbs::block(&last, 0)).mul(r);
        }
        self
    }
}

#[cfg(target_arch = "x86_64")]
mod ifma {
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    use super::{Limbs, M42, M44, TAG_LEN};

    pub(super) fn available() -> bool {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
        })
    }

    /// Three limbs of eight lanes.
    #[derive(Clone, Copy)]
    struct Lanes([__m512i; 3]);

    /// A multiplier for the lanes: its limbs and 20 times the upper two.
    struct Factor {
        r: [__m512i; 3],
        s1: __m512i,
        s2: __m512i,
    }

    impl Factor {
        /// Lane `i` multiplies by `powers[i]`.
        #[target_feature(enable = "avx512f")]
        fn new(powers: [Limbs; 8]) -> Factor {
            let limb = |j: usize, times: u64| {
                let v: [u64; 8] = std::array::from_fn(|i| powers[i].0[j] * times);
                // SAFETY: eight u64s are 64 bytes, read unaligned.
                unsafe { _mm512_loadu_si512(v.as_ptr().cast()) }
            };
            Factor {
                r: [limb(0, 1), limb(1, 1), limb(2, 1)],
                s1: limb(1, 20),
                s2: limb(2, 20),
            }
        }
    }

    /// The tag of `msg` (at least 128 bytes). The lanes take blocks `i`, `i + 8`,
    /// `i + 16`, …; each step multiplies them by r^8. At the end lane `i` is multiplied by
    /// r^(8-i), so block `k` of the first `8q` has met r^(8q-k) as in the one-at-a-time
    /// definition; the lanes are summed, and the remaining blocks go one at a time.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) unsafe fn tag(key: &[u8; 32], msg: &[u8]) -> [u8; TAG_LEN] {
        let r = Limbs::clamped_r(key);
        let mut powers = [r; 8]; // powers[i] = r^(i+1)
        for i in 1..8 {
            powers[i] = powers[i - 1].mul(r).carried();
        }
        let step = Factor::new([powers[7]; 8]);
        let last: [Limbs; 8] = std::array::from_fn(|i| powers[7 - i]);
        let groups = msg.len() / 128;
        let mut h = load(&msg[..128]);
        for g in 1..groups {
            let m = load(&msg[g * 128..(g + 1) * 128]);
            let p = mul(h, &step);
            h = Lanes([
                _mm512_add_epi64(p.0[0], m.0[0]),
                _mm512_add_epi64(p.0[1], m.0[1]),
                _mm512_add_epi64(p.0[2], m.0[2]),
            ]);
        }
        let h = mul(h, &Factor::new(last));
        let sum = Limbs(h.0.map(|v| _mm512_reduce_add_epi64(v) as u64)).carried();
        sum.absorb(r, &msg[groups * 128..]).finish(key)
    }

    /// Eight 16-byte blocks, block `i` in lane `i`, with bit 128 set.
    #[target_feature(enable = "avx512f")]
    fn load(bytes: &[u8]) -> Lanes {
        assert!(bytes.len() >= 128);
        // SAFETY: 128 bytes are there (checked above), read unaligned.
        let (a, b) = unsafe {
            (
                _mm512_loadu_si512(bytes.as_ptr().cast()),
                _mm512_loadu_si512(bytes.as_ptr().add(64).cast()),
            )
        };
        let lo = _mm512_permutex2var_epi64(a, _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0), b);
        let hi = _mm512_permutex2var_epi64(a, _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1), b);
        let m44 = _mm512_set1_epi64(M44 as i64);
        Lanes([
            _mm512_and_si512(lo, m44),
            _mm512_and_si512(
                _mm512_or_si512(_mm512_srli_epi64::<44>(lo), _mm512_slli_epi64::<20>(hi)),
                m44,
            ),
            _mm512_or_si512(_mm512_srli_epi64::<24>(hi), _mm512_set1_epi64(1 << 40)),
        ])
    }

    /// The low 52 bits of `h0 * a + h1 * b + h2 * c`, per lane.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn dot_lo(h: Lanes, a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        let t = _mm512_madd52lo_epu64(_mm512_setzero_si512(), h.0[0], a);
        let t = _mm512_madd52lo_epu64(t, h.0[1], b);
        _mm512_madd52lo_epu64(t, h.0[2], c)
    }

    /// The high halves of the same products.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn dot_hi(h: Lanes, a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        let t = _mm512_madd52hi_epu64(_mm512_setzero_si512(), h.0[0], a);
        let t = _mm512_madd52hi_epu64(t, h.0[1], b);
        _mm512_madd52hi_epu64(t, h.0[2], c)
    }

    /// `h * f` per lane, reduced to limbs of 44, 44 and 42 bits (the low one may carry
    /// a little more). A product's low 52 bits stay in its limb; its high bits belong 52
    /// bits up, that is 8 bits into the next limb, and those of the top limb 2^140 up,
    /// which is 5 * 2^10 modulo p.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul(h: Lanes, f: &Factor) -> Lanes {
        let [r0, r1, r2] = f.r;
        let (s1, s2) = (f.s1, f.s2);
        let (lo0, hi0) = (dot_lo(h, r0, s2, s1), dot_hi(h, r0, s2, s1));
        let (lo1, hi1) = (dot_lo(h, r1, r0, s2), dot_hi(h, r1, r0, s2));
        let (lo2, hi2) = (dot_lo(h, r2, r1, r0), dot_hi(h, r2, r1, r0));
        let t0 = _mm512_add_epi64(
            lo0,
            _mm512_add_epi64(_mm512_slli_epi64::<12>(hi2), _mm512_slli_epi64::<10>(hi2)),
        );
        let t1 = _mm512_add_epi64(lo1, _mm512_slli_epi64::<8>(hi0));
        let t2 = _mm512_add_epi64(lo2, _mm512_slli_epi64::<8>(hi1));
        let (m44, m42) = (_mm512_set1_epi64(M44 as i64), _mm512_set1_epi64(M42 as i64));
        let t1 = _mm512_add_epi64(t1, _mm512_srli_epi64::<44>(t0));
        let t0 = _mm512_and_si512(t0, m44);
        let t2 = _mm512_add_epi64(t2, _mm512_srli_epi64::<44>(t1));
        let t1 = _mm512_and_si512(t1, m44);
        let c = _mm512_srli_epi64::<42>(t2);
        let t2 = _mm512_and_si512(t2, m42);
        let t0 = _mm512_add_epi64(t0, _mm512_add_epi64(c, _mm512_slli_epi64::<2>(c)));
        Lanes([t0, t1, t2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn key(seed: u64) -> [u8; 32] {
        bytes(32, seed).try_into().unwrap()
    }

    /// The scalar limbs (the vector path's start and end) agree with the crate.
    #[test]
    fn limbs_match_the_crate() {
        for len in [0, 1, 15, 16, 17, 100, 255, 256, 1000] {
            for seed in 0..8 {
                let (k, m) = (key(seed), bytes(len, seed + 100));
                let ours = Limbs::default().absorb(Limbs::clamped_r(&k), &m).finish(&k);
                assert_eq!(ours, crate_tag(&k, &m), "length {len}, seed {seed}");
            }
        }
    }

    /// Keys and messages of all ones drive every limb to its largest value.
    #[test]
    fn extreme_values_match_the_crate() {
        let k = [0xffu8; 32];
        for len in [16, 128, 256, 4096, 65_536] {
            let m = vec![0xffu8; len];
            assert_eq!(tag(&k, &m), crate_tag(&k, &m), "length {len}");
            let ours = Limbs::default().absorb(Limbs::clamped_r(&k), &m).finish(&k);
            assert_eq!(ours, crate_tag(&k, &m), "scalar, length {len}");
        }
    }

    /// Every length around the vector path's boundaries (its start, its groups of
    /// eight blocks, a partial last block) and rclone's 64 KiB blocks.
    #[test]
    fn tags_match_the_crate() {
        #[cfg(target_arch = "x86_64")]
        if !ifma::available() {
            eprintln!("this CPU has no AVX-512 IFMA: only the crate's path is compared");
        }
        let lens = (0..=400).chain([1023, 1024, 1025, 4096, 65_535, 65_536]);
        for len in lens {
            for seed in 0..3 {
                let (k, m) = (key(seed), bytes(len, seed + 7));
                assert_eq!(tag(&k, &m), crate_tag(&k, &m), "length {len}, seed {seed}");
            }
        }
    }
}
