//! Names and data written by rclone 1.75.2 itself (`rclone cryptdecode --reverse`, and
//! `rclone copy` through a crypt remote over a local directory, raw bytes read back),
//! password "potato", password2 "sausage" (obscured below as rclone stored them).

use ferry_core::kind::Options;
use ferry_core::ByteStream;
use ferry_crypt::data::{parse_header, DataCipher};
use ferry_crypt::stream::{decrypt, encrypt, Decrypt, Start};
use ferry_crypt::{CryptConfig, KIND};
use tokio::io::AsyncReadExt;

const PASSWORD: &str = "q6byebW1H42XI-ko1u_1l3lA3SCZhA";
const PASSWORD2: &str = "LYMro_HNfFgqVjdggWXse3oUfxapov4";

fn config(extra: &[(&str, &str)], salted: bool) -> CryptConfig {
    let mut pairs = vec![("remote", "/nowhere"), ("password", PASSWORD)];
    if salted {
        pairs.push(("password2", PASSWORD2));
    }
    pairs.extend_from_slice(extra);
    CryptConfig::from_options(&Options::from_pairs(&KIND, pairs)).unwrap()
}

/// Plain names, in the order of every table below.
const PLAIN: [&str; 7] = [
    "a",
    "hello world.txt",
    "ünïcødé 日本語",
    "0123456789abcdefXYZ!~",
    "dir/sub/file.txt",
    "file-v2001-02-03-040506-789.txt",
    "sixteen_bytes_16",
];

#[track_caller]
fn check(c: &CryptConfig, stored: [&str; 7]) {
    for (plain, stored) in PLAIN.iter().zip(stored) {
        assert_eq!(c.names.encrypt_file(plain), stored, "encrypting {plain}");
        assert_eq!(
            c.names.decrypt_file(stored).unwrap(),
            *plain,
            "decrypting {stored}"
        );
    }
}

#[test]
fn standard_base32() {
    check(
        &config(&[], true),
        [
            "0pafnuo05kiri5rkftm2fsb7b4",
            "ipur36bso3rssur9hk67tamenk",
            "v294qcdf35mtb49qu3ll7mbho8ocupbsb8mhu7sn2a802e53leh0",
            "d6buqdp278vqdqlke24g4erfkbnvjdp0vhgjk72kaoq61vadlsvg",
            "fiooieinr1qr8o3th3fofaipek/sodtmigcit30440p0snsrujo5o/ee1okdgjsatr65qq67i0aih9og",
            "ee1okdgjsatr65qq67i0aih9og-v2001-02-03-040506-789",
            "gp111ojri5f97nr3oe3t6lh17rpverp90a9e7ebm79tmbbppf0cg",
        ],
    );
}

#[test]
fn standard_base32_without_password2_uses_rclones_salt() {
    check(
        &config(&[], false),
        [
            "s83tjtk0e6aogosoteqti6f544",
            "8noet7tirlhda7n0uvsqujfn80",
            "1qpolviup53u6g4432uog3fn47go0rdum849ot2chguuqjtok6e0",
            "fkm6voala4dr6hdf3raqeo1p9t8140eadj61dji9q4iutas2as7g",
            "5o7oa7mpg298hp1opgjknlqag0/iad1nh9qjer6mqhhhtlcf27m18/dliujkifo15pa0t31sl422pt6k",
            "dliujkifo15pa0t31sl422pt6k-v2001-02-03-040506-789",
            "7i2mjdk5cgrv7g7fe3gaqdukaf8se67k6sgmjpr241a2kvq0sl40",
        ],
    );
}

#[test]
fn standard_base64() {
    check(
        &config(&[("filename_encoding", "base64")], true),
        [
            "BlT7-wAtJbkXdH9sJ_FnWQ",
            "ln2xmXzA9857aY0MfqrOvQ",
            "-JJNMa8ZbdWROvDrU9lxwjDPZXxaLR8flxKQATijq6I",
            "aZftNyI6P6bqtHCJAjtvou_5tyD8YTocVFY0YP1Nrz8",
            "fLGJOlfYdbRgfYjfh6pZdQ/5hvbSgyXRgIQGQcvzfp4Lg/c4OKNhPiu7MXWjHkBUopxA",
            "c4OKNhPiu7MXWjHkBUopxA-v2001-02-03-040506-789",
            "hkIQ4nuRXpPfY8OH01YhPvP3bykCkuO5djp7Za85eBk",
        ],
    );
}

