"""Draws bench results as an SVG bar chart (no dependencies): W1 ops/s and
bytes per session for every language and contender."""

from xml.sax.saxutils import escape

COLORS = {"sojourn": "#2b6cb0"}
PEER = "#a0aec0"
BAR, GAP, GROUP_GAP = 22, 4, 18
LABEL_W, PLOT_W = 170, 430


def panel(rows, title, unit, y0):
    """rows: [(label, value, is_sojourn)] -> (svg parts, height)."""
    top = max(v for _, v, _ in rows) or 1
    parts = [f'<text x="10" y="{y0 + 16}" font-weight="bold">{escape(title)}</text>']
    y = y0 + 28
    previous_group = None
    for label, value, ours in rows:
        group = label.split(" ")[0]
        if previous_group is not None and group != previous_group:
            y += GROUP_GAP - GAP
        previous_group = group
        width = max(1, PLOT_W * value / top)
        color = COLORS["sojourn"] if ours else PEER
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{color}"/>')
        parts.append(f'<text x="{LABEL_W + width + 5:.1f}" y="{y + 15}">{value:,.0f} {unit}</text>')
        y += BAR + GAP
    return parts, y - y0


def write(results, path):
    ops, mem = [], []
    for language, entry in results["languages"].items():
        for name, row in entry["contenders"].items():
            label = f"{language} {name}"
            ops.append((label, row["ops_per_sec"], name == "sojourn"))
            mem.append((label, row["bytes_per_session"], name == "sojourn"))
    first, h1 = panel(ops, "W1 operations per second (higher is better)", "ops/s", 10)
    second, h2 = panel(mem, "Memory per live session at 1,000,000 (lower is better)", "B", 30 + h1)
    height = 50 + h1 + h2
    width = LABEL_W + PLOT_W + 130
    footer = f'<text x="10" y="{height - 8}" font-size="11" fill="#555">{escape(results["machine"])}, {escape(results["date"])}</text>'
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        *first,
        *second,
        footer,
        "</svg>",
    ]
    with open(path, "w") as f:
        f.write("\n".join(svg) + "\n")
