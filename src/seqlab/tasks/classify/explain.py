"""Which words drove a text classifier's prediction: ``explain`` and ``explain_many``.

Three methods, each a registered function (:data:`METHODS`):

- ``ig``: integrated gradients (Captum's ``LayerIntegratedGradients``) of the label's
  probability, from a baseline where every token is the pad token (whose embedding is
  zero) to the text. For the ensemble the path moves the recurrent members' embeddings
  and the TF-IDF part's feature values together, so the attributions of both parts add up
  to the blend's ``p(x) − p(baseline)``; the completeness error is reported.
- ``weights``: the linear baselines' exact contributions. Each n-gram feature adds
  ``value × (w_label − mean of the other labels' w)`` to the label's score margin (which
  is what decides the softmax), and its share goes back to the tokens it was made from.
  They sum exactly to the margin minus the intercepts' margin.
- ``occlusion``: for any kind, the fall of the label's probability when a token (or a
  window of tokens) is deleted.

The tokens are those the model reads of the text, each with its characters in the
original text (:func:`seqlab.text.spans.token_spans`). A text longer than the model
reads (its ``max_length`` tokens) is cut, and the explanation counts what was cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.errors import DataError
from seqlab.explain.explanation import Explanation, TokenAttribution
from seqlab.explain.integrated import DEFAULT_STEPS, integrated_gradients
from seqlab.explain.occlusion import KeptProba, occlusion
from seqlab.explain.options import TOKEN_LIMIT, check_steps_and_window, choose_method
from seqlab.registry import Registry
from seqlab.tasks.classify.baselines.common import TEXT_CHAR_LIMIT
from seqlab.text.spans import Span, token_spans
from seqlab.text.vocab import PAD_ID

# texts explained together by integrated gradients (each is ``steps`` rows of the batch)
IG_BATCH = 16
_WORDS = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")


# ---- what a model reads -------------------------------------------------------------


@dataclass
class Reading:
    """The tokens a classifier reads of one text (with their spans) and how many it cut."""

    text: str
    spans: list[Span]
    cut: int

    @property
    def tokens(self) -> list[str]:
        return [s.token for s in self.spans]


def read(clf: Any, text: str) -> Reading:
    """What ``clf`` reads of ``text``: its preprocessed tokens, or for a model that reads
    raw text (MiniLM) the words and punctuation marks, up to its token limit."""
    text = str(text)
    pipeline = getattr(clf, "pipeline_", None)
    if pipeline is not None:
        spans = token_spans(pipeline, text[:TEXT_CHAR_LIMIT])
    else:
        spans = [Span(m.group(), m.start(), m.end())
                 for m in _WORDS.finditer(text[:TEXT_CHAR_LIMIT])]
    limit = int(getattr(clf, "max_length_", None) or getattr(clf, "max_length", None)
                or TOKEN_LIMIT)
    return Reading(text, spans[:limit], max(0, len(spans) - limit))


def kept_proba(clf: Any, reading: Reading) -> KeptProba:
    """The model's probabilities for variants of ``reading`` that keep some tokens."""
    tokens = reading.tokens
    if hasattr(clf, "proba_of_tokens"):
        return lambda kept: clf.proba_of_tokens([[tokens[i] for i in k] for k in kept])

    def on_text(kept: Sequence[Sequence[int]]) -> np.ndarray:
        texts = []
        for k in kept:
            keep = set(k)
            texts.append(" ".join(reading.text[s.start:s.end] for i, s in
                                  enumerate(reading.spans) if i in keep))
        return clf.predict_proba(texts)

    return on_text


# ---- integrated gradients: each kind as one differentiable function ----------------


@dataclass
class Graph:
    """A classifier over a batch of token lists as a function Captum can integrate:
    ``proba(*inputs)`` gives ``[B, k]`` probabilities, ``layers`` are the layers whose
    outputs move from the baselines' to the inputs', and ``to_tokens`` turns their
    attributions into one score per token for row ``row``."""

    inputs: list[torch.Tensor]
    baselines: list[torch.Tensor]
    layers: list[nn.Module]
    proba: Callable[..., torch.Tensor]
    to_tokens: Callable[[list[torch.Tensor], int], np.ndarray]


