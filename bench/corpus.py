"""Deterministic corpora for the benchmark.

A corpus is a pure function of (name, sizes, seed): the same arguments give byte-identical
files with identical mtimes, so a figure can be reproduced and every tool gets the same
work. Contents are pseudo-random bytes, so no tool gains from compression or from sparse
or zero detection. A corpus is generated once into <cache>/<key>/ (tree/, manifest.json),
manifest.json written last: its presence marks a complete corpus.
"""
import hashlib
import json
import math
import os
import random
import shutil

KiB = 1 << 10
MiB = 1 << 20
BASE_MTIME = 1_700_000_000  # all mtimes fall in the 30 days after 2023-11-14
VERSION = 1  # bump when the output of a spec changes


def leaf_dirs(n_files, per_leaf=20):
    """A three-level tree (aNN/bNN/cNN) with about `per_leaf` files in each leaf."""
    n_leaves = max(1, math.ceil(n_files / per_leaf))
    fan = max(1, math.ceil(n_leaves ** (1 / 3)))
    leaves = [f"a{a:02d}/b{b:02d}/c{c:02d}" for a in range(fan) for b in range(fan) for c in range(fan)]
    return leaves[:n_leaves]


def small_spec(n_files, rng):
    """n files of 1-16 KiB spread over a three-level tree."""
    leaves = leaf_dirs(n_files)
    return [(f"{leaves[i % len(leaves)]}/f{i:06d}.bin", rng.randint(KiB, 16 * KiB)) for i in range(n_files)]


def large_spec(n_files, size):
    return [(f"large{i}.bin", size) for i in range(n_files)]


def spec(name, sizes, rng):
    """(relpath, size) list for a corpus name; `sizes` holds the overridable counts and sizes."""
    if name == "small":
        return small_spec(sizes["small_files"], rng)
    if name == "small-remote":
        return small_spec(sizes["remote_files"], rng)
    if name == "large":
        return large_spec(1, sizes["large_bytes"])
    if name == "large-local":
        return large_spec(sizes["local_large_count"], sizes["large_bytes"])
    raise KeyError(f"unknown corpus {name!r}")


def key(name, sizes, seed):
    n = {"small": sizes["small_files"], "small-remote": sizes["remote_files"]}.get(name)
    if n is None:
        n = f"{sizes['local_large_count'] if name == 'large-local' else 1}x{sizes['large_bytes']}"
    return f"{name}-{n}-seed{seed}-v{VERSION}"


def write_file(path, size, rng, mtime_ns):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(rng.randbytes(n))
            left -= n
    os.utime(path, ns=(mtime_ns, mtime_ns))


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 * MiB), b""):
            h.update(block)
    return h.hexdigest()


def manifest(tree):
    """{relpath: [size, mtime_s, md5]} of every regular file under tree; a non-regular entry
    gets size -1, so a tree holding one never matches a corpus."""
    out = {}
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, tree)
            st = os.lstat(p)
            if os.path.isfile(p) and not os.path.islink(p):
                out[rel] = [st.st_size, int(st.st_mtime), md5_file(p)]
            else:
                out[rel] = [-1, int(st.st_mtime), "not-a-file"]
    return out


def ensure(cache, name, sizes, seed):
    """The corpus's (tree, manifest), generating it on first use."""
    root = os.path.join(cache, key(name, sizes, seed))
    tree, man = os.path.join(root, "tree"), os.path.join(root, "manifest.json")
    if not os.path.exists(man):
        shutil.rmtree(root, ignore_errors=True)
        rng = random.Random(f"{name}/{seed}")  # str seeds are stable across runs and versions
        for i, (rel, size) in enumerate(spec(name, sizes, rng)):
            mt = (BASE_MTIME + rng.randrange(30 * 86400)) * 1_000_000_000 + rng.randrange(1_000_000_000)
            write_file(os.path.join(tree, rel), size, rng, mt)
        m = manifest(tree)
        with open(man + ".tmp", "w") as f:
            json.dump(m, f)
        os.rename(man + ".tmp", man)
    with open(man) as f:
        return tree, json.load(f)


def few_files(tree, most=16):
    """Whether `tree` holds at most `most` files."""
    seen = 0
    for _dirpath, _dirs, files in os.walk(tree):
        seen += len(files)
        if seen > most:
            return False
    return True
