//! S3's own commands (`backend COMMAND s3:bucket/path`): unfinished multipart uploads
//! listed or cleaned up by age, and a bucket's versioning read or set. Their answers keep
//! rclone's shapes, which scripts parse.

use std::time::Duration;

use aws_sdk_s3::types::{BucketVersioningStatus, MultipartUpload, VersioningConfiguration};
use aws_smithy_types::date_time::Format;
use ferry_core::command::{CommandCall, CommandHelp, CommandOutput};
use ferry_core::{Error, ErrorKind, Result};
use ferry_objstore::store::Scope;
use serde_json::{json, Map, Value};

use crate::error::sdk;
use crate::S3;

/// What `backend help s3` lists.
pub static COMMANDS: [CommandHelp; 3] = [
    CommandHelp {
        name: "list-multipart-uploads",
        short: "Lists the multipart uploads begun and never completed or aborted.",
        long: "The answer is JSON: each bucket's name, with the list of its unfinished \
               uploads below the remote's path (key, upload ID, when begun, storage class). \
               At the account's root (`s3:`) every bucket is listed.\n\n\
               ```console\nferry backend list-multipart-uploads s3:bucket/path\n```",
        opts: &[],
    },
    CommandHelp {
        name: "cleanup",
        short: "Aborts unfinished multipart uploads older than max-age (24h unless given).",
        long: "Their parts are deleted and no longer billed. Younger uploads may belong to \
               a transfer still running and are left alone. With --dry-run each upload that \
               would be aborted is named, and none is.\n\n\
               ```console\nferry backend cleanup s3:bucket/path -o max-age=7d\n```\n\n\
               The age is a duration as ferry's flags take it: 2h, 7d, 1w, ...",
        opts: &[("max-age", "Abort only uploads begun longer ago than this.")],
    },
    CommandHelp {
        name: "versioning",
        short: "Reads, or sets and then reads, the bucket's versioning.",
        long: "With no argument the bucket's state is printed: \"Enabled\", \"Suspended\" or \
               \"Unversioned\". With Enabled or Suspended it is set first. A bucket once \
               versioned can't become unversioned again.\n\n\
               ```console\nferry backend versioning s3:bucket\n\
               ferry backend versioning s3:bucket Enabled\n```",
        opts: &[],
    },
];

pub(crate) async fn run(s3: &S3, scope: &Scope, call: &CommandCall) -> Result<CommandOutput> {
    match call.name.as_str() {
        "list-multipart-uploads" => list_uploads(s3, scope).await,
        "cleanup" => cleanup(s3, scope, call).await,
        "versioning" => versioning(s3, scope, &call.args).await,
        other => Err(Error::unsupported(format!("{other:?} command not found"))),
    }
}

async fn list_uploads(s3: &S3, scope: &Scope) -> Result<CommandOutput> {
    let mut out = Map::new();
    for bucket in &scope.buckets {
        let uploads = crate::cleanup::list(s3, bucket, &scope.prefix).await?;
        out.insert(
            bucket.clone(),
            uploads.iter().map(upload_json).collect::<Vec<_>>().into(),
        );
    }
    Ok(CommandOutput::Json(Value::Object(out)))
}

/// One upload as rclone prints it: the SDK's fields by name, `null` where absent and an
/// empty string for an absent enum (Go's zero values).
fn upload_json(u: &MultipartUpload) -> Value {
    let enum_text = |s: Option<&str>| s.unwrap_or_default().to_owned();
    let who = |name: Option<&str>, id: Option<&str>| json!({"DisplayName": name, "ID": id});
    json!({
        "ChecksumAlgorithm": enum_text(u.checksum_algorithm().map(|c| c.as_str())),
        "ChecksumType": enum_text(u.checksum_type().map(|c| c.as_str())),
        "Initiated": u.initiated().and_then(|d| d.fmt(Format::DateTime).ok()),
        "Initiator": u.initiator().map(|i| who(i.display_name(), i.id())),
        "Key": u.key(),
        "Owner": u.owner().map(|o| who(o.display_name(), o.id())),
        "StorageClass": enum_text(u.storage_class().map(|c| c.as_str())),
        "UploadId": u.upload_id(),
    })
}

