"""The results as a hand-written SVG (standard library only): one group of horizontal bars per
scenario, one bar per tool, each labelled with its median time and its ratio to ferry.

Bars are scaled within their scenario (the slowest tool's bar is full width), because the
scenarios' times differ by a thousand times; compare lengths within a group only.
"""
from xml.sax.saxutils import escape

COLORS = {"ferry": "#e4572e", "rclone": "#3b75af", "rsync": "#4c9a2a", "scp": "#9a9a9a", "s5cmd": "#7b4fa0",
          "azcopy": "#1a9e9e", "cp -a": "#9a9a9a"}
ROW, HEAD, GAP, COL_W, LABEL_W, BAR_W = 15, 20, 10, 560, 70, 300
FONT = "font-family='DejaVu Sans,Verdana,sans-serif'"


def corpus_text(row):
    """'2000 files, 16.9 MiB' / '1 file, 256 MiB'."""
    n, mib = row["files"], row["bytes"] / (1 << 20)
    return f"{n} file{'' if n == 1 else 's'}, {mib:.3g} MiB"


def seconds(s):
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def ratio_text(r):
    return "" if r is None else f"  {r:.2f}× ferry"


def group_height(rows):
    return HEAD + ROW * len(rows) + GAP


def draw_group(x, y, name, rows):
    """SVG elements of one scenario's group at (x, y)."""
    first = rows[0]
    out = [f"<text x='{x}' y='{y + 14}' font-size='12' font-weight='bold' {FONT}>{escape(name)}"
           f"<tspan dx='8' font-weight='normal' fill='#666'>{escape(corpus_text(first))}</tspan></text>"]
    longest = max((r["median"] for r in rows if r["status"] == "OK"), default=0) or 1
    for i, r in enumerate(rows):
        ty = y + HEAD + i * ROW
        out.append(f"<text x='{x + LABEL_W - 6}' y='{ty + 11}' font-size='11' text-anchor='end' {FONT}>"
                   f"{escape(r['tool'])}</text>")
        if r["status"] == "OK":
            w = max(1.0, BAR_W * r["median"] / longest)
            color = COLORS.get(r["tool"], "#bbbbbb")
            out.append(f"<rect x='{x + LABEL_W}' y='{ty + 2}' width='{w:.1f}' height='{ROW - 4}' fill='{color}'>"
                       f"<title>{escape(r['tool'])}: median {r['median']:.3f} s (min {r['min']:.3f}, "
                       f"max {r['max']:.3f}), CPU {r['cpu']:.2f} s</title></rect>")
            label = seconds(r["median"]) + ("" if r["tool"] == "ferry" else ratio_text(r["ratio"]))
            out.append(f"<text x='{x + LABEL_W + w + 4:.1f}' y='{ty + 11}' font-size='10' {FONT}>"
                       f"{escape(label)}</text>")
        else:
            text = "FAIL (wrong result, no time)" if r["status"] == "FAIL" else f"n/a: {r.get('reason', '')}"
            out.append(f"<text x='{x + LABEL_W + 2}' y='{ty + 11}' font-size='10' fill='#b00' {FONT}>"
                       f"{escape(text[:70])}</text>")
    return out


def split(groups):
    """The groups in two columns of about equal height, in order."""
    total = sum(group_height(rows) for _, rows in groups)
    left, h = [], 0
    for g in groups:
        if h >= total / 2:
            break
        left.append(g)
        h += group_height(g[1])
    return [left, groups[len(left):]]


def svg(rows, title, subtitle):
    groups = []
    for r in rows:
        if not groups or groups[-1][0] != r["scenario"]:
            groups.append((r["scenario"], []))
        groups[-1][1].append(r)
    cols = split(groups) if len(groups) > 1 else [groups]
    top = 52
    height = top + max(sum(group_height(g[1]) for g in c) for c in cols) + 10
    width = 20 + COL_W * len(cols)
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           f"viewBox='0 0 {width} {height}'>",
           f"<rect width='{width}' height='{height}' fill='white'/>",
           f"<text x='10' y='20' font-size='15' font-weight='bold' {FONT}>{escape(title)}</text>",
           f"<text x='10' y='38' font-size='11' fill='#444' {FONT}>{escape(subtitle)}</text>"]
    for c, col in enumerate(cols):
        y = top
        for name, grows in col:
            out += draw_group(10 + c * COL_W, y, name, grows)
            y += group_height(grows)
    out.append("</svg>")
    return "\n".join(out) + "\n"
