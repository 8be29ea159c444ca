"""Plain-text tables for the benchmark's output."""


def table(title, headers, rows, note=None):
    """Print a titled table with aligned columns (numbers right-aligned)."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) if cells else len(str(h))
              for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for row, raw in zip(cells, rows):
        print("  " + "  ".join(c.rjust(w) if isinstance(v, (int, float)) else c.ljust(w)
                               for c, v, w in zip(row, raw, widths)))
    if note:
        print(f"  {note}")


def _cell(value):
    """A number with sensible precision, or the value as text."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def verdict(ratio, target, at_least):
    """'ok' or 'MISSED' against a target."""
    met = ratio >= target if at_least else ratio <= target
    return "ok" if met else "MISSED"
