"""The run report: ``report.md`` and a self-contained ``report.html`` (images inlined)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.artifacts import atomic_write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#f4f7fb;border-radius:8px;
padding:.7em 1.1em;min-width:8em}.card b{display:block;font-size:1.5em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.3em .7em;
text-align:right}th{background:#f4f7fb}td:first-child,th:first-child{text-align:left}
img{max-width:100%}.muted{color:#666;font-size:.9em}code{background:#f4f4f4;padding:0 .3em}
pre{background:#f8f8f8;padding:.7em;white-space:pre-wrap}
.marked{border:1px solid #e1e4ea;border-radius:6px;padding:.4em .8em;margin:.5em 0;
line-height:1.7}mark{border-radius:3px;padding:0 1px;color:inherit}
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


Table = tuple[list[str], list[list[Any]]]


@dataclass(frozen=True)
class Highlight:
    """One text with its words marked: a heading line, the HTML (marks already escaped
    and coloured) and the Markdown form."""

    heading: str
    html: str
    markdown: str


def classification_sections(metrics: dict[str, Any],
                            class_counts: dict[str, dict[str, int]] | None = None
                            ) -> dict[str, Any]:
    """Cards and tables of a classification report: headline metrics, per class, counts."""
    cards = [("accuracy", metrics["accuracy"]), ("macro-F1", metrics["macro_f1"]),
             ("weighted-F1", metrics["weighted_f1"]), ("examples", metrics["n"])]
    per_class = [[label, m["precision"], m["recall"], m["f1"], m["support"]]
                 for label, m in metrics["per_class"].items()]
    averages = [[f"{avg} avg", metrics[f"{avg}_precision"], metrics[f"{avg}_recall"],
                 metrics[f"{avg}_f1"], metrics["n"]] for avg in ("macro", "weighted")]
    tables: dict[str, Table] = {
        "Per class": (["class", "precision", "recall", "F1", "support"], per_class + averages)}
    counts = class_counts or {}
    labels = sorted({label for split in counts.values() for label in split})
    if labels:
        tables["Class distribution"] = (
            ["class", *counts], [[label, *(counts[s].get(label, 0) for s in counts)]
                                 for label in labels])
    return {"cards_title": "Test metrics", "cards": cards, "tables": tables}


def write_report(folder: Path, title: str, sections: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` in ``folder``; every task uses this one.

    ``sections`` holds: ``summary`` (list of lines), ``cards`` (headline name/value pairs
    under ``cards_title``), ``tables`` (caption → (header, rows)), ``images`` (caption →
    PNG path relative to folder), ``texts`` (caption → preformatted text, such as
    generated samples), ``highlights`` (caption → list of :class:`Highlight`, texts
    with marked words) and ``facts`` (key → value). A report written by a distributed
    run (rank 0 of several processes) says so among the facts.
    """
    from seqlab.training.distributed import world

    cards = sections.get("cards", [])
    cards_title = sections.get("cards_title", "Results")
    tables: dict[str, Table] = sections.get("tables", {})
    facts = [[k, v] for k, v in sections.get("facts", {}).items()]
    here = world()
    if here.distributed:
        facts.append(["processes", f"{here.size} (torch.distributed)"])

    md = [f"# {title}", "", *[f"- {line}" for line in sections.get("summary", [])], ""]
    if cards:
        md += [f"## {cards_title}", "",
               _md_table(["metric", "value"], [[name, value] for name, value in cards])]
    for caption, (header, rows) in tables.items():
        md += ["", f"## {caption}", "", _md_table(header, rows)]
    fence = "~~~~"
    for caption, text in sections.get("texts", {}).items():
        md += ["", f"## {caption}", "", fence + "text", text, fence]
    for caption, marked in sections.get("highlights", {}).items():
        md += ["", f"## {caption}", ""]
        md += [f"- {h.heading}: {h.markdown}" for h in marked] or ["(none)"]
    for caption, image in sections.get("images", {}).items():
        md += ["", f"## {caption}", "", f"![{caption}]({image})"]
    md += ["", "## Run facts", "", _md_table(["", ""], facts), ""]
    md_path = folder / "report.md"
    atomic_write_text(md_path, "\n".join(md))

    card_html = "".join(f'<div class="card">{html.escape(name)}<b>{_fmt(value)}</b></div>'
                        for name, value in cards)
    parts = [f"<h1>{html.escape(title)}</h1>",
             "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in sections.get("summary", []))
             + "</ul>"]
    if cards:
        parts.append(f'<h2>{html.escape(cards_title)}</h2><div class="cards">{card_html}</div>')
    for caption, (header, rows) in tables.items():
        parts.append(f"<h2>{html.escape(caption)}</h2>" + _html_table(header, rows))
    for caption, text in sections.get("texts", {}).items():
        parts.append(f"<h2>{html.escape(caption)}</h2><pre>{html.escape(text)}</pre>")
    for caption, marked in sections.get("highlights", {}).items():
        items = "".join(f'<div class="marked"><div class="muted">{html.escape(h.heading)}'
                        f"</div>{h.html}</div>" for h in marked) or "<p>(none)</p>"
        parts.append(f"<h2>{html.escape(caption)}</h2>{items}")
    for caption, image in sections.get("images", {}).items():
        data = base64.b64encode((folder / image).read_bytes()).decode("ascii")
        parts.append(f"<h2>{html.escape(caption)}</h2>"
                     f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">')
    parts.append("<h2>Run facts</h2>" + _html_table(["", ""], facts))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
    html_path = folder / "report.html"
    atomic_write_text(html_path, page)
    return md_path, html_path
