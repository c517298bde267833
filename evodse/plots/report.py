"""``evodse report``: one page per run with the summary, the top designs and every figure,
and the simulator validation when the run directory holds one (``validation_summary.json``,
``validation.csv``, ``validation.png`` of ``evodse validate`` or the ``refine`` key).

HTML is self-contained (inline CSS, figures as embedded PNG). Markdown links PNG files written
to a ``<report stem>_figures/`` folder next to it (and ``validation.png`` where it is).
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.hardware.template import design_summary
from evodse.plots import units
from evodse.plots.figures import KINDS, run_figures, save_figure
from evodse.plots.rundata import Run, load_run, log_objectives
from evodse.plots.rundata import Table as CsvTable
from evodse.runfiles import (
    VALIDATION_CSV,
    VALIDATION_FIGURE,
    VALIDATION_SUMMARY,
    check_out_dir,
    write_atomic,
)

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
    q, u = units.hardware_labels().get(name, (name, ""))
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
                f"design {knee['id']}: {design_summary(hw)}; {objs}",
            )
        )
    versions = s.get("versions") or {}
    if versions:
        items.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return items


@dataclass(frozen=True)
class ValidationSection:
    """What the report shows of a run's simulator validation."""

    items: list[tuple[str, str]]
    table: Table
    figure: Path | None  # validation.png, when written


#: validation.csv columns in the report's table: (column, header)
_VALIDATION_COLUMNS = (
    ("design_id", "design"),
    ("workload", "workload"),
    ("simulated_layers", "simulated layers"),
    ("model_latency_s", "model latency (s)"),
    ("simulator_latency_s", "simulator latency (s)"),
    ("cycles_error", "error (whole workload)"),
    ("gemm_error", "error (simulated layers)"),
)


def validation_section(run: Run) -> ValidationSection | None:
    """The validation files of ``run`` as report content (None when there are none)."""

    summary_path = run.path / VALIDATION_SUMMARY
    if not summary_path.is_file():
        return None
    try:
        s = json.loads(summary_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        raise InputError(f"cannot parse ({lines[0]})", source=str(summary_path)) from None
    try:
        err, sims, tau = s["error"], s["simulations"], s["kendall_tau"]["latency"]
        leave = s["front"]["leave_front"]

        def pct(key: str, stat: str) -> str:
            value = err[key][stat]
            return "n/a" if value is None else f"{100 * float(value):.1f}%"

        items = [
            ("simulator", f"{s['backend']} {s.get('scalesim_version', '')}".strip()),
            ("designs", ", ".join(str(int(d)) for d in s["designs"])),
            (
                "|error|, simulated layers",
                f"median {pct('gemm', 'median_abs')}, max {pct('gemm', 'max_abs')}",
            ),
            (
                "|error|, whole workload",
                f"median {pct('total', 'median_abs')}, max {pct('total', 'max_abs')}",
            ),
            ("|error|, compute only", f"max {pct('compute', 'max_abs')}"),
            (
                "latency order",
                f"Kendall tau {'n/a' if tau is None else f'{float(tau):.3f}'}, "
                f"{'preserved' if s['order_preserved'] else 'changed'}; leave the front: "
                f"{', '.join(str(i) for i in leave) or 'none'}",
            ),
            (
                "simulations",
                f"{sims['simulated']} run, {sims['cached']} cached, {sims['failed']} failed, "
                f"{sims['skipped_layers']} layer(s) over max_cycles",
            ),
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"unexpected content ({type(exc).__name__}: {exc})", source=str(summary_path)
        ) from None
    csv_path = run.path / VALIDATION_CSV
    if not csv_path.is_file():
        raise InputError(f"missing (its {VALIDATION_SUMMARY} is there)", source=str(csv_path))
    rows = CsvTable.read(csv_path)
    for column, _ in _VALIDATION_COLUMNS:
        if column not in rows:
            raise InputError("missing column", source=rows.source, key=column)
    body = []
    for i in range(len(rows)):
        cells = [str(rows[c][i]) for c, _ in _VALIDATION_COLUMNS]
        cells[0] = _fmt_value(rows["design_id"][i])
        cells[2] = f"{_fmt_value(rows['simulated_layers'][i])}/{_fmt_value(rows['gemm_layers'][i])}"
        for j in (3, 4):
            cells[j] = _number(rows[_VALIDATION_COLUMNS[j][0]][i], "{:.4g}")
        for j in (5, 6):
            cells[j] = _number(rows[_VALIDATION_COLUMNS[j][0]][i], "{:+.1%}")
        body.append(cells)
    table = Table([h for _, h in _VALIDATION_COLUMNS], body, [True, False] + [True] * 5)
    figure = run.path / VALIDATION_FIGURE
    return ValidationSection(items, table, figure if figure.is_file() else None)


def _number(value: Any, fmt: str) -> str:
    try:
        return fmt.format(float(value))
    except ValueError:
        return "-"  # an empty cell: not simulated


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
    if path.is_dir():
        raise InputError(
            "is a folder; expected the report's file name", source=str(path), key="--out"
        )
    check_out_dir(path.parent, key="--out", what="the report's folder")
    if top < 1:
        raise InputError("expected a positive number of designs", key="--top")
    validation = validation_section(run)
    figures = run_figures(run, design=design, kinds=kinds)
    table = designs_table(run, top)
    items = summary_items(run)
    chosen = run.design_id(design) if run.knee_id is not None or design is not None else None
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        text = _html(run, items, table, figures, chosen, validation)
    else:
        folder = path.with_name(f"{path.stem}_figures")
        links = {}
        for stem, fig in figures.items():
            save_figure(fig, folder / f"{stem}.png", dpi=150)
            links[stem] = f"{folder.name}/{stem}.png"
        if validation is not None and validation.figure is not None:
            figure = os.path.relpath(validation.figure.resolve(), path.parent.resolve())
            links = {**links, "validation": Path(figure).as_posix()}
        text = _markdown(run, items, table, links, chosen, validation)
    write_atomic(path, text)
    return path


def _caption(stem: str, design: int | None) -> str:
    if stem == "validation":
        return "model versus simulator cycles, and the latency ranks (evodse validate)"
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


def _html(
    run: Run, items, table: Table, figures, design: int | None, validation: ValidationSection | None
) -> str:
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
    parts.append(_html_table(table))
    parts.append("<h2>Figures</h2>")
    images = {stem: _png_base64(fig) for stem, fig in figures.items()}
    for stem, data in images.items():
        parts.append(_html_figure(stem, data, design))
    if validation is not None:
        parts.append("<h2>Validation with a simulator</h2>")
        parts.append('<table class="summary">')
        parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in validation.items]
        parts.append("</table>")
        parts.append(_html_table(validation.table))
        if validation.figure is not None:
            data = base64.b64encode(validation.figure.read_bytes()).decode("ascii")
            parts.append(_html_figure("validation", data, design))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_figure(stem: str, png_base64: str, design: int | None) -> str:
    e = html.escape
    return (
        f'<figure id="{e(stem)}"><img alt="{e(stem)}" src="data:image/png;base64,'
        f'{png_base64}"><figcaption><b>{e(stem)}</b>: {e(_caption(stem, design))}'
        "</figcaption></figure>"
    )


