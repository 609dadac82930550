//! rclone's backend flags: any option of a built-in backend can be given on the command
//! line (`--s3-chunk-size 16M`, `--azureblob-access-tier=cool`, `--sftp-set-modtime=false`)
//! or in the environment (`FERRY_S3_CHUNK_SIZE`, then rclone's `RCLONE_S3_CHUNK_SIZE`).
//! They are taken out of the arguments before clap sees them, since the set of names
//! comes from the backend registry.

use std::collections::BTreeMap;
use std::ffi::OsString;

use ferry_config::{BackendKind, Registry};

/// Options set by flags or the environment, keyed `KIND_OPTION` (e.g. `s3_chunk_size`).
pub type BackendFlags = BTreeMap<String, String>;

fn is_bool(kind: &BackendKind, option: &str) -> bool {
    kind.is_bool(option)
}

/// Splits backend flags out of `args` (the whole argv). Values from the environment
/// fill in options no flag set.
pub fn extract(
    args: Vec<OsString>,
    registry: &Registry,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Vec<OsString>, BackendFlags), String> {
    let mut kept = Vec::with_capacity(args.len());
    let mut flags = BackendFlags::new();
    let mut it = args.into_iter();
    kept.extend(it.next());
    while let Some(arg) = it.next() {
        let Some(text) = arg.to_str().and_then(|a| a.strip_prefix("--")) else {
            kept.push(arg);
            continue;
        };
        if text.is_empty() {
            // `--` ends the flags: everything after it is a path.
            kept.push(arg);
            kept.extend(it.by_ref());
            break;
        }
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (text, None),
        };
        let Some((kind, option)) = find(registry, name) else {
            kept.push(arg);
            continue;
        };
        let value = match inline {
            Some(v) => v,
            None if is_bool(kind, &option) => "true".to_owned(),
            None => it
                .next()
                .and_then(|v| v.into_string().ok())
                .ok_or_else(|| format!("--{name} needs a value, e.g. --{name}=VALUE"))?,
        };
        if option == "encoding" {
            // A bad flag value is a usage error (exit 2) as in rclone; a bad value in a
            // config file or the environment fails when the remote is opened (exit 1).
            ferry_core::encoding::Encoding::parse(&value)
                .map_err(|e| format!("invalid argument {value:?} for \"--{name}\" flag: {e}"))?;
        }
        flags.insert(format!("{}_{option}", kind.name), value);
    }
    for kind in registry.kinds() {
        let names = kind
            .options
            .iter()
            .map(|spec| spec.name)
            .chain(kind.unimplemented.keys());
        for name in names {
            let key = format!("{}_{name}", kind.name);
            if flags.contains_key(&key) {
                continue;
            }
            let var = key.to_ascii_uppercase();
            if let Some(v) = env(&format!("FERRY_{var}")).or_else(|| env(&format!("RCLONE_{var}")))
            {
                flags.insert(key, v);
            }
        }
    }
    Ok((kept, flags))
}

/// The backend and option a flag name (without `--`) names, if any: an option ferry
/// implements, or one of rclone's it doesn't (taken out too, so that using it is refused
/// or noticed by the remote it applies to, never dropped by clap's "unexpected argument"
/// nor, for the environment, silently).
fn find(registry: &Registry, name: &str) -> Option<(&'static BackendKind, String)> {
    registry.kinds().find_map(|kind| {
        let rest = name.strip_prefix(kind.name)?.strip_prefix('-')?;
        let option = rest.replace('-', "_");
        let known = kind.option(&option).is_some() || kind.unimplemented.effect(&option).is_some();
        known.then_some((kind, option))
    })
}

/// The flags for one backend kind, with the `KIND_` prefix taken off.
pub fn for_kind<'a>(
    flags: &'a BackendFlags,
    kind: &str,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    let prefix = format!("{kind}_");
    flags
        .iter()
        .filter_map(move |(k, v)| Some((k.strip_prefix(&prefix)?, v.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<(Vec<String>, BackendFlags), String> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (kept, flags) = extract(
            args.iter().map(OsString::from).collect(),
            crate::kinds::registry(),
            |k| env.get(k).cloned(),
        )?;
        Ok((
            kept.into_iter().map(|a| a.into_string().unwrap()).collect(),
            flags,
        ))
    }

    #[test]
    fn takes_backend_flags_out() {
        let (kept, flags) = run(
            &[
                "ferry",
                "copy",
                "--s3-chunk-size",
                "16M",
                "a",
                "--azureblob-access-tier=cool",
                "b",
                "-v",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(kept, ["ferry", "copy", "a", "b", "-v"]);
        assert_eq!(flags["s3_chunk_size"], "16M");
        assert_eq!(flags["azureblob_access_tier"], "cool");
    }

    #[test]
    fn bool_options_need_no_value_and_unknown_flags_stay() {
        let (kept, flags) = run(
            &[
                "ferry",
                "ls",
                "--azureblob-use-emulator",
                "--s3-nonsense",
                "x",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(flags["azureblob_use_emulator"], "true");
        assert_eq!(kept, ["ferry", "ls", "--s3-nonsense", "x"]);
        let (kept, _) = run(&["ferry", "ls", "--", "--s3-chunk-size"], &[]).unwrap();
        assert_eq!(kept, ["ferry", "ls", "--", "--s3-chunk-size"]);
        let e = run(&["ferry", "ls", "--s3-chunk-size"], &[]).unwrap_err();
        assert!(e.contains("needs a value"), "{e}");
    }

    #[test]
    fn environment_fills_in_below_flags() {
        let (_, flags) = run(
            &["ferry", "ls", "--s3-chunk-size=8M"],
            &[
                ("RCLONE_S3_CHUNK_SIZE", "1M"),
                ("FERRY_AZUREBLOB_CHUNK_SIZE", "2M"),
                ("RCLONE_AZUREBLOB_CHUNK_SIZE", "3M"),
            ],
        )
        .unwrap();
        assert_eq!(flags["s3_chunk_size"], "8M");
        assert_eq!(flags["azureblob_chunk_size"], "2M");
        let got: Vec<_> = for_kind(&flags, "azureblob").collect();
        assert_eq!(got, [("chunk_size", "2M")]);
    }
}
