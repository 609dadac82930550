"""The results file (bench/results/latest.md), the chart (latest.svg), the raw data
(latest.json) and the description of the machine they were measured on."""
import json
import os
import platform
import subprocess

import chart

# Issue 20's goals: ferry's time as a share of rclone's on the same server.
GOALS = {"small": 0.5, "large": 1.0}
ISSUE20 = ("webdav", "ftp", "smb")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def out_of(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(bench_dir):
    """CPU, cores, RAM, kernel, OS and the disk the destinations are written to."""
    cpu = next((line.split(":", 1)[1].strip() for line in read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem = next((int(line.split()[1]) for line in read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal:")), 0)
    osname = next((line.split("=", 1)[1].strip('"') for line in read("/etc/os-release").splitlines()
                   if line.startswith("PRETTY_NAME=")), platform.system())
    fs = " ".join(out_of(["findmnt", "-no", "SOURCE,FSTYPE", "-T", bench_dir]).split())
    dev = fs.split()[0] if fs else ""
    disk = " ".join(out_of(["lsblk", "-dno", "SIZE,ROTA,MODEL", dev]).split()) if dev.startswith("/dev/") else ""
    virt = out_of(["systemd-detect-virt"]) or "unknown"
    if disk:  # a virtual disk's rotational flag says nothing about the storage under it
        size, rota, *model = disk.split() + [""]
        kind = "virtual disk" if dev.startswith("/dev/vd") else ("rotating" if rota == "1" else "SSD")
        disk = f"{size} {kind}{(' ' + ' '.join(model)).rstrip()}"
    return dict(cpu=cpu, cores=os.cpu_count(), ram_gib=round(mem / (1 << 20), 1), kernel=platform.release(),
                os=osname, fs=fs, disk=disk, virtualization=virt, load=" ".join(read("/proc/loadavg").split()[:3]))


def fmt_s(x):
    return "–" if x is None else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def table(rows):
    out = ["| scenario | tool | median s | min–max s | ratio to ferry | CPU s | server CPU s | status |",
           "|---|---|---:|---:|---:|---:|---:|---|"]
    last = None
    for r in rows:
        scn = "" if r["scenario"] == last else f"**{r['scenario']}** ({chart.corpus_text(r)})"
        last = r["scenario"]
        tool = r["tool"] + (" (floor)" if r["kind"] == "ref" else "")
        if r["status"] == "OK":
            ratio = "1" if r["tool"] == "ferry" else (f"{r['ratio']:.2f}" if r["ratio"] else "–")
            out.append(f"| {scn} | {tool} | {fmt_s(r['median'])} | {fmt_s(r['min'])}–{fmt_s(r['max'])} | {ratio} "
                       f"| {fmt_s(r['cpu'])} | {fmt_s(r.get('srv'))} | OK |")
        else:
            out.append(f"| {scn} | {tool} | – | – | – | – | – | {r['status']}: {r.get('reason', '')} |")
    return out


def issue20(rows):
    """ferry/rclone per protocol and scenario against the goals (small ≤ 0.5, large ≤ 1.0)."""
    by = {(r["scenario"], r["tool"]): r for r in rows}
    out = []
    for p in ISSUE20:
        cells = []
        for kind in ("small-up", "small-down", "large-up", "large-down"):
            f, r = by.get((f"{p}-{kind}", "ferry")), by.get((f"{p}-{kind}", "rclone"))
            if not f or not r:
                cells.append("not run")
            elif f["status"] != "OK" or r["status"] != "OK":
                cells.append(f"ferry {f['status']}, rclone {r['status']}")
            else:
                ratio, goal = f["median"] / r["median"], GOALS[kind.split("-")[0]]
                cells.append(f"{ratio:.2f} ({'meets' if ratio <= goal else 'misses'} ≤ {goal})")
        if any(c != "not run" for c in cells):
            out.append(f"| {p} | " + " | ".join(cells) + " |")
    if not out:
        return []
    return ["## Issue 20: ferry's time / rclone's time, same server, same run", "",
            "| protocol | small up | small down | large up | large down |", "|---|---|---|---|---|"] + out + [""]


def write(out_dir, rows, meta):
    m = meta["machine"]
    desc = (f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, kernel {m['kernel']}, "
            f"virtualization: {m['virtualization']}; destinations on {m['fs']} ({m['disk'] or 'disk unknown'})")
    md = ["# ferry benchmark: latest results", "",
          f"Run {meta['run_id']} (UTC), `{meta['command'].strip()}`, {meta['runs']} runs per tool "
          f"(median; order rotated each round), corpus seed {meta['seed']}, {meta['elapsed_s'] / 60:.0f} min in all.",
          "", f"**Machine:** {desc}. Load average at the end: {m['load']}.", "",
          "**Noise:** the servers (sshd, moto, Azurite, pure-ftpd, Apache, smbd) share the machine's cores "
          "with the clients, and whatever else ran on the machine during the run (the note below says; the "
          "load average above hints) takes its share too. Figures are noisy; read the min–max spread, and treat a ratio near 1 as a tie. "
          "All servers are on 127.0.0.1 (no network latency), so these are not cloud figures.", ""]
    if meta.get("note"):
        md += [f"**Note:** {meta['note']}", ""]
    md += [f"ferry and rclone both run `sync SRC DST{(' ' + meta['flags']) if meta.get('flags') else ''}` "
           "(rclone's defaults otherwise) with remotes as connection strings; the peers' command lines are in "
           "bench/README.md.", ""]
    md += ["Ratio = the tool's median time / ferry's (above 1: ferry is faster). CPU = the client's user+system "
           "seconds (median), not the server's; server CPU = the machine's other busy time meanwhile: the "
           "server and the kernel's loopback work (median; – for local runs). With 2 cores shared, (CPU + server CPU) / 2 is "
           "about the shortest time the run could take. A result that does not verify (every file present with its "
           "size and content, nothing extra; mtimes too for local copies) is FAIL and gets no time.", ""]
    md += issue20(rows)
    md += ["## All scenarios", ""] + table(rows) + ["", "## Versions", ""]
    md += [f"- {k}: `{v}`" for k, v in meta["versions"].items()]
    md += ["", "Sizes: " + ", ".join(f"{k}={v}" for k, v in meta["sizes"].items()), ""]
    paths = [os.path.join(out_dir, n) for n in ("latest.md", "latest.svg", "latest.json")]
    with open(paths[0], "w") as f:
        f.write("\n".join(md))
    subtitle = (f"median of {meta['runs']} runs, {m['cores']} shared cores ({m['cpu'][:40]}), loopback servers; "
                f"bars scaled within each scenario; ratio = tool / ferry")
    with open(paths[1], "w") as f:
        f.write(chart.svg(rows, f"ferry vs rclone and peers — run {meta['run_id']}", subtitle))
    with open(paths[2], "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    return paths
