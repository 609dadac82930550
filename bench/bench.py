#!/usr/bin/env python3
"""ferry's benchmark: ferry, rclone and the tools of each protocol (rsync, scp, s5cmd, azcopy,
cp) on the same deterministic corpora, against the project's loopback servers, in one run.

Started by bench/run (which builds ferry and starts the servers); see bench/README.md.
Every result is verified; a wrong one is marked FAIL and gets no time.
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import corpus  # noqa: E402
import endpoints  # noqa: E402
import report  # noqa: E402
import servercpu  # noqa: E402
from corpus import few_files  # noqa: E402
from endpoints import Tool, sh  # noqa: E402
from verify import compare  # noqa: E402

MiB = corpus.MiB


class Scenario:
    """`proto` is local or an endpoint name; `direction` is copy (local, into an empty dir),
    up, down or noop (the destination already holds the corpus)."""

    def __init__(self, name, proto, direction, corpus_name, checksum=False, what=""):
        self.name, self.proto, self.direction = name, proto, direction
        self.corpus, self.checksum, self.what = corpus_name, checksum, what


def all_scenarios():
    s = [Scenario("local-small", "local", "copy", "small", what="small files into an empty directory"),
         Scenario("local-large", "local", "copy", "large-local", what="large files into an empty directory"),
         Scenario("local-noop", "local", "noop", "small", what="re-sync, nothing changed"),
         Scenario("local-checksum-noop", "local", "noop", "small", checksum=True,
                  what="re-sync with --checksum, nothing changed")]
    for p in ("sftp", "s3", "azure"):
        s += [Scenario(f"{p}-small-up", p, "up", "small-remote", what="small files up"),
              Scenario(f"{p}-large-up", p, "up", "large", what="one large file up"),
              Scenario(f"{p}-large-down", p, "down", "large", what="one large file down"),
              Scenario(f"{p}-noop", p, "noop", "small-remote", what="re-sync small files, nothing changed")]
    # The GCS emulator serves one request at a time: the small-file scenarios only.
    s += [Scenario("gcs-small-up", "gcs", "up", "small-remote", what="small files up"),
          Scenario("gcs-noop", "gcs", "noop", "small-remote", what="re-sync small files, nothing changed")]
    for p in ("webdav", "ftp", "smb"):
        s += [Scenario(f"{p}-small-up", p, "up", "small-remote", what="small files up"),
              Scenario(f"{p}-small-down", p, "down", "small-remote", what="small files down"),
              Scenario(f"{p}-large-up", p, "up", "large", what="one large file up"),
              Scenario(f"{p}-large-down", p, "down", "large", what="one large file down")]
    # An rclone crypt remote over a local directory: encrypting is "up", decrypting "down".
    s += [Scenario("crypt-small-up", "crypt", "up", "small-remote", what="small files encrypted"),
          Scenario("crypt-small-down", "crypt", "down", "small-remote", what="small files decrypted"),
          Scenario("crypt-large-up", "crypt", "up", "large", what="one large file encrypted"),
          Scenario("crypt-large-down", "crypt", "down", "large", what="one large file decrypted")]
    return {x.name: x for x in s}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def first_line(argv, env=None):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                             env=env)
        return ((out.stdout or out.stderr).strip().splitlines() or ["?"])[0].strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"? ({e.__class__.__name__})"


def timed(argv, env, logf, timeout):
    """(rc, wall_s, cpu_s, maxrss_kib) of one command: CPU and RSS are the client's (the
    process and the children it waited for), from wait4; the servers' are not counted."""
    with open(logf, "w") as lf:
        lf.write("$ " + shlex.join(argv) + "\n")
        lf.flush()
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=lf, stderr=lf, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(p.pid, 9)  # the session we started for it
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


# ------------------------------------------------------------------ tools per scenario

