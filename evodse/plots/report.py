"""``evodse report``: one page per run with the summary, the top designs and every figure.

HTML is self-contained (inline CSS, figures as embedded PNG). Markdown links PNG files written
to a ``<report stem>_figures/`` folder next to it.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.experiment import rundir
from evodse.plots import units
from evodse.plots.figures import KINDS, run_figures, save_figure
from evodse.plots.rundata import Run, load_run, log_objectives

REPORT_FORMATS = ("html", "md")


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]


def top_designs(run: Run, n: int = 10) -> list[tuple[str, int]]:
    """``(role, id)`` of up to ``n`` Pareto designs: the knee, the best per objective, then
    the designs nearest the ideal point (log-normalized objectives)."""
    picks: list[tuple[str, int]] = []
    if run.knee_id is not None:
        picks.append(("knee", run.knee_id))
    best = run.summary.get("best") or {}
    for o in run.objectives:
        entry = best.get(o.column)
        if entry is not None:
            picks.append((f"best {units.quantity(o.column)}", int(entry["id"])))
    table = run.pareto
    feasible = np.asarray(table["feasible"], dtype=float) > 0
    ids = np.asarray(table["id"], dtype=np.int64)[feasible]
    if len(ids):
        L = log_objectives(run.objective_values(table)[feasible], run.maximize)
        span = L.max(axis=0) - L.min(axis=0)
        Z = (L - L.min(axis=0)) / np.where(span > 0, span, 1.0)
        order = np.argsort(np.linalg.norm(Z, axis=1), kind="stable")
        for i in order:
            picks.append(("near ideal", int(ids[i])))
    merged: dict[int, list[str]] = {}
    for role, design_id in picks:
        roles = merged.setdefault(design_id, [])
        if role not in roles and not (role == "near ideal" and roles):
            roles.append(role)
    return [("; ".join(roles), i) for i, roles in list(merged.items())[:n]]


def designs_table(run: Run, n: int = 10) -> Table:
    """The top designs with their varying hardware parameters and objectives (with units)."""
    picks = top_designs(run, n)
    params = [p.name for p in run.parameters]
    obj_units = [
        units.unit_for(c, run.pareto[c] if len(run.pareto) else None) for c in run.objective_columns
    ]
    headers = ["design", "role"]
    headers += [_param_header(p) for p in params]
    headers += [u.label for u in obj_units]
    rows = []
    for role, design_id in picks:
        i = run.row_index(design_id)
        row = [str(design_id), role]
        for p in params:
            v = run.evaluations[p][i]
            row.append(_fmt_value(v))
        for c, u in zip(run.objective_columns, obj_units, strict=True):
            row.append(f"{u(run.evaluations[c][i]):.4g}")
        rows.append(row)
    numeric = [True, False] + [run.evaluations[p].dtype.kind == "f" for p in params]
    numeric += [True] * len(obj_units)
    return Table(headers, rows, numeric)


def _param_header(name: str) -> str:
    q, u = units.HARDWARE_LABELS.get(name, (name, ""))
    return f"{q} ({u})" if u else q


def _fmt_value(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else f"{float(v):g}"
    return str(v)


def summary_items(run: Run) -> list[tuple[str, str]]:
    """Key facts of the run as (label, text)."""
    s = run.summary
    items = [
        ("experiment", run.name),
        ("algorithm", f"{run.algorithm} (seed {run.seed})"),
        ("workloads", ", ".join(run.workloads)),
        (
            "objectives",
            ", ".join(f"{o.column} ({'max' if o.maximize else 'min'})" for o in run.objectives),
        ),
        ("constraints", ", ".join(s.get("constraints") or []) or "none"),
        ("design space", f"{s.get('space_size', 0):,} designs"),
        (
            "evaluations",
            f"{s.get('evaluations', 0):,} ({s.get('feasible_evaluations', 0):,} feasible), "
            f"{s.get('generations', 0)} generations, stopped by {s.get('stopped_by', '?')}",
        ),
        ("Pareto front", f"{s.get('front_size', 0)} designs"),
        (
            "hypervolume",
            f"{float(s.get('hypervolume', 0.0)):.4f} (the run's own normalization, its first "
            "feasible front, as in its convergence figure; not comparable across runs)",
        ),
        ("wall time", f"{float(s.get('wall_time_s', 0.0)):.1f} s"),
    ]
    knee = s.get("knee")
    if knee:
        hw = knee["hardware"]
        objs = ", ".join(
            f"{units.quantity(c)} {_with_unit(c, v)}" for c, v in knee["objectives"].items()
        )
        items.append(
            (
                "knee point",
                f"design {knee['id']}: {hw['pe_rows']}x{hw['pe_cols']} {hw['dataflow']}, SRAM "
                f"{hw['ifmap_sram_kib']:g}/{hw['weight_sram_kib']:g}/{hw['ofmap_sram_kib']:g} "
                f"KiB, {hw['dram_bandwidth_gbps']:g} GB/s; {objs}",
            )
        )
    versions = s.get("versions") or {}
    if versions:
        items.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return items


def _with_unit(column: str, value: float) -> str:
    u = units.unit_for(column, [value])
    return f"{u(value):.4g} {u.unit}".strip()


def write_report(
    run: Run | str | Path,
    out: str | Path | None = None,
    *,
    fmt: str | None = None,
    design: int | None = None,
    top: int = 10,
    kinds: Sequence[str] | None = None,
) -> Path:
    """Write the report (default ``RUN_DIR/report.html``); returns its path."""
    run = load_run(run)
    if out is not None and fmt is None:
        suffix = Path(out).suffix.lower().lstrip(".")
        fmt = "md" if suffix in ("md", "markdown") else "html"
    fmt = fmt or "html"
    if fmt not in REPORT_FORMATS:
        raise InputError(f"expected one of {list(REPORT_FORMATS)}, got {fmt!r}", key="--format")
    path = Path(out) if out is not None else run.path / f"report.{fmt}"
    if top < 1:
        raise InputError("expected a positive number of designs", key="--top")
    figures = run_figures(run, design=design, kinds=kinds)
    table = designs_table(run, top)
    items = summary_items(run)
    chosen = run.design_id(design) if run.knee_id is not None or design is not None else None
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        text = _html(run, items, table, figures, chosen)
    else:
        folder = path.with_name(f"{path.stem}_figures")
        links = {}
        for stem, fig in figures.items():
            save_figure(fig, folder / f"{stem}.png", dpi=150)
            links[stem] = f"{folder.name}/{stem}.png"
        text = _markdown(run, items, table, links, chosen)
    rundir.write_atomic(path, text)
    return path


def _caption(stem: str, design: int | None) -> str:
    kind = stem.split("_")[0] if stem.startswith("layers_") else stem
    caption = KINDS[kind].caption if kind in KINDS else stem
    if stem.startswith("layers_"):
        caption = caption.replace("the design", f"the design on {stem[len('layers_') :]}")
    if kind in ("layers", "breakdown", "roofline") and design is not None:
        caption = caption.replace("the design", f"design {design}")
    return caption


def _png_base64(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0}
th,td{padding:.25em .6em;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.summary th{width:11em}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}.muted{color:#777;font-size:.85em}
"""


