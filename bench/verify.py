"""Checking a tool's result against the corpus it was given.

A listing maps a relative path to [size, mtime_s, md5]; mtime or md5 may be None where the
destination cannot tell (an object store's listing without a stored MD5, a server that keeps
no times). A result is accepted only if every file is there, nothing else is, every size
matches, and every md5 and mtime that is known (and asked for) matches: a fast wrong result
never gets a time.
"""


def compare(expected, actual, check_mtime=False):
    """(ok, detail): detail counts each kind of difference, for the log and the table."""
    missing = expected.keys() - actual.keys()
    extra = actual.keys() - expected.keys()
    common = expected.keys() & actual.keys()
    size = [k for k in common if expected[k][0] != actual[k][0]]
    content = [k for k in common
               if expected[k][0] == actual[k][0] and actual[k][2] is not None and expected[k][2] != actual[k][2]]
    mtime = [k for k in common
             if check_mtime and actual[k][1] is not None and abs(expected[k][1] - actual[k][1]) > 1]
    unhashed = sum(1 for k in common if actual[k][2] is None)
    ok = not (missing or extra or size or content or mtime)
    parts = [f"{n}={len(v)}" for n, v in
             (("missing", missing), ("extra", extra), ("size", size), ("content", content), ("mtime", mtime)) if v]
    detail = ", ".join(parts) if parts else f"{len(common)} files match"
    if ok and unhashed:
        detail += f" ({unhashed} by size only)"
    example = sorted(missing or extra or size or content or mtime)[:1]
    if example:
        detail += f"; e.g. {example[0]}"
    return ok, detail
