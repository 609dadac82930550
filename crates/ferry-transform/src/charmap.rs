//! Single-byte character sets (`charmap=`, `ISO-8859-1`, `Windows-1252`, `Macintosh`): a
//! character the set can hold stays, any other becomes `_`, as rclone's
//! `encodeWithReplacement`.
//!
//! The tables are the WHATWG encoding standard's (through `encoding_rs`), which are the
//! ones Go's `x/text/encoding/charmap` is generated from; ISO-8859-1 is Latin-1 itself.
//! The IBM code pages Go also has are not in that standard: ferry refuses them by name.

use encoding_rs::{EncoderResult, Encoding};

/// rclone's names for the character sets, in its order (its error lists them so).
const NAMES: [&str; 42] = [
    "IBM-Code-Page-037",
    "IBM-Code-Page-437",
    "IBM-Code-Page-850",
    "IBM-Code-Page-852",
    "IBM-Code-Page-855",
    "Windows-Code-Page-858",
    "IBM-Code-Page-860",
    "IBM-Code-Page-862",
    "IBM-Code-Page-863",
    "IBM-Code-Page-865",
    "IBM-Code-Page-866",
    "IBM-Code-Page-1047",
    "IBM-Code-Page-1140",
    "ISO-8859-1",
    "ISO-8859-2",
    "ISO-8859-3",
    "ISO-8859-4",
    "ISO-8859-5",
    "ISO-8859-6",
    "ISO-8859-7",
    "ISO-8859-8",
    "ISO-8859-9",
    "ISO-8859-10",
    "ISO-8859-13",
    "ISO-8859-14",
    "ISO-8859-15",
    "ISO-8859-16",
    "KOI8-R",
    "KOI8-U",
    "Macintosh",
    "Macintosh-Cyrillic",
    "Windows-874",
    "Windows-1250",
    "Windows-1251",
    "Windows-1252",
    "Windows-1253",
    "Windows-1254",
    "Windows-1255",
    "Windows-1256",
    "Windows-1257",
    "Windows-1258",
    "X-User-Defined",
];

/// One character set.
#[derive(Debug)]
pub(crate) enum Charmap {
    Latin1,
    Whatwg(&'static Encoding),
}

impl Charmap {
    /// The set rclone calls `name` (any case).
    pub(crate) fn by_name(name: &str) -> Result<Charmap, String> {
        let Some(known) = NAMES.iter().find(|n| n.eq_ignore_ascii_case(name)) else {
            return Err(format!(
                "invalid choice {name:?} from: {}",
                NAMES.join(", ")
            ));
        };
        if *known == "ISO-8859-1" {
            return Ok(Charmap::Latin1);
        }
        let label = match *known {
            "IBM-Code-Page-866" => "ibm866",
            "Macintosh" => "macintosh",
            "Macintosh-Cyrillic" => "x-mac-cyrillic",
            // ISO-8859-9's WHATWG label is an alias of windows-1254; Go's table is
            // Latin-5 itself, which differs only in the C1 controls.
            "ISO-8859-9" => "windows-1254",
            other => other,
        };
        Encoding::for_label_no_replacement(label.as_bytes())
            .map(Charmap::Whatwg)
            .ok_or_else(|| format!("charmap {known} is not supported by ferry yet"))
    }

    /// `s` with each character this set can't hold replaced by `_`.
    pub(crate) fn apply(&self, s: &str) -> String {
        s.chars()
            .map(|c| if self.holds(c) { c } else { '_' })
            .collect()
    }

    fn holds(&self, c: char) -> bool {
        match self {
            Charmap::Latin1 => u32::from(c) <= 0xFF,
            Charmap::Whatwg(enc) => {
                let mut encoder = enc.new_encoder();
                let (mut utf8, mut out) = ([0u8; 4], [0u8; 8]);
                let (result, _, _) = encoder.encode_from_utf8_without_replacement(
                    c.encode_utf8(&mut utf8),
                    &mut out,
                    true,
                );
                result == EncoderResult::InputEmpty
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_keeps_what_it_holds() {
        let greek = Charmap::by_name("iso-8859-7").unwrap();
        assert_eq!(greek.apply("Café αβ 🦊"), "Caf_ αβ _");
        let latin1 = Charmap::by_name("ISO-8859-1").unwrap();
        assert_eq!(latin1.apply("Café € ŵ"), "Café _ _");
        let w1252 = Charmap::by_name("Windows-1252").unwrap();
        assert_eq!(w1252.apply("Café € ŵ"), "Café € _");
        let mac = Charmap::by_name("Macintosh").unwrap();
        assert_eq!(mac.apply("π ж"), "π _");
        let koi = Charmap::by_name("KOI8-R").unwrap();
        assert_eq!(koi.apply("жé"), "ж_");
    }

    #[test]
    fn every_name_is_known_or_refused_by_name() {
        for name in NAMES {
            match Charmap::by_name(name) {
                Ok(_) => {}
                Err(e) => {
                    assert!(
                        name.contains("Code-Page") && name != "IBM-Code-Page-866",
                        "{name}: {e}"
                    );
                    assert_eq!(e, format!("charmap {name} is not supported by ferry yet"));
                }
            }
        }
    }
}