def _html(run: Run, items, table: Table, figures, design: int | None) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>evodse report: {e(run.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(run.name)}</h1>",
        f'<p class="muted">Run directory <code>{e(str(run.path))}</code>; report written '
        f"{e(_now())}.</p>",
        "<h2>Summary</h2>",
        '<table class="summary">',
    ]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in items]
    parts.append("</table>")
    parts.append(f"<h2>Top designs ({len(table.rows)})</h2>")
    parts.append("<table><thead><tr>")
    parts += [f"<th>{e(h)}</th>" for h in table.headers]
    parts.append("</tr></thead><tbody>")
    for row in table.rows:
        cells = [
            f'<td class="num">{e(c)}</td>' if num else f"<td>{e(c)}</td>"
            for c, num in zip(row, table.numeric, strict=True)
        ]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    parts.append("<h2>Figures</h2>")
    for stem, fig in figures.items():
        parts.append(
            f'<figure id="{e(stem)}"><img alt="{e(stem)}" src="data:image/png;base64,'
            f'{_png_base64(fig)}"><figcaption><b>{e(stem)}</b>: {e(_caption(stem, design))}'
            "</figcaption></figure>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _markdown(run: Run, items, table: Table, links, design: int | None) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"# {run.name}", "", f"Run directory `{run.path}`; report written {_now()}.", ""]
    lines += ["## Summary", "", "| | |", "|---|---|"]
    lines += [f"| {cell(k)} | {cell(v)} |" for k, v in items]
    lines += ["", f"## Top designs ({len(table.rows)})", ""]
    lines.append("| " + " | ".join(cell(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in table.numeric) + "|")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    lines += ["", "## Figures", ""]
    for stem, link in links.items():
        lines += [f"![{stem}]({link})", "", f"*{stem}*: {_caption(stem, design)}", ""]
    return "\n".join(lines)


def _now() -> str:
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


__all__ = ["designs_table", "summary_items", "top_designs", "write_report"]