def _html_table(table: Table) -> str:
    e = html.escape
    parts = ["<table><thead><tr>", *(f"<th>{e(h)}</th>" for h in table.headers)]
    parts.append("</tr></thead><tbody>")
    for row in table.rows:
        cells = [
            f'<td class="num">{e(c)}</td>' if num else f"<td>{e(c)}</td>"
            for c, num in zip(row, table.numeric, strict=True)
        ]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def _markdown(
    run: Run, items, table: Table, links, design: int | None, validation: ValidationSection | None
) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    def md_table(t: Table) -> list[str]:
        lines = ["| " + " | ".join(cell(h) for h in t.headers) + " |"]
        lines.append("|" + "|".join("---:" if n else "---" for n in t.numeric) + "|")
        return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in t.rows]

    lines = [f"# {run.name}", "", f"Run directory `{run.path}`; report written {_now()}.", ""]
    lines += ["## Summary", "", "| | |", "|---|---|"]
    lines += [f"| {cell(k)} | {cell(v)} |" for k, v in items]
    lines += ["", f"## Top designs ({len(table.rows)})", ""]
    lines += md_table(table)
    lines += ["", "## Figures", ""]
    for stem, link in links.items():
        if stem != "validation":
            lines += [f"![{stem}]({link})", "", f"*{stem}*: {_caption(stem, design)}", ""]
    if validation is not None:
        lines += ["## Validation with a simulator", "", "| | |", "|---|---|"]
        lines += [f"| {cell(k)} | {cell(v)} |" for k, v in validation.items]
        lines += ["", *md_table(validation.table), ""]
        if "validation" in links:
            link = links["validation"]
            lines += [
                f"![validation]({link})",
                "",
                f"*validation*: {_caption('validation', design)}",
                "",
            ]
    return "\n".join(lines)


def _now() -> str:
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


__all__ = ["designs_table", "summary_items", "top_designs", "write_report"]
