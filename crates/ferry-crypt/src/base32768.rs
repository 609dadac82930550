//! Base32768 as rclone's crypt writes it (`filename_encoding = base32768`): 15 bits per
//! character, so a name counted in UTF-16 units is about half its base32 length.
//!
//! The bit stream is cut big-endian into 15-bit groups; each group is one character of a
//! block of 32 (the block chosen by the top 10 bits, the place in it by the low 5). The
//! tail is padded with 1 bits: 8 to 14 leftover bits to a 15-bit character, 1 to 7 to a
//! character of one of 4 smaller blocks that carry 7 bits. The blocks (their first code
//! points) are the "safe" repertoire below: letters that survive normalisation and
//! common file systems.

/// First code points of the four blocks that carry the final 7 bits.
const SEVEN_BIT_BLOCKS: [u16; 4] = [0x0180, 0x0240, 0x0260, 0x0280];

/// The 1024 blocks that carry 15 bits, as runs of consecutive blocks (first, last).
const FIFTEEN_BIT_RUNS: &[(u16, u16)] = &[
    (0x04A0, 0x04A0),
    (0x0500, 0x0500),
    (0x0680, 0x06A0),
    (0x0760, 0x0780),
    (0x07C0, 0x07C0),
    (0x1000, 0x1000),
    (0x10A0, 0x10A0),
    (0x1100, 0x1140),
    (0x1180, 0x1180),
    (0x11E0, 0x1220),
    (0x1260, 0x1260),
    (0x12E0, 0x12E0),
    (0x1320, 0x1320),
    (0x13A0, 0x13C0),
    (0x1420, 0x1640),
    (0x16A0, 0x16C0),
    (0x1780, 0x1780),
    (0x1820, 0x1840),
    (0x18C0, 0x18C0),
    (0x1980, 0x1980),
    (0x19E0, 0x19E0),
    (0x1A20, 0x1A20),
    (0x1BC0, 0x1BC0),
    (0x1C00, 0x1C00),
    (0x1D00, 0x1D00),
    (0x21E0, 0x21E0),
    (0x22C0, 0x22C0),
    (0x2340, 0x23C0),
    (0x2400, 0x2400),
    (0x2500, 0x2740),
    (0x2780, 0x27A0),
    (0x2800, 0x2960),
    (0x29A0, 0x29A0),
    (0x2A20, 0x2A40),
    (0x2A80, 0x2AA0),
    (0x2AE0, 0x2B40),
    (0x2C00, 0x2C00),
    (0x2C80, 0x2CC0),
    (0x2D00, 0x2D00),
    (0x2D40, 0x2D40),
    (0x2EA0, 0x2EC0),
    (0x31C0, 0x31C0),
    (0x3400, 0x4D80),
    (0x4DC0, 0x9FA0),
    (0xA000, 0xA460),
    (0xA4A0, 0xA4A0),
    (0xA500, 0xA5E0),
    (0xA640, 0xA640),
    (0xA6A0, 0xA6C0),
    (0xA700, 0xA740),
    (0xA780, 0xA780),
    (0xA840, 0xA840),
];

struct Tables {
    /// Block start of each 10-bit group value.
    fifteen: [u16; 1024],
    /// For each block (code point >> 5): the value its first character stands for
    /// (already shifted left by 5), or `None` outside the alphabet.
    decode: Vec<Option<u16>>,
}

fn tables() -> &'static Tables {
    static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut fifteen = [0u16; 1024];
        let starts = FIFTEEN_BIT_RUNS
            .iter()
            .flat_map(|&(first, last)| (first..=last).step_by(0x20));
        let mut n = 0;
        for (slot, start) in fifteen.iter_mut().zip(starts) {
            *slot = start;
            n += 1;
        }
        assert_eq!(n, 1024, "base32768 repertoire has 1024 blocks");
        let mut decode = vec![None; 2048];
        for (i, &start) in fifteen.iter().enumerate() {
            decode[usize::from(start >> 5)] = Some((i as u16) << 5);
        }
        for (i, &start) in SEVEN_BIT_BLOCKS.iter().enumerate() {
            decode[usize::from(start >> 5)] = Some((i as u16) << 5);
        }
        Tables { fifteen, decode }
    })
}

fn char_of(code: u16) -> char {
    char::from_u32(u32::from(code)).expect("repertoire is in the BMP, outside surrogates")
}

/// Encodes bytes.
pub fn encode(data: &[u8]) -> String {
    let t = tables();
    let mut out = String::with_capacity(data.len() * 3 / 2 + 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        if bits >= 15 {
            bits -= 15;
            let v = ((acc >> bits) & 0x7FFF) as u16;
            out.push(char_of(t.fifteen[usize::from(v >> 5)] | (v & 31)));
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 8 {
        let pad = 15 - bits;
        let v = (((acc << pad) | ((1 << pad) - 1)) & 0x7FFF) as u16;
        out.push(char_of(t.fifteen[usize::from(v >> 5)] | (v & 31)));
    } else if bits > 0 {
        let pad = 7 - bits;
        let v = (((acc << pad) | ((1 << pad) - 1)) & 0x7F) as u16;
        out.push(char_of(SEVEN_BIT_BLOCKS[usize::from(v >> 5)] | (v & 31)));
    }
    out
}

/// Decodes text written by [`encode`]. As rclone's decoder: line breaks are skipped, a
/// 7-bit character ends the data, leftover padding bits are dropped.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let t = tables();
    let splitter = t.fifteen[0];
    let mut out = Vec::with_capacity(text.len());
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in text
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .enumerate()
    {
        let code = u32::from(c);
        let value = (code < 0x10000)
            .then(|| t.decode[(code >> 5) as usize])
            .flatten()
            .ok_or_else(|| format!("illegal base32768 data at character {i}"))?
            | (code as u16 & 31);
        let trailing = (code as u16) < splitter;
        let width = if trailing { 7 } else { 15 };
        acc = (acc << width) | u32::from(value);
        bits += width;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
        if trailing {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        for len in 0usize..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = encode(&data);
            assert_eq!(text.chars().count(), (8 * len).div_ceil(15), "len {len}");
            assert_eq!(decode(&text).unwrap(), data, "len {len}");
        }
    }

    #[test]
    fn rejects_characters_outside_the_repertoire() {
        assert!(decode("abc").is_err());
        assert!(decode("😀").is_err());
    }
}