#[test]
fn standard_base32768() {
    check(
        &config(&[("filename_encoding", "base32768")], true),
        [
            "ᒪ敞虥碻漛硝纯韇卟",
            "熞鋆嗸㖼騻䱴㼽儮蕟",
            "ꋩ㦌屃㴝勩鈣紇翑蝸娹嗫䤑齜芪䙂弃簱ɟ",
            "嬫ꇭ誧䨺嶵砢㡄懏矗ꕭ詿汳睂瞸輡ꏭ緿ʟ",
            "撸袮煛␛䥃鲃敯傹慟/饭鴲柲髀㛀詼藻ꄘ㶿/怡裭棜创㻺輧湪炉裟",
            "怡裭棜创㻺輧湪炉裟-v2001-02-03-040506-789",
            "榁ᖸ痒㰩䔻㕎㗦粁䖹ꑻ讀侎䐋罉鴫喙扬ʟ",
        ],
    );
}

#[test]
fn obfuscate() {
    check(
        &config(&[("filename_encryption", "obfuscate")], true),
        [
            "97.d",
            "234.wtAAD LDGAs.IMI",
            "208.ÜBÏqØrÉ 攛杢諔",
            "12.5678901234stuvwxpqr!!~",
            "63.wBK/74.xzg/46.hkng.vzv",
            "46.hkng-v2001-02-03-040506-789.vzv",
            "76.zpEAllu_iFAlz_72",
        ],
    );
}

#[test]
fn off_adds_the_suffix_only() {
    let c = config(&[("filename_encryption", "off")], false);
    for plain in PLAIN {
        assert_eq!(c.names.encrypt_file(plain), format!("{plain}.bin"));
    }
    let none = config(&[("filename_encryption", "off"), ("suffix", "none")], false);
    assert_eq!(none.names.encrypt_file("a.txt"), "a.txt");
}

#[test]
fn directory_names_left_plain_when_asked() {
    let c = config(&[("directory_name_encryption", "false")], true);
    assert_eq!(
        c.names.encrypt_file("dir/sub/file.txt"),
        "dir/sub/ee1okdgjsatr65qq67i0aih9og"
    );
    assert_eq!(c.names.encrypt_dir("dir/sub"), "dir/sub");
}

/// `hello crypt\n` as rclone stored it through each remote.
const SALTED_FILE: &str = "52434c4f4e450000a215d5e993970a0dfbecf6fcbf635a90f6b112f875cfd0f32dc7653efa6342182285f91aa23694ea29f360945bc8d1221443f967";
const UNSALTED_FILE: &str = "52434c4f4e450000b5fad6203eeb52d724f44bc9662e59738a522b86977e9ba3b0c090312ae34719f9909c1446a4f8d6f0be2c8862d24fc1643c73a3";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn stream_of(data: Vec<u8>) -> ByteStream {
    Box::pin(std::io::Cursor::new(data))
}

async fn read_all(mut s: ByteStream) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(out)
}

fn data_cipher(salted: bool) -> DataCipher {
    let keys =
        ferry_crypt::keys::Keys::derive("potato", if salted { "sausage" } else { "" }).unwrap();
    DataCipher::new(&keys.data)
}

#[tokio::test]
async fn rclones_files_decrypt_and_encrypt_to_the_same_bytes() {
    for (hex, salted) in [(SALTED_FILE, true), (UNSALTED_FILE, false)] {
        let stored = unhex(hex);
        let cipher = data_cipher(salted);
        let plain = read_all(decrypt(
            stream_of(stored.clone()),
            Decrypt {
                cipher: cipher.clone(),
                start: Start::Header,
                skip: 0,
                limit: None,
                pass_bad_blocks: false,
                name: "v".into(),
            },
        ))
        .await
        .unwrap();
        assert_eq!(plain, b"hello crypt\n");
        let nonce = parse_header(&stored).unwrap();
        let again = read_all(encrypt(stream_of(plain), cipher, nonce))
            .await
            .unwrap();
        assert_eq!(again, stored);
    }
}

#[tokio::test]
async fn the_other_password_does_not_authenticate() {
    let err = read_all(decrypt(
        stream_of(unhex(SALTED_FILE)),
        Decrypt {
            cipher: data_cipher(false),
            start: Start::Header,
            skip: 0,
            limit: None,
            pass_bad_blocks: false,
            name: "secret:hello.txt".into(),
        },
    ))
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("secret:hello.txt: failed to authenticate decrypted block - bad password?"),
        "{err}"
    );
}