def tools_for(scn, cfg, ep):
    """ferry and rclone with the same argv (rclone's defaults), then the protocol's peers."""
    flags = cfg.flags + (["--checksum"] if scn.checksum else [])
    renv = {"RCLONE_CONFIG": "/dev/null", "FERRY_CONFIG": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"}
    tools = [Tool("ferry", [cfg.ferry, "sync", "{SRC}", "{DST}"] + flags, kind="ferry", env=renv,
                  version=cfg.versions["ferry"]),
             Tool("rclone", [cfg.rclone, "sync", "{SRC}", "{DST}"] + flags, kind="rclone", env=renv,
                  version=cfg.versions["rclone"])]
    if scn.proto == "local":
        tools.append(Tool("rsync", ["rsync", "-a", "--delete"] + (["-c"] if scn.checksum else [])
                          + ["{SRC}/", "{DST}/"]))
        if scn.direction == "copy":
            tools.append(Tool("cp -a", sh('cp -a "$1"/. "$2"/'), kind="ref"))
    else:
        tools += ep.peers(scn.direction)
    for t in tools:
        if not t.missing and t.argv and shutil.which(t.argv[0]) is None:
            t.missing = f"{t.argv[0]} not found"
        if t.version is None and not t.missing:
            t.version = cfg.versions.get(t.name)
    if cfg.only:
        tools = [t for t in tools if t.name in cfg.only]
    return tools


# ------------------------------------------------------------------ destinations

class Local:
    """This machine's file system as a scenario's destination (local scenarios) or the
    destination of downloads."""

    def __init__(self, work):
        self.work = work
        self.trash = os.path.join(work, ".trash")

    def fresh(self, name):
        """An absent path whose parent exists (scp and every sync tool create it)."""
        p = os.path.join(self.work, name)
        if os.path.lexists(p) and few_files(p):
            # A few large files are deleted now: kept, every run's output stays in the page
            # cache, and the next tool's writes need memory never used before, which this
            # machine's hypervisor hands out at about 350 MB/s: a 1 GiB crypt decrypt took
            # ferry and rclone alike about 3 s, against 0.6 and 1.0 s with the memory reused.
            shutil.rmtree(p)
        elif os.path.lexists(p):
            # Moved aside and deleted after the timed runs: ext4 makes creating files soon after
            # deleting many others slower, which would tax the next tool.
            os.makedirs(self.trash, exist_ok=True)
            os.rename(p, os.path.join(self.trash, f"{name}.{time.time_ns()}"))
        os.makedirs(self.work, exist_ok=True)
        return p

    def presync(self, name, tree, expected):
        """`name` as an exact copy of tree (mtimes to the ns); kept between runs while it verifies."""
        p = os.path.join(self.work, name)
        if not os.path.isdir(p) or not compare(expected, corpus.manifest(p), True)[0]:
            self.fresh(name)
            subprocess.run(["cp", "-a", tree, p], check=True)
        return p

    def cleanup(self):
        shutil.rmtree(self.trash, ignore_errors=True)


def prewarm(tree):
    """Reads the source once so every tool reads it from the page cache."""
    for dirpath, _d, files in os.walk(tree):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                while fh.read(1 << 22):
                    pass


# ------------------------------------------------------------------ one scenario

# Scenarios of at most this many files (the large ones) wait `--settle` seconds after the
# untimed setup: deleting the last run's output (1 GiB) and syncing makes this machine's
# disk discard the freed blocks (the root is mounted with `discard`), and the host's work
# for that went on into the next timed run. In one run of eight, a 1 GiB crypt decrypt
# started straight after took 0.5 s in four runs and 0.9 s in the other four (memory-bound
# work, such as copying and XOR-ing, ran at half speed); with a 1 s pause, 0.47-0.56 s in
# all eight, rclone's the same (0.87-0.98 s) either way.
SETTLE_FILES = 16

def run_scenario(scn, cfg, ep, local):
    tree, expected = corpus.ensure(cfg.cache, scn.corpus, cfg.sizes, cfg.seed)
    files, size = len(expected), sum(v[0] for v in expected.values())
    tools = tools_for(scn, cfg, ep)
    runnable = [t for t in tools if not t.missing]
    log(f"[{scn.name}] {files} files, {size / MiB:.1f} MiB: {scn.what}; "
        f"{', '.join(t.name + (' (missing)' if t.missing else '') for t in tools)}")
    prewarm(tree)
    remote_src = None
    if scn.direction == "down":
        remote_src = f"{endpoints.BENCH}/{cfg.run_id}-src-{scn.corpus}"
        ep.populate(remote_src, tree)
    noop_dst = None
    server = servercpu.has_server(scn.proto)
    runs = {t.name: [] for t in tools}
    for r in range(cfg.runs):
        k = r % max(1, len(runnable))
        for tool in runnable[k:] + runnable[:k]:  # the order rotates each round
            # ---- untimed: a fresh (or pre-synced) destination
            check_mtime = scn.proto == "local" and tool.mtime
            if scn.proto == "local":
                src = tree
                if scn.direction == "copy":
                    dst = local.fresh(scn.name)
                    os.makedirs(dst)
                else:
                    dst = local.presync(scn.name, tree, expected)
            elif scn.direction == "up":
                src, dst = tree, f"{endpoints.BENCH}/{cfg.run_id}-{scn.name}-{tool.name}-{r}"
                ep.remove(dst)
            elif scn.direction == "noop":
                src = tree
                if noop_dst is None:
                    noop_dst = f"{endpoints.BENCH}/{cfg.run_id}-{scn.name}"
                    ep.populate(noop_dst, tree)
                dst = noop_dst
            else:
                src, dst = remote_src, local.fresh(scn.name)
            if cfg.sync:
                os.sync()  # write-back of the setup must not land in the timed run
            if files <= SETTLE_FILES:
                time.sleep(cfg.settle)
            # ---- timed
            a_src = ep.remote(src) if scn.direction == "down" and tool.kind in ("ferry", "rclone") else src
            a_dst = ep.remote(dst) if scn.direction in ("up", "noop") and scn.proto != "local" \
                and tool.kind in ("ferry", "rclone") else dst
            logf = os.path.join(cfg.logs, f"{scn.name}.{tool.name.replace(' ', '_')}.{r + 1}.log")
            env = dict(os.environ, **tool.env)
            busy0 = servercpu.machine_busy()
            rc, wall, cpu, rss = timed(tool.cmd(a_src, a_dst), env, logf, cfg.timeout)
            srv = servercpu.server_cpu(busy0, servercpu.machine_busy(), cpu) if server else None
            # ---- untimed: verification
            try:
                if scn.proto == "local" or scn.direction == "down":
                    got = corpus.manifest(dst) if os.path.isdir(dst) else {}
                else:
                    got = ep.listing(dst)
                ok, detail = compare(expected, got, check_mtime)
            except Exception as e:  # noqa: BLE001 - an unreadable result is a wrong one
                ok, detail = False, f"could not verify: {e}"
            runs[tool.name].append(dict(rc=rc, wall=wall, cpu=cpu, srv=srv, rss=rss, ok=ok and rc == 0,
                                        verify=detail))
            log(f"  {r + 1}/{cfg.runs} {tool.name:<7} {wall:7.2f} s  cpu {cpu:6.2f} s  "
                f"{'' if srv is None else f'server {srv:6.2f} s  '}rc={rc} "
                f"{'OK' if ok and rc == 0 else 'FAIL'} ({detail})")
            if scn.direction == "up":
                ep.remove(dst)
            elif scn.direction == "noop" and scn.proto != "local" and not ok:
                ep.populate(noop_dst, tree)  # the next tool gets an intact destination
    if remote_src:
        ep.remove(remote_src)
    if noop_dst:
        ep.remove(noop_dst)
    return summarize(scn, tools, runs, files, size)


def summarize(scn, tools, runs, files, size):
    """One row per tool: median/min/max wall and median CPU over its runs, or why it has none."""
    rows = []
    for t in tools:
        rr = runs[t.name]
        row = dict(scenario=scn.name, proto=scn.proto, what=scn.what, files=files, bytes=size, tool=t.name,
                   kind=t.kind, version=t.version, argv=t.argv, runs=rr)
        if t.missing:
            row.update(status="n/a", reason=t.missing)
        elif not rr:
            row.update(status="n/a", reason="not run")
        elif not all(x["ok"] for x in rr):
            bad = [x for x in rr if not x["ok"]]
            why = f"rc={bad[0]['rc']}" if bad[0]["rc"] else bad[0]["verify"]
            row.update(status="FAIL", reason=f"{len(bad)}/{len(rr)} runs wrong: {why}")
        else:
            walls = [x["wall"] for x in rr]
            row.update(status="OK", median=statistics.median(walls), min=min(walls), max=max(walls),
                       cpu=statistics.median(x["cpu"] for x in rr),
                       srv=median_or_none([x.get("srv") for x in rr]),
                       rss_mib=statistics.median(x["rss"] for x in rr) / 1024)
        rows.append(row)
    ferry = next((r for r in rows if r["tool"] == "ferry" and r["status"] == "OK"), None)
    for r in rows:
        r["ratio"] = r["median"] / ferry["median"] if ferry and r["status"] == "OK" and ferry["median"] else None
    return rows


def median_or_none(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ------------------------------------------------------------------ setup

def testbed_env():
    """The FERRY_TEST_* variables of scripts/testbed env (the servers' addresses and logins)."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "testbed"), "env"], capture_output=True, text=True,
                         check=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            env[k] = shlex.split(v)[0] if v else ""
    return env


def make_endpoints(env, cfg):
    eps = {}
    makers = dict(
        sftp=lambda: endpoints.Sftp(env, cfg.rclone),
        ftp=lambda: endpoints.Ftp(env, cfg.rclone),
        webdav=lambda: endpoints.Webdav(env, cfg.rclone),
        smb=lambda: endpoints.Smb(env, cfg.rclone),
        s3=lambda: endpoints.S3(env, cfg.rclone, executable(env.get("FERRY_TEST_S5CMD"))),
        gcs=lambda: endpoints.Gcs(env, cfg.rclone),
        crypt=lambda: endpoints.Crypt(cfg.rclone, os.path.join(cfg.dir, "crypt-store")),
        azure=lambda: endpoints.Azure(env, cfg.rclone, executable(env.get("FERRY_TEST_AZCOPY")),
                                      os.path.join(cfg.dir, "azcopy-state")))
    for name in cfg.protos:
        ep = makers[name]()
        ep.prepare_root()
        eps[name] = ep
    return eps


def executable(path):
    return path if path and os.access(path, os.X_OK) else None


def versions(cfg, env):
    v = dict(ferry=first_line([cfg.ferry, "--version"]),
             rclone=first_line([cfg.rclone, "version"], dict(os.environ, RCLONE_CONFIG="/dev/null")),
             rsync=first_line(["rsync", "--version"]), scp=first_line(["ssh", "-V"]),
             **{"cp -a": first_line(["cp", "--version"])})
    if executable(env.get("FERRY_TEST_S5CMD")):
        v["s5cmd"] = first_line([env["FERRY_TEST_S5CMD"], "version"])
    if executable(env.get("FERRY_TEST_AZCOPY")):
        v["azcopy"] = first_line([env["FERRY_TEST_AZCOPY"], "--version"])
    return v


def parse_args(argv):
    known = all_scenarios()
    groups = {"local": [s for s in known if s.startswith("local-")]}
    for s in known.values():
        groups.setdefault(s.proto, []).append(s.name)
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", help=f"scenario names or groups ({', '.join(groups)}); default all")
    ap.add_argument("--ferry", required=True, help="the ferry binary to time")
    ap.add_argument("--rclone", required=True)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    ap.add_argument("--small-files", type=int, default=int(os.environ.get("BENCH_SMALL_FILES", "10000")),
                    help="files in the local small corpus")
    ap.add_argument("--remote-files", type=int, default=int(os.environ.get("BENCH_REMOTE_FILES", "2000")),
                    help="files in the remote small corpus")
    ap.add_argument("--large-mib", type=int, default=int(os.environ.get("BENCH_LARGE_MIB", "256")),
                    help="size of a large file")
    ap.add_argument("--local-large-count", type=int, default=int(os.environ.get("BENCH_LOCAL_LARGE", "4")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("BENCH_SEED", "42")))
    ap.add_argument("--tools", default=os.environ.get("BENCH_TOOLS", ""), help="comma list, e.g. ferry,rclone")
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/tmp/ferry-bench"),
                    help="corpora, destinations and logs")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="where latest.md/.svg/.json go")
    ap.add_argument("--flags", default=os.environ.get("BENCH_FLAGS", ""),
                    help="extra flags for both ferry and rclone, e.g. '--transfers 8 --checkers 16'")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--no-sync", dest="sync", action="store_false", help="skip sync(2) before each timed run")
    ap.add_argument("--settle", type=float, default=float(os.environ.get("BENCH_SETTLE", "1")),
                    help="seconds to wait after the setup of each large-file run (0: none)")
    ap.add_argument("--note", default="", help="a line for the results file (e.g. what else ran meanwhile)")
    a = ap.parse_args(argv)
    names = []
    for x in a.scenarios or list(known):
        for s in groups.get(x, [x]):
            if s not in known:
                ap.error(f"unknown scenario {s!r}; known: {' '.join(known)}; groups: {' '.join(groups)}")
            if s not in names:
                names.append(s)
    a.scenarios = [known[s] for s in names]
    a.protos = sorted({s.proto for s in a.scenarios} - {"local"})
    a.flags = shlex.split(a.flags)
    a.only = [t.strip() for t in a.tools.split(",") if t.strip()]
    a.sizes = dict(small_files=a.small_files, remote_files=a.remote_files, large_bytes=a.large_mib * MiB,
                   local_large_count=a.local_large_count)
    a.cache = os.path.join(a.dir, "corpus")
    a.run_id = time.strftime("%Y%m%d-%H%M%S")
    a.logs = os.path.join(a.dir, "logs", a.run_id)
    return a


def main(argv):
    cfg = parse_args(argv)
    os.makedirs(cfg.logs, exist_ok=True)
    env = testbed_env()
    cfg.versions = versions(cfg, env)
    eps = make_endpoints(env, cfg) if cfg.protos else {}
    local = Local(os.path.join(cfg.dir, "work"))
    t0 = time.time()
    log(f"[bench] {len(cfg.scenarios)} scenarios, {cfg.runs} runs each; logs in {cfg.logs}")
    rows = []
    try:
        for scn in cfg.scenarios:
            rows += run_scenario(scn, cfg, eps.get(scn.proto), local)
    finally:
        local.cleanup()
        for ep in eps.values():
            getattr(ep, "cleanup", lambda: None)()
    order = list(all_scenarios())  # the table keeps one order whatever order they ran in
    rows.sort(key=lambda r: order.index(r["scenario"]))
    meta = dict(run_id=cfg.run_id, runs=cfg.runs, flags=shlex.join(cfg.flags), seed=cfg.seed, sizes=cfg.sizes,
                elapsed_s=time.time() - t0,
                machine=report.machine(cfg.dir), versions=cfg.versions, note=cfg.note,
                command="bench/run " + " ".join(argv_for_report(argv)))
    os.makedirs(cfg.out, exist_ok=True)
    paths = report.write(cfg.out, rows, meta)
    print(open(paths[0]).read())
    log(f"[bench] wrote {', '.join(paths)} in {meta['elapsed_s']:.0f} s")
    return 1 if any(r["status"] == "FAIL" for r in rows) else 0


def argv_for_report(argv):
    """The command line without machine-specific paths."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--ferry", "--rclone", "--out", "--dir"):
            skip = True
            continue
        if a.startswith(("--ferry=", "--rclone=", "--out=", "--dir=")):
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
