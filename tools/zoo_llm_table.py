"""Write the decoder table of docs/zoo.md from the zoo: ``python tools/zoo_llm_table.py``.

Every number comes from :mod:`evodse.workload.zoo_llm` (the builders and the published counts
they cite); ``tests/test_llm.py`` checks that the section in docs/zoo.md is current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from evodse.workload.zoo import zoo_network
from evodse.workload.zoo_llm import CONFIGS, untied_embedding_params

DOC = Path(__file__).resolve().parents[1] / "docs" / "zoo.md"
BEGIN, END = "<!-- BEGIN llm (generated) -->", "<!-- END llm (generated) -->"


def _pct(value: float, reference: float) -> str:
    return f"{(value / reference - 1) * 100:+.2f}%".replace("-", "\u2212")


def table() -> str:
    """The generated section (markdown, between the markers)."""
    shapes = [
        "| workload | hidden | layers | heads | KV heads | FFN | vocab | experts | window |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    counts = [
        "| workload | params (operations) | + untied embedding | = total | published "
        "| model card | diff | active params / token | published active | diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    macs = [
        "| workload | MACs / token (decode, 1 key) | 2N rule: active params less the untied "
        "embedding | diff | MACs per cached token |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, c in CONFIGS.items():
        experts = f"top-{c.top_k} of {c.experts}" if c.experts > 1 else "—"
        window = f"{c.window:,}" if c.window else "—"
        shapes.append(
            f"| `{name}` | {c.hidden:,} | {c.layers} | {c.heads} | {c.kv_heads} | {c.ffn:,} "
            f"| {c.vocab:,} | {experts} | {window} |"
        )
        net = zoo_network(name, phase="decode", kv_len=0)
        embedding = untied_embedding_params(c)
        total = net.params + embedding
        active = net.active_params + embedding
        published_active = c.published_active_params or c.published_params
        per_cached = zoo_network(name, phase="decode", kv_len=1).macs - net.macs
        card_active = c.card_active_params or c.card_params
        counts.append(
            f"| `{name}` | {net.params:,} | {embedding:,} | {total:,} | {c.published_params:,} "
            f"| {c.card_params / 1e9:g} B | {_pct(total, c.card_params)} | {active:,} "
            f"| {card_active / 1e9:g} B | {_pct(active, card_active)} |"
        )
        rule = published_active - embedding
        macs.append(
            f"| `{name}` | {net.macs:,} | {rule:,} | {_pct(net.macs, rule)} | {per_cached:,} |"
        )
    sources = [f"* `{name}`: {c.reference}." for name, c in CONFIGS.items()]
    return "\n".join(
        [
            BEGIN,
            *shapes,
            "",
            *counts,
            "",
            *macs,
            "",
            "Sources (published counts are the HuggingFace safetensors totals):",
            "",
            *sources,
            END,
        ]
    )


def current(text: str) -> str:
    """``text`` (docs/zoo.md) with the generated section replaced."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + table() + tail


def main() -> int:
    DOC.write_text(current(DOC.read_text("utf-8")), "utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
