//! The three keys of a crypt remote, derived from its passwords as rclone derives them.

use ferry_core::{Error, ErrorKind, Result};

/// rclone's salt when `password2` is empty: fixed, so that an empty `password2` still
/// gives the keys every rclone and ferry agree on.
const DEFAULT_SALT: [u8; 16] = [
    0xA8, 0x0D, 0xF4, 0x3A, 0x8F, 0xBD, 0x03, 0x08, 0xA7, 0xCA, 0xB8, 0x3E, 0x58, 0x1F, 0x86, 0xB1,
];

/// The data key (secretbox), the name key (AES-256 under EME) and the name tweak.
#[derive(Clone)]
pub struct Keys {
    pub data: [u8; 32],
    pub name: [u8; 32],
    pub tweak: [u8; 16],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// scrypt (N=16384, r=8, p=1) over `password` salted with `salt` (`password2`, or the
    /// default salt when empty), cut into the three keys in that order. An empty password
    /// gives all-zero keys, as in rclone (only its tests use that).
    pub fn derive(password: &str, salt: &str) -> Result<Keys> {
        let mut out = [0u8; 80];
        if !password.is_empty() {
            let salt = if salt.is_empty() {
                &DEFAULT_SALT[..]
            } else {
                salt.as_bytes()
            };
            // The key's length is the output buffer's. scrypt 0.12 mixes blocks with SSE2:
            // a crypt `lsf` went from 47 to 39 ms of CPU, a cost every crypt command pays.
            let params = scrypt::Params::new(14, 8, 1)
                .map_err(|e| Error::new(ErrorKind::Config, format!("crypt key parameters: {e}")))?;
            scrypt::scrypt(password.as_bytes(), salt, &params, &mut out)
                .map_err(|e| Error::new(ErrorKind::Config, format!("crypt key derivation: {e}")))?;
        }
        let mut keys = Keys {
            data: [0; 32],
            name: [0; 32],
            tweak: [0; 16],
        };
        keys.data.copy_from_slice(&out[..32]);
        keys.name.copy_from_slice(&out[32..64]);
        keys.tweak.copy_from_slice(&out[64..]);
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// RFC 7914's third scrypt vector (N=16384, r=8, p=1, rclone's parameters), taken to
    /// 80 bytes: the keys are its three slices in order.
    #[test]
    fn keys_are_rfc_7914_scrypt_cut_in_three() {
        let k = Keys::derive("pleaseletmein", "SodiumChloride").unwrap();
        let all = format!("{}{}{}", hex(&k.data), hex(&k.name), hex(&k.tweak));
        assert_eq!(
            all,
            "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2\
             d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887\
             c3b5417f26036e90e9c1fe355d24ee36"
        );
    }

    #[test]
    fn an_empty_password_gives_zero_keys() {
        let k = Keys::derive("", "anything").unwrap();
        assert_eq!((k.data, k.name, k.tweak), ([0; 32], [0; 32], [0; 16]));
    }
}
