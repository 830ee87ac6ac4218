"""An explanation: how much each token of a text pushed one output, and its views.

Every explainer (integrated gradients, a linear model's weights, occlusion) and every task
returns an :class:`Explanation`. Its ``tokens`` are the tokens the model read, each with
its characters in the original text and its attribution (positive: pushed towards the
explained output). Views: :meth:`Explanation.to_dict` (the JSON of the CLI and the
server), :func:`terminal_text` (coloured words for the shell) and :func:`html_marked`
(highlighted words for the report and the page).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text


@dataclass(frozen=True)
class TokenAttribution:
    """One token the model read: its text, its characters ``start:end`` in the original
    text (None where it could not be placed) and its attribution."""

    token: str
    start: int | None
    end: int | None
    attribution: float


@dataclass
class Explanation:
    """Which tokens of ``text`` drove the output ``target`` (a label, a tag, a token).

    ``score`` says what the attributions are in (for example the probability of the
    label); ``value`` is that score for the text and ``reference`` its value at the
    explainer's baseline (the text with every token padded, or deleted), where it has one.
    ``delta`` is integrated gradients' completeness error: the sum of the attributions
    minus ``value − reference``.
    """

    text: str
    target: str
    method: str
    score: str
    value: float
    tokens: list[TokenAttribution]
    reference: float | None = None
    delta: float | None = None
    steps: int | None = None
    tokens_cut: int = 0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON-ready data."""
        data = asdict(self)
        data["tokens"] = [asdict(t) for t in self.tokens]
        data |= data.pop("extra")
        return data

    def top(self, k: int, sign: int = 1) -> list[TokenAttribution]:
        """The ``k`` tokens with the largest attribution (``sign=-1``: the most negative)."""
        ranked = sorted(self.tokens, key=lambda t: -sign * t.attribution)
        return [t for t in ranked[:k] if sign * t.attribution > 0]


def marked_stretches(explanation: Explanation) -> list[tuple[str, float | None]]:
    """The original text cut into stretches, each with the summed attribution of the
    tokens that came from it (None for text no token came from)."""
    text = explanation.text
    by_span: dict[tuple[int, int], float] = {}
    for t in explanation.tokens:
        if t.start is not None and t.end is not None:
            by_span[(t.start, t.end)] = by_span.get((t.start, t.end), 0.0) + t.attribution
    stretches: list[tuple[str, float | None]] = []
    cursor = 0
    for (start, end), value in sorted(by_span.items()):
        if start < cursor:  # overlapping spans (a fallback placement): keep the first
            continue
        if start > cursor:
            stretches.append((text[cursor:start], None))
        stretches.append((text[start:end], value))
        cursor = end
    if cursor < len(text):
        stretches.append((text[cursor:], None))
    return stretches


def _strength(value: float, scale: float) -> float:
    return min(1.0, abs(value) / scale) if scale > 0 else 0.0


def _scale(explanation: Explanation) -> float:
    return max((abs(v) for _, v in marked_stretches(explanation) if v is not None),
               default=0.0)


def terminal_text(explanation: Explanation) -> Text:
    """The text with each word coloured: green pushed towards the target, red away, the
    stronger the more."""
    scale = _scale(explanation)
    out = Text()
    for stretch, value in marked_stretches(explanation):
        if value is None or _strength(value, scale) < 0.05:
            out.append(stretch)
            continue
        level = round(60 + 160 * _strength(value, scale))
        colour = f"rgb(0,{level},0)" if value > 0 else f"rgb({level},0,0)"
        out.append(stretch, style=f"bold white on {colour}")
    return out


def html_marked(explanation: Explanation) -> str:
    """The text as HTML, each word's background green (towards the target) or red (away),
    its opacity the attribution's size; the value is in the title."""
    scale = _scale(explanation)
    parts = []
    for stretch, value in marked_stretches(explanation):
        if value is None:
            parts.append(html.escape(stretch))
            continue
        alpha = round(0.85 * _strength(value, scale), 3)
        rgb = "26,158,85" if value > 0 else "214,39,40"
        parts.append(f'<mark style="background:rgba({rgb},{alpha})" '
                     f'title="{value:+.4f}">{html.escape(stretch)}</mark>')
    return "".join(parts)


def markdown_marked(explanation: Explanation, k: int = 3) -> str:
    """The text for Markdown: the ``k`` stretches that push most towards the target in
    bold, the ``k`` that push most away struck through."""
    stretches = marked_stretches(explanation)
    valued = sorted((v, i) for i, (_, v) in enumerate(stretches) if v is not None)
    pushes = {i for v, i in valued[-k:] if v > 0}
    pulls = {i for v, i in valued[:k] if v < 0}
    out = []
    for i, (stretch, _) in enumerate(stretches):
        piece = stretch.replace("|", "\\|").replace("\n", " ")
        if i in pushes and piece.strip():
            piece = f"**{piece.strip()}**"
        elif i in pulls and piece.strip():
            piece = f"~~{piece.strip()}~~"
        out.append(piece)
    return "".join(out)


def _shown(token: str) -> str:
    """A token as the shell shows it: quoted where it is (or holds) white space."""
    return repr(token) if not token.strip() or token != token.strip() else token


def summary_lines(explanation: Explanation, top: int = 5) -> list[str]:
    """What the shell prints under the coloured text: the sum check and the tokens that
    push most towards and away from the target."""
    e = explanation
    total = sum(t.attribution for t in e.tokens)
    lines = [f"attributions: {e.score}; method {e.method}"
             + (f", {e.steps} steps" if e.steps else "")]
    if e.reference is not None:
        lines.append(f"sum {total:+.4f} = {e.value:.4f} for the text − {e.reference:.4f} "
                     "at the baseline" + (f" (completeness error {e.delta:+.2e})"
                                          if e.delta is not None else ""))
    for sign, what in ((1, "towards"), (-1, "away from")):
        ranked = e.top(top, sign)
        if ranked:
            lines.append(f"{what} {_shown(e.target)}: " + ", ".join(
                f"{_shown(t.token)} {t.attribution:+.3f}" for t in ranked))
    return lines + list(e.notes)


def show(console: Console, explanation: Explanation, header: str, top: int = 5) -> None:
    """Print ``header``, the coloured text and the summary lines (the CLI's output)."""
    console.print(header, highlight=False)
    console.print(terminal_text(explanation))
    for line in summary_lines(explanation, top):
        console.print(f"  {line}", highlight=False, markup=False)