async fn cleanup(s3: &S3, scope: &Scope, call: &CommandCall) -> Result<CommandOutput> {
    let max_age = match call.opt("max-age").filter(|a| !a.is_empty()) {
        Some(a) => parse_age(a)?,
        None => crate::cleanup::MAX_AGE,
    };
    let mut failed = None;
    for bucket in &scope.buckets {
        let cleaned =
            crate::cleanup::clean_up(s3, bucket, &scope.prefix, max_age, call.dry_run).await;
        if let Err(e) = cleaned {
            tracing::error!("{}: Failed to cleanup bucket {bucket:?}: {e}", scope.shown);
            failed = Some(e);
        }
    }
    failed.map_or(Ok(CommandOutput::Nothing), Err)
}

fn parse_age(text: &str) -> Result<Duration> {
    ferry_core::units::parse_duration(text)
        .map_err(|e| Error::new(ErrorKind::Config, format!("bad max-age: {e}")))
}

async fn versioning(s3: &S3, scope: &Scope, args: &[String]) -> Result<CommandOutput> {
    if args.len() > 1 {
        return Err(Error::new(ErrorKind::Config, "too many arguments"));
    }
    let bucket = match (scope.account_root, scope.buckets.first()) {
        (false, Some(b)) => b,
        _ => return Err(Error::new(ErrorKind::Config, "need a bucket")),
    };
    if let Some(state) = args.first() {
        // "Disabled" is sent as no state at all, as rclone does.
        let status = (state != "Disabled").then(|| BucketVersioningStatus::from(state.as_str()));
        s3.client
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .set_status(status)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk("set versioning of", bucket, e))?;
    }
    let state = read_versioning(s3, bucket).await?;
    // rclone answers with the SDK's status type, which prints as a JSON string.
    Ok(CommandOutput::Json(Value::String(state)))
}

/// The bucket's versioning state; "Unversioned" when it never had one.
async fn read_versioning(s3: &S3, bucket: &str) -> Result<String> {
    let state = match s3
        .client
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(got) => got.status().map(|s| s.as_str().to_owned()),
        // A server that names the answer's root element otherwise (moto:
        // GetBucketVersioningResponse) still sends the state, which rclone's SDK reads.
        Err(aws_sdk_s3::error::SdkError::ServiceError(e)) if e.raw().status().is_success() => {
            let body = e.raw().body().bytes().unwrap_or_default();
            status_in(&String::from_utf8_lossy(body))
        }
        Err(e) => return Err(sdk("read versioning of", bucket, e)),
    };
    Ok(state
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "Unversioned".to_owned()))
}

/// The text of the `<Status>` element of a versioning answer.
fn status_in(xml: &str) -> Option<String> {
    let start = xml.find("<Status>")? + "<Status>".len();
    let len = xml[start..].find("</Status>")?;
    Some(xml[start..start + len].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::types::Initiator;
    use aws_smithy_types::DateTime;

    #[test]
    fn an_upload_prints_rclones_fields_with_nulls_and_empty_enums() {
        let u = MultipartUpload::builder()
            .key("dir/big.bin")
            .upload_id("u1")
            .initiated(DateTime::from_secs(1_289_422_113))
            .initiator(Initiator::builder().id("me").build())
            .build();
        let v = upload_json(&u);
        assert_eq!(v["Initiated"], "2010-11-10T20:48:33Z");
        assert_eq!(v["Initiator"]["ID"], "me");
        assert!(v["Initiator"]["DisplayName"].is_null());
        assert!(v["Owner"].is_null());
        assert_eq!(v["StorageClass"], "");
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 8);
    }

    #[test]
    fn a_versioning_answer_gives_its_status_whatever_its_root() {
        let moto = "<?xml version=\"1.0\"?><GetBucketVersioningResponse><Status>Enabled</Status></GetBucketVersioningResponse>";
        assert_eq!(status_in(moto).as_deref(), Some("Enabled"));
        assert_eq!(status_in("<VersioningConfiguration/>"), None);
    }

    #[test]
    fn ages_are_durations() {
        assert_eq!(parse_age("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_age("soon")
            .unwrap_err()
            .message()
            .starts_with("bad max-age"));
    }
}
