//! `help backends` and `help backend NAME`: generated from the registered kinds, in
//! rclone's layout, so what the help says is what the backend declares.

use std::fmt::Write;

use ferry_core::kind::{BackendKind, OptionSpec, OptionType, Registry};

use crate::exit::{fail, ERROR};

/// `help backends`: every registered kind with its description.
pub fn list(registry: &Registry) -> String {
    let mut out = String::from("All ferry backends:\n\n");
    for kind in registry.kinds() {
        let _ = writeln!(out, "  {:<12} {}", kind.name, kind.description);
    }
    out.push_str(
        "\nTo see more info about a particular backend use:\n  ferry help backend <name>\n",
    );
    out
}

/// `help backend NAME`: its options (standard, then advanced), each with its config key,
/// environment variable, type and default; then the rclone options ferry lacks.
pub fn one(registry: &Registry, name: &str) -> anyhow::Result<String> {
    let kind = registry.get(name).ok_or_else(|| {
        fail(
            ERROR,
            format!(
                "didn't find backend called {name:?}: this ferry has {}",
                registry.names_joined()
            ),
        )
    })?;
    let mut out = String::new();
    for (title, advanced) in [("Standard", false), ("Advanced", true)] {
        let options: Vec<_> = kind
            .options
            .iter()
            .filter(|o| o.advanced == advanced)
            .collect();
        if options.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "### {title} options\n\nHere are the {title} options specific to {} ({}).",
            kind.name, kind.description
        );
        for o in options {
            option(&mut out, kind, o);
        }
    }
    unimplemented(&mut out, kind);
    Ok(out)
}

fn option(out: &mut String, kind: &BackendKind, o: &OptionSpec) {
    let flag = format!("--{}-{}", kind.name, o.name.replace('_', "-"));
    let env = format!("RCLONE_{}_{}", kind.name, o.name).to_ascii_uppercase();
    let _ = write!(out, "\n#### {flag}\n\n{}\n", o.help);
    if o.secret {
        out.push_str("\n**NB** Input to this must be obscured - see `ferry obscure`.\n");
    }
    let _ = write!(
        out,
        "\nProperties:\n\n- Config:      {}\n- Env Var:     {env} (FERRY_{} is read first)\n- Type:        {}\n",
        o.name,
        &env["RCLONE_".len()..],
        o.ty.rclone_name()
    );
    match o.default {
        Some(d) if is_text(o.ty) => {
            let _ = writeln!(out, "- Default:     {d:?}");
        }
        Some(d) => {
            let _ = writeln!(out, "- Default:     {d}");
        }
        None if o.required => out.push_str("- Required:    true\n"),
        None => out.push_str("- Required:    false\n"),
    }
    if let OptionType::Choice(words) = o.ty {
        let _ = writeln!(out, "- Choices:     {}", words.join(", "));
    }
}

fn is_text(ty: OptionType) -> bool {
    matches!(ty, OptionType::Text | OptionType::Choice(_))
}

fn unimplemented(out: &mut String, kind: &BackendKind) {
    let u = &kind.unimplemented;
    if u.refused.is_empty() && u.tuning.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "\n### rclone options ferry does not implement\n\nThese {} options of rclone's are recognised, never dropped silently.\n",
        kind.name
    );
    let list = |keys: &[&str]| keys.join(", ");
    if !u.refused.is_empty() {
        let _ = write!(
            out,
            "\nRefused (they change what is stored, who may read it, or how ferry connects): {}\n",
            list(u.refused)
        );
    }
    if !u.tuning.is_empty() {
        let _ = write!(
            out,
            "\nIgnored with a notice (they only tune rclone): {}\n",
            list(u.tuning)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_kind_and_describes_one_from_its_declaration() {
        let reg = crate::kinds::registry();
        let all = list(reg);
        for kind in reg.kinds() {
            assert!(all.contains(&format!("  {:<12} {}", kind.name, kind.description)));
        }
        let sftp = one(reg, "sftp").unwrap();
        assert!(sftp
            .starts_with("### Standard options\n\nHere are the Standard options specific to sftp"));
        assert!(sftp.contains("\n#### --sftp-port\n"), "{sftp}");
        assert!(sftp.contains("- Config:      port\n- Env Var:     RCLONE_SFTP_PORT"));
        assert!(sftp.contains("- Type:        int\n- Default:     22\n"));
        assert!(sftp.contains("- Config:      host\n") && sftp.contains("- Required:    true\n"));
        assert!(sftp.contains("#### --sftp-pass\n") && sftp.contains("must be obscured"));
        assert!(sftp.contains("### Advanced options"));
        assert!(sftp.contains("Refused (") && sftp.contains("ciphers"));
        let s3 = one(reg, "s3").unwrap();
        assert!(
            s3.contains("- Type:        SizeSuffix\n- Default:     5Mi\n"),
            "{s3}"
        );
        let e = one(reg, "nope").unwrap_err().to_string();
        assert!(e.contains("didn't find backend called \"nope\""), "{e}");
    }
}