def _tiled(tensor: torch.Tensor, rows: int) -> torch.Tensor:
    """``tensor`` repeated to ``rows`` rows (Captum stacks the path's steps batch-wise)."""
    return tensor.repeat(rows // tensor.shape[0], *([1] * (tensor.dim() - 1)))


def _recurrent_graph(clf: Any, token_lists: Sequence[Sequence[str]]) -> Graph:
    """One torch classifier (recurrent or averaged): the embedding layer."""
    from seqlab.text.batching import pad_ids

    ids, lengths = pad_ids([clf.vocab_.encode(t, clf.max_length_) for t in token_lists])
    ids_t, lengths_t = torch.from_numpy(ids), torch.from_numpy(lengths)
    module = clf.module_.eval()

    def proba(batch_ids: torch.Tensor) -> torch.Tensor:
        return torch.softmax(module(batch_ids, _tiled(lengths_t, len(batch_ids))), dim=-1)

    def to_tokens(attributions: list[torch.Tensor], row: int) -> np.ndarray:
        return attributions[0][row, :lengths[row]].sum(-1).double().numpy()

    return Graph([ids_t], [torch.full_like(ids_t, PAD_ID)], [module.embedding], proba,
                 to_tokens)


def _members_graph(members: Sequence[Any], token_lists: Sequence[Sequence[str]]) -> Graph:
    """The mean of several torch classifiers' probabilities."""
    graphs = [_recurrent_graph(m, token_lists) for m in members]

    def proba(*inputs: torch.Tensor) -> torch.Tensor:
        return torch.stack([g.proba(x) for g, x in zip(graphs, inputs, strict=True)]).mean(0)

    def to_tokens(attributions: list[torch.Tensor], row: int) -> np.ndarray:
        return sum(g.to_tokens([a], row) for g, a in zip(graphs, attributions, strict=True))

    return Graph([g.inputs[0] for g in graphs], [g.baselines[0] for g in graphs],
                 [g.layers[0] for g in graphs], proba, to_tokens)


def feature_shares(clf: Any, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear model's features of one token list: their columns, values, and
    ``shares [features, tokens]``, each row the part of that feature owed to each token
    (a word n-gram is shared by its words, a feature seen twice by both places)."""
    x = clf.features_of_tokens([tokens])
    cols, values = x.indices.astype(np.int64), x.data.astype(np.float64)
    row_of = {int(c): i for i, c in enumerate(cols)}
    shares = np.zeros((len(cols), len(tokens)))
    offset = 0
    for name, vectorizer in clf.vectorizers_.items():
        vocabulary = vectorizer.vocabulary_
        if name == "word":
            low, high = vectorizer.ngram_range
            for n in range(low, high + 1):
                for i in range(len(tokens) - n + 1):
                    col = vocabulary.get(" ".join(tokens[i:i + n]))
                    if col is not None and offset + col in row_of:
                        shares[row_of[offset + col], i:i + n] += 1.0 / n
        else:
            analyse = vectorizer.build_analyzer()
            for j, token in enumerate(tokens):
                for gram in analyse(token):
                    col = vocabulary.get(gram)
                    if col is not None and offset + col in row_of:
                        shares[row_of[offset + col], j] += 1.0
        offset += len(vocabulary)
    totals = shares.sum(1, keepdims=True)
    return cols, values, shares / np.where(totals > 0, totals, 1.0)


def _linear_graph(clf: Any, token_lists: Sequence[Sequence[str]]) -> Graph:
    """A TF-IDF or count model: its (non-zero) feature values, moved from zero."""
    rows = [feature_shares(clf, t) for t in token_lists]
    width = max(1, max(len(cols) for cols, _, _ in rows))
    k = len(clf.classes_)
    values = torch.zeros((len(rows), width), dtype=torch.float64)
    weights = torch.zeros((len(rows), width, k), dtype=torch.float64)
    for r, (cols, vals, _) in enumerate(rows):
        values[r, :len(cols)] = torch.from_numpy(vals)
        weights[r, :len(cols)] = torch.from_numpy(clf.weight_[:, cols].T.astype(np.float64))
    bias = torch.from_numpy(clf.bias_.astype(np.float64))
    through = nn.Identity()

    def proba(batch_values: torch.Tensor) -> torch.Tensor:
        scores = torch.einsum("bf,bfk->bk", through(batch_values),
                              _tiled(weights, len(batch_values)))
        return torch.softmax(scores + bias, dim=-1).float()

    def to_tokens(attributions: list[torch.Tensor], row: int) -> np.ndarray:
        cols, _, shares = rows[row]
        return attributions[0][row, :len(cols)].double().numpy() @ shares

    return Graph([values], [torch.zeros_like(values)], [through], proba, to_tokens)


def _tempered(p: torch.Tensor, temperature: float) -> torch.Tensor:
    return torch.softmax(torch.log(p.clamp(min=1e-12)) / temperature, dim=-1)


def _ensemble_graph(clf: Any, token_lists: Sequence[Sequence[str]]) -> Graph:
    """The blend ``Σ w · softmax(log p / T)`` of the parts with a weight above 0."""
    builders = {"recurrent": lambda: _members_graph(clf.recurrent_.members_, token_lists),
                "linear": lambda: _linear_graph(clf.linear_, token_lists)}
    used = [(builders[name](), t, w) for name, t, w in
            zip(("recurrent", "linear"), clf.temperatures_, clf.weights_, strict=True)
            if w > 0]
    sizes = [len(g.inputs) for g, _, _ in used]

    def split(items: Sequence[Any]) -> list[list[Any]]:
        out, start = [], 0
        for size in sizes:
            out.append(list(items[start:start + size]))
            start += size
        return out

    def proba(*inputs: torch.Tensor) -> torch.Tensor:
        return sum(w * _tempered(g.proba(*x), t)
                   for (g, t, w), x in zip(used, split(inputs), strict=True))

    def to_tokens(attributions: list[torch.Tensor], row: int) -> np.ndarray:
        return sum(g.to_tokens(a, row)
                   for (g, _, _), a in zip(used, split(attributions), strict=True))

    return Graph([x for g, _, _ in used for x in g.inputs],
                 [x for g, _, _ in used for x in g.baselines],
                 [layer for g, _, _ in used for layer in g.layers], proba, to_tokens)


# bundle format → how that kind becomes a Graph; a kind not here has no ``ig``
GRAPHS: dict[str, Callable[[Any, Sequence[Sequence[str]]], Graph]] = {
    "seqlab.text_classifier": _recurrent_graph,
    "seqlab.linear_classifier": _linear_graph,
    "seqlab.ensemble_classifier": _ensemble_graph,
}


# ---- the methods -------------------------------------------------------------------


@dataclass
class Request:
    """What to explain: the readings, the label index of each, and the options."""

    readings: list[Reading]
    targets: list[int]
    steps: int = DEFAULT_STEPS
    window: int = 1


MethodFn = Callable[[Any, Request], list[dict[str, Any]]]
METHODS: Registry[MethodFn] = Registry("explanation method")
# bundle format → its methods, the first its default
KIND_METHODS: dict[str, tuple[str, ...]] = {
    "seqlab.text_classifier": ("ig", "occlusion"),
    "seqlab.ensemble_classifier": ("ig", "occlusion"),
    "seqlab.linear_classifier": ("weights", "ig", "occlusion"),
    "seqlab.transformer_classifier": ("occlusion",),
}


@METHODS.register("ig")
def _integrated(clf: Any, request: Request) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(request.readings), IG_BATCH):
        readings = request.readings[start:start + IG_BATCH]
        targets = request.targets[start:start + IG_BATCH]
        graph = GRAPHS[clf.bundle_kind](clf, [r.tokens for r in readings])
        result = integrated_gradients(graph.proba, graph.layers, tuple(graph.inputs),
                                      tuple(graph.baselines), targets, request.steps)
        out += [{"scores": graph.to_tokens(result.layers, row), "value": result.values[row],
                 "reference": result.references[row], "delta": result.deltas[row],
                 "steps": request.steps} for row in range(len(readings))]
    return out


@METHODS.register("weights")
def _weights(clf: Any, request: Request) -> list[dict[str, Any]]:
    out = []
    others = np.ones(len(clf.classes_)) / max(1, len(clf.classes_) - 1)
    for reading, target in zip(request.readings, request.targets, strict=True):
        contrast = -others.copy()
        contrast[target] = 1.0  # the label's score minus the mean of the others'
        cols, values, shares = feature_shares(clf, reading.tokens)
        contributions = values * (contrast @ clf.weight_[:, cols].astype(np.float64))
        intercept = float(contrast @ clf.bias_.astype(np.float64))
        out.append({"scores": contributions @ shares,
                    "value": float(contributions.sum()) + intercept,
                    "reference": intercept, "delta": None, "steps": None})
    return out


@METHODS.register("occlusion")
def _occlusion(clf: Any, request: Request) -> list[dict[str, Any]]:
    out = []
    for reading, target in zip(request.readings, request.targets, strict=True):
        scores, value = occlusion(kept_proba(clf, reading), len(reading.spans), target,
                                  request.window)
        out.append({"scores": scores, "value": value, "reference": None, "delta": None,
                    "steps": None})
    return out


# method → what its attributions are in, for a label
SCORE_NAMES: dict[str, str] = {
    "ig": "probability of {label!r}",
    "weights": "score margin of {label!r} (its score minus the mean of the other labels')",
    "occlusion": "fall in the probability of {label!r} when the token is deleted",
}


def methods_for(clf: Any) -> tuple[str, ...]:
    """The methods that explain ``clf``, its default first."""
    return KIND_METHODS.get(getattr(clf, "bundle_kind", ""), ("occlusion",))


def _target(clf: Any, label: str | None, proba: np.ndarray) -> int:
    labels = clf.labels_
    if label is None:
        return int(proba.argmax())
    if str(label) not in labels:
        raise DataError(f"label {label!r} is not one of the model's labels: "
                        f"{', '.join(labels)}")
    return labels.index(str(label))


def explain_many(clf: Any, texts: Sequence[str], labels: Sequence[str | None] | None = None,
                 method: str = "auto", steps: int = DEFAULT_STEPS, window: int = 1
                 ) -> list[Explanation]:
    """One explanation per text, for its label in ``labels`` (None: the predicted one)."""
    clf._check_fitted()
    method = choose_method(method, methods_for(clf))
    check_steps_and_window(steps, window)
    texts = [str(t) for t in texts]
    labels = list(labels) if labels is not None else [None] * len(texts)
    if len(labels) != len(texts):
        raise DataError(f"{len(texts)} texts but {len(labels)} labels to explain")
    readings = [read(clf, t) for t in texts]
    probas = [kept_proba(clf, r)([list(range(len(r.spans)))])[0] for r in readings]
    targets = [_target(clf, label, p) for label, p in zip(labels, probas, strict=True)]
    live = [i for i, r in enumerate(readings) if r.spans]
    found = METHODS.get(method)(clf, Request([readings[i] for i in live],
                                             [targets[i] for i in live], steps, window))
    results: dict[int, dict[str, Any]] = dict(zip(live, found, strict=True))
    explanations = []
    for i, (reading, target, proba) in enumerate(zip(readings, targets, probas, strict=True)):
        label = clf.labels_[target]
        result = results.get(i, {"scores": np.zeros(0), "value": float(proba[target]),
                                 "reference": None, "delta": None, "steps": None})
        notes = []
        if not reading.spans:
            notes.append("the text is empty after preprocessing, so no word drove the "
                          "prediction: the model read one unknown token")
        if reading.cut:
            notes.append(f"the model reads {len(reading.spans)} tokens: {reading.cut} "
                         "more were cut and play no part")
        explanations.append(Explanation(
            text=reading.text, target=label, method=method,
            score=SCORE_NAMES[method].format(label=label), value=float(result["value"]),
            tokens=[TokenAttribution(s.token, s.start, s.end, float(a))
                    for s, a in zip(reading.spans, result["scores"], strict=True)],
            reference=result["reference"], delta=result["delta"], steps=result["steps"],
            tokens_cut=reading.cut, notes=notes,
            extra={"label": label, "probabilities": {name: float(p) for name, p in
                                                     zip(clf.labels_, proba, strict=True)}}))
    return explanations


def explain(clf: Any, text: str, label: str | None = None, method: str = "auto",
            steps: int = DEFAULT_STEPS, window: int = 1) -> Explanation:
    """Which tokens of ``text`` drove ``clf`` to ``label`` (None: its prediction)."""
    return explain_many(clf, [text], [label], method, steps, window)[0]
