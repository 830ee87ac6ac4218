"""Are a tagger's and a language model's explanations faithful? Deletion curves on
CoNLL-2003 and tiny-shakespeare.

    python benchmarks/explain_faithfulness_tasks.py tag [--minutes 6] [--sentences 400]
    python benchmarks/explain_faithfulness_tasks.py lm [--minutes 6] [--prompts 400]

``tag``: the default entity tagger (``seqlab tag train``'s settings) trains on
``conll2003/train.txt`` within the budget, ``valid.txt`` choosing the epoch. In the first
test sentences that hold an entity, every token the tagger puts in an entity is explained
for its tag by integrated gradients and by occlusion. Then the k other tokens of the
sentence with the highest attribution are blanked (the explained token itself is never
blanked: the question is which context drove the tag), and for comparison k random other
tokens and the k with the lowest attribution; the table gives the mean fall of the tag's
probability (its CRF marginal).

``lm``: the default character language model (``seqlab lm train``'s settings) trains on
tiny-shakespeare (the last 10 % is validation) within the budget. At random places of the
validation text, the 100 characters before are the prompt and the model's most likely
next character is explained; the k prompt characters with the highest attribution are
deleted, against k random and the k lowest.

Both print AOPC (the mean fall over k = 1, 2, 3, 5), the top-1 ÷ random-1 ratio, the
median completeness error of integrated gradients relative to |f(x) − f(baseline)|, and
the time per explanation.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from explain_faithfulness import KS, ratio

from seqlab.config import apply_overrides
from seqlab.explain.explanation import Explanation
from seqlab.tasks.lm.config import LMConfig
from seqlab.tasks.lm.corpus import read_corpus
from seqlab.tasks.lm.explain import explain_next, next_probabilities
from seqlab.tasks.lm.model import LanguageModel
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import read_tagged
from seqlab.tasks.tag.explain import blanked, explain_text, read, tag_probabilities
from seqlab.tasks.tag.tagger import Tagger

from _common import SHARED, machine_line, markdown_table, require

# one explanation, the positions that may be taken out → the explained probability
# after taking out each given set of positions
Removal = Callable[[Explanation, Sequence[Sequence[int]]], np.ndarray]


def deletion_falls(explanations: Sequence[Explanation], candidates: Sequence[list[int]],
                   remove: Removal, order: str, rng: np.random.Generator) -> dict[int, float]:
    """The mean fall of the explained probability after taking out the k candidates
    chosen by ``order`` (top, random, lowest), for each k in KS."""
    falls: dict[int, list[float]] = {k: [] for k in KS}
    for e, pool in zip(explanations, candidates, strict=True):
        if not pool:
            continue
        scores = np.array([e.tokens[i].attribution for i in pool])
        ranked = {"top": np.argsort(-scores, kind="stable"),
                  "lowest": np.argsort(scores, kind="stable"),
                  "random": rng.permutation(len(pool))}[order]
        removed = [[pool[i] for i in ranked[:min(k, len(pool))]] for k in KS]
        for k, p in zip(KS, remove(e, removed), strict=True):
            falls[k].append(e.value - float(p))
    return {k: float(np.mean(v)) for k, v in falls.items()}


def table(explanations_by_method: dict[str, tuple[list[Explanation], float]],
          candidates: Callable[[Explanation], list[int]], remove: Removal) -> list[dict]:
    rows = []
    for method, (explanations, per_item) in explanations_by_method.items():
        pools = [candidates(e) for e in explanations]
        rng = np.random.default_rng(0)
        curves = {order: deletion_falls(explanations, pools, remove, order, rng)
                  for order in ("top", "random", "lowest")}
        completeness = "-"
        if method == "ig":
            errors = [abs(e.delta) / abs(e.value - e.reference) for e in explanations
                      if abs(e.value - e.reference) > 1e-6]
            completeness = f"{100 * float(np.median(errors)):.3f} %"
        for order, falls in curves.items():
            top = order == "top"
            rows.append({"method": method, "taken out": f"{order} k",
                         **{f"fall k={k}": falls[k] for k in KS},
                         "AOPC": float(np.mean(list(falls.values()))),
                         "top-1 ÷ random-1": ratio(curves["top"][1], curves["random"][1])
                         if top else "-",
                         "median completeness error": completeness if top else "-",
                         "ms per explanation": 1000 * per_item if top else "-"})
    return rows


def run_tag(args: argparse.Namespace) -> None:
    folder = SHARED / "tagging" / "conll2003"
    data = {split: read_tagged(require(folder / f"{split}.txt"), column="ner").sentences
            for split in ("train", "valid", "test")}
    config = apply_overrides(TagConfig(), {"training.max_minutes": args.minutes,
                                           "training.max_epochs": 50})
    began = time.perf_counter()
    tagger = Tagger(config).fit(data["train"], data["valid"])
    print(f"trained in {time.perf_counter() - began:.0f}s ({tagger.fit_info_['epochs']} "
          f"epochs); test entity F1 {tagger.evaluate(data['test'])['f1']:.4f}", flush=True)
    texts = [" ".join(s.tokens) for s in data["test"]
             if any(t != "O" for t in s.tags)][:args.sentences]
    by_method = {}
    for method in ("ig", "occlusion"):
        began = time.perf_counter()
        explanations = [e for text in texts
                        for e in explain_text(tagger, text, method=method,
                                              steps=args.steps).explanations]
        by_method[method] = (explanations, (time.perf_counter() - began) / len(explanations))

    def remove(e: Explanation, removed: Sequence[Sequence[int]]) -> np.ndarray:
        sentence = read(tagger, e.text)
        keep = torch.ones((len(removed), len(sentence.tokens)), dtype=torch.long)
        for row, positions in enumerate(removed):
            keep[row, list(positions)] = 0
        with torch.inference_mode():
            found = tag_probabilities(tagger, blanked(sentence.rows(len(removed)), keep))
        return found[:, e.extra["token_index"], tagger.tag_index_[e.target]].numpy()

    rows = table(by_method, lambda e: [i for i in range(len(e.tokens))
                                       if i != e.extra["token_index"]], remove)
    print(f"machine: {machine_line()}; default NER tagger ({args.minutes} min); "
          f"{len(texts)} test sentences, {len(by_method['ig'][0])} entity tokens explained, "
          f"IG steps {args.steps}")
    print(markdown_table(rows))


def run_lm(args: argparse.Namespace) -> None:
    path = require(SHARED / "text" / "tinyshakespeare.txt")
    config = apply_overrides(LMConfig(), {"corpus.path": str(path),
                                          "training.max_minutes": args.minutes})
    corpus = read_corpus(config.corpus)
    began = time.perf_counter()
    lm = LanguageModel(config).fit(corpus)
    nats = lm.mean_nats(lm.encode(corpus.val))
    print(f"trained in {time.perf_counter() - began:.0f}s ({lm.fit_info_['epochs']} epochs); "
          f"validation {nats:.4f} nats/char", flush=True)
    text = lm.level.join(corpus.val)
    rng = np.random.default_rng(1)
    starts = rng.choice(len(text) - args.context, args.prompts, replace=False)
    prompts = [text[s:s + args.context] for s in starts]
    by_method = {}
    for method in ("ig", "occlusion"):
        began = time.perf_counter()
        explanations = explain_next(lm, prompts, None, method, steps=args.steps)
        by_method[method] = (explanations, (time.perf_counter() - began) / len(prompts))

    def remove(e: Explanation, removed: Sequence[Sequence[int]]) -> np.ndarray:
        ids = lm._start(e.text)
        target = lm.vocab_.stoi[e.target]
        out = []
        with torch.inference_mode():
            for positions in removed:
                kept = [i for j, i in enumerate(ids) if j not in set(positions)]
                embedded = lm.module_.embedding(torch.tensor([kept]))
                out.append(float(next_probabilities(lm, embedded)[0, target]))
        return np.array(out)

    rows = table(by_method, lambda e: list(range(len(e.tokens))), remove)
    print(f"machine: {machine_line()}; default character LM ({args.minutes} min); "
          f"{len(prompts)} prompts of {args.context} characters, IG steps {args.steps}")
    print(markdown_table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["tag", "lm"])
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget")
    parser.add_argument("--sentences", type=int, default=400, help="tag: test sentences")
    parser.add_argument("--prompts", type=int, default=400, help="lm: prompts")
    parser.add_argument("--context", type=int, default=100, help="lm: characters a prompt")
    parser.add_argument("--steps", type=int, default=50, help="integrated gradients' steps")
    args = parser.parse_args()
    {"tag": run_tag, "lm": run_lm}[args.task](args)


if __name__ == "__main__":
    main()
