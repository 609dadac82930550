#!/usr/bin/env python3
"""gcp-storage-emulator (PyPI), in memory on 127.0.0.1, with some answers made as GCS gives them.

    python gcs-emulator.py --port 9023

The emulator differs from GCS in ways that matter to rclone and ferry:

1. A resumable-upload chunk sent with `X-GUploader-No-308: yes` (Google's Go client, so
   rclone, sends it on every chunk) is answered with a bare 308. GCS then answers 200 with
   `X-Http-Status-Code-Override: 308`, and the Go client fails on the bare 308: every rclone
   upload over one chunk (16 MiB) would fail.
2. `copyTo` and `rewriteTo` ignore the object resource in the request body. GCS applies it,
   so an mtime changed by a copy of an object onto itself (rclone's SetModTime) silently
   stays as it was on the emulator.
3. An object's `mediaLink` holds its name unescaped. rclone downloads through it, so a
   name with `%`, `#`, `?` or `;` fails to download (GCS escapes the name).
4. Bucket creation ignores `location`, `storageClass` and `iamConfiguration`; GCS keeps
   them, and tests read them back.
5. Every write serialises the whole store's metadata (every object of every bucket) as
   indented JSON, to be read back only when a persistent emulator restarts. In memory it is
   never read, and it made each upload cost time in proportion to everything stored so far
   (an upload took 80 ms after some thousands of objects, and benchmarks drifted from one
   run to the next). It is skipped.
6. A download of an object stored with `Content-Encoding: gzip` is sent as stored, without
   that header, whatever the request accepts. GCS sends it as stored with
   `Content-Encoding: gzip` to a request that accepts gzip, and otherwise decompresses it
   ("decompressive transcoding": the whole object, any Range ignored). Clients tell a
   gzip-encoded download by that header (rclone's Go transport decompresses on it).

These are fixed here; everything else is the emulator as published.
"""

import argparse
import gzip
import logging
import urllib.parse
from http import HTTPStatus

from gcp_storage_emulator import server, storage
from gcp_storage_emulator.handlers import buckets, objects


def no_308(handler):
    def wrapped(request, response, storage, *args, **kwargs):
        out = handler(request, response, storage, *args, **kwargs)
        asked = (request.get_header("X-GUploader-No-308") or "").lower() == "yes"
        if asked and response.status.value == 308:
            response.status = HTTPStatus.OK
            response["X-Http-Status-Code-Override"] = "308"
        return out

    return wrapped


def with_resource(handler):
    """After a successful copy or rewrite, applies the request's object resource to the copy."""

    def wrapped(request, response, storage, *args, **kwargs):
        out = handler(request, response, storage, *args, **kwargs)
        body = request.data if isinstance(request.data, dict) else None
        if response.status != HTTPStatus.OK or not body:
            return out
        bucket = request.params["dest_bucket_name"]
        name = request.params["dest_object_id"]
        patched = objects._patch(storage, bucket, name, body)
        if patched is None:
            return out
        if "/rewriteTo/" in request.path:
            size = str(patched["size"])
            response.json(
                {
                    "kind": "storage#rewriteResponse",
                    "totalBytesRewritten": size,
                    "objectSize": size,
                    "done": True,
                    "resource": patched,
                }
            )
        else:
            response.json(patched)
        return out

    return wrapped


def escaped_media_link(make):
    def wrapped(base_url, bucket_name, object_name, *args, **kwargs):
        obj = make(base_url, bucket_name, object_name, *args, **kwargs)
        quote = lambda s: urllib.parse.quote(s, safe="")
        obj["mediaLink"] = "{}/download/storage/v1/b/{}/o/{}?generation={}&alt=media".format(
            base_url, quote(bucket_name), quote(object_name), obj["generation"]
        )
        return obj

    return wrapped


def bucket_fields(handler):
    """After a bucket is created, keeps the fields GCS takes from the request."""

    def wrapped(request, response, storage, *args, **kwargs):
        out = handler(request, response, storage, *args, **kwargs)
        body = request.data if isinstance(request.data, dict) else {}
        name = body.get("name")
        bucket = storage.buckets.get(name) if name else None
        if response.status != HTTPStatus.OK or not bucket:
            return out
        for key in ("location", "storageClass", "iamConfiguration"):
            if body.get(key):
                bucket[key] = body[key]
        storage.create_bucket(name, bucket)
        response.json(bucket)
        return out

    return wrapped


def transcoding(handler):
    """Serves gzip-encoded objects as GCS does (see the docstring's point 6)."""

    def wrapped(request, response, storage, *args, **kwargs):
        try:
            bucket, name = request.params["bucket_name"], request.params["object_id"]
            obj = storage.get_file_obj(bucket, name)
        except Exception:
            return handler(request, response, storage, *args, **kwargs)
        if (obj.get("contentEncoding") or "").lower() != "gzip":
            return handler(request, response, storage, *args, **kwargs)
        accepted = (request.get_header("Accept-Encoding") or "").lower()
        if "gzip" in accepted:
            out = handler(request, response, storage, *args, **kwargs)
            if response.status in (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT):
                response["Content-Encoding"] = "gzip"
            return out
        stored = storage.get_file(bucket, name)
        response["X-Goog-Stored-Content-Encoding"] = "gzip"
        response["X-Goog-Stored-Content-Length"] = str(len(stored))
        response.write_file(gzip.decompress(stored), content_type=obj.get("contentType"))

    return wrapped


def no_metadata_dump():
    """The in-memory store keeps its metadata in its dicts; the JSON copy is for restarts."""
    storage.Storage._write_config_to_file = lambda self: None


def patch_handlers():
    objects._make_object_resource = escaped_media_link(objects._make_object_resource)
    download = objects.download
    # `objects.get` (the JSON API's `alt=media`) calls the module's `download` by name.
    objects.download = transcoding(download)
    wrappers = {
        buckets.insert: bucket_fields(buckets.insert),
        objects.upload_partial: no_308(objects.upload_partial),
        objects.insert: no_308(objects.insert),
        objects.copy: with_resource(objects.copy),
        objects.rewrite: with_resource(objects.rewrite),
        download: objects.download,
    }
    for _, methods in server.HANDLERS:
        for method, handler in list(methods.items()):
            if handler in wrappers:
                methods[method] = wrappers[handler]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    patch_handlers()
    no_metadata_dump()
    server.create_server(args.host, args.port, in_memory=True).run()


if __name__ == "__main__":
    main()
