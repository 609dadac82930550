//! `config providers`: the registered kinds in rclone's JSON shape.

use ferry_core::kind::Registry;
use serde_json::{json, Value};

/// `config providers` output: a JSON array using rclone's field names
/// (`Name`, `Description`, `Prefix`, `Options` with `Name`, `Help`,
/// `Default`, `DefaultStr`, `IsPassword`, `Sensitive`, `Advanced`,
/// `Required`).
pub fn providers_json(registry: &Registry) -> Value {
    Value::Array(
        registry
            .kinds()
            .map(|k| {
                json!({
                    "Name": k.name,
                    "Description": k.description,
                    "Prefix": k.name,
                    "Options": k.options.iter().map(|o| json!({
                        "Name": o.name,
                        "Help": o.help,
                        "Default": o.default,
                        "Type": o.ty.rclone_name(),
                        "DefaultStr": o.default.unwrap_or(""),
                        "IsPassword": o.secret,
                        "Sensitive": o.sensitive,
                        "Advanced": o.advanced,
                        "Required": o.required,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_json_shape() {
        let v = providers_json(&crate::testkinds::registry());
        let arr = v.as_array().unwrap();
        let sftp = arr.iter().find(|k| k["Name"] == "sftp").unwrap();
        let option = |name: &str| {
            sftp["Options"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["Name"] == name)
                .unwrap()
                .clone()
        };
        assert_eq!(option("pass")["IsPassword"], true);
        assert_eq!(option("pass")["Sensitive"], true);
        assert_eq!(option("port")["Default"], "22");
        assert_eq!(option("port")["Type"], "int");
        assert_eq!(option("set_modtime")["Type"], "bool");
        assert_eq!(
            option("host")["Required"],
            true,
            "as rclone's providers say"
        );
        assert_eq!(option("port")["Required"], false);
    }
}
