"""``LanguageModel``: train on a text, score text, generate, complete a prefix; save, load.

Training reads the training tokens as ``batch_size`` contiguous streams side by side and
walks them in chunks of ``bptt`` tokens. The hidden state at the end of one chunk starts
the next (cut from the graph, so gradients flow back ``bptt`` steps at most), which lets
the model learn from context longer than a chunk. Each epoch starts at a different
offset below ``bptt`` (drawn from the seed and epoch, so resuming is exact) and the
chunk boundaries fall in new places. Validation perplexity picks the epoch.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqlab.artifacts import prefixed, unprefixed
from seqlab.engine.estimator import Estimator
from seqlab.errors import DataError, SeqlabError
from seqlab.nn.encoder import detach_state
from seqlab.tasks.lm.config import LMConfig
from seqlab.tasks.lm.corpus import Corpus
from seqlab.tasks.lm.network import RecurrentLanguageModel
from seqlab.tasks.lm.sampling import check_sampling, next_token
from seqlab.text.levels import LEVELS, NEWLINE, Level
from seqlab.text.vocab import PAD_ID, UNK_ID, Vocab
from seqlab.training.trainer import TrainCallbacks, TrainingPlan

BUNDLE_KIND = "seqlab-language-model"
UNTIL = ("word", "line")


@dataclass
class Completion:
    """One way to finish what was typed: the whole ``text`` as the user would see it,
    the ``completion`` (what was added) and the model's probability of that addition."""

    text: str
    completion: str
    probability: float


def batchify(ids: torch.Tensor, columns: int) -> torch.Tensor:
    """``[columns, length]``: the stream cut into ``columns`` contiguous pieces."""
    length = len(ids) // columns
    return ids[: length * columns].view(columns, length)


def chunks(data: torch.Tensor, bptt: int, offset: int = 0
           ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Inputs and next-token targets, ``bptt`` positions at a time, from ``offset``."""
    last = data.size(1) - 1
    for start in range(offset, last, bptt):
        end = min(start + bptt, last)
        yield data[:, start:end], data[:, start + 1:end + 1]


def language_scores(nats: float) -> dict[str, float]:
    """Loss (nats per token), perplexity and bits per token from a mean loss in nats."""
    return {"loss": nats, "perplexity": math.exp(min(nats, 700.0)),
            "bits_per_token": nats / math.log(2)}


def _select(state: list[Any], index: torch.Tensor) -> list[Any]:
    """The state of the batch rows in ``index`` (states are ``[layers, batch, hidden]``)."""
    return [tuple(t[:, index] for t in s) if isinstance(s, tuple) else s[:, index]
            for s in state]


@dataclass
class _Search:
    """One prefix's beam search: the ids it starts from, the first tokens it may take
    (word level: the words that finish what was typed; None: any), its partial
    completions ``(log-probability, ids)`` and its finished ones."""

    context: list[int]
    allowed: torch.Tensor | None
    beams: list[tuple[float, list[int]]] = field(default_factory=lambda: [(0.0, [])])
    finished: list[tuple[float, list[int]]] = field(default_factory=list)

    @property
    def can_continue(self) -> bool:
        """False where no known word starts with what was typed."""
        return self.allowed is None or bool(len(self.allowed))


def _joined(states: Sequence[list[Any]]) -> list[Any]:
    """One state holding the batch rows of each of ``states`` in turn (the inverse of
    :func:`_select`)."""
    return [tuple(torch.cat(parts, dim=1) for parts in zip(*layer, strict=True))
            if isinstance(layer[0], tuple) else torch.cat(layer, dim=1)
            for layer in zip(*states, strict=True)]


class LanguageModel(Estimator):
    """A recurrent language model with its vocabulary and tokenization level."""

    bundle_kind = BUNDLE_KIND

    def __init__(self, config: LMConfig | None = None) -> None:
        self.config = config or LMConfig()

    @property
    def level(self) -> Level:
        return LEVELS.get(self.config.corpus.level)

    def _build(self) -> RecurrentLanguageModel:
        m = self.config.model
        return RecurrentLanguageModel(len(self.vocab_), m.embedding_dim, m.hidden_size, m.cell,
                                      m.num_layers, m.dropout, m.tie_weights)

    def encode(self, tokens: Sequence[str]) -> torch.Tensor:
        """Token ids; tokens the vocabulary lacks become ``<unk>``."""
        return torch.tensor([self.vocab_.stoi.get(t, UNK_ID) for t in tokens], dtype=torch.long)

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as the model was trained to read them."""
        return self.level.split(text.lower() if self.config.corpus.lowercase else text)

    # ---- training ---------------------------------------------------------------------

    def fit(self, corpus: Corpus, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None) -> LanguageModel:
        """Build the vocabulary from the training tokens and train; the validation tokens
        choose the epoch (lowest perplexity)."""
        cfg, t = self.config, self.config.training
        began = self.begin_fit(t.threads, cfg.seed)
        self.vocab_ = Vocab.build([corpus.train], cfg.corpus.min_count, cfg.corpus.max_vocab)
        train = batchify(self.encode(corpus.train), t.batch_size)
        if train.size(1) < 2:
            raise DataError(f"{corpus.source}: {len(corpus.train)} training tokens are too few "
                            f"for training.batch_size {t.batch_size}; lower the batch size")
        val = self.encode(corpus.val)
        self.module_ = self._build()
        vocab_size = len(self.vocab_)
        carried: dict[str, Any] = {"state": None}

        def batches(epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            carried["state"] = None
            offset = int(torch.randint(cfg.bptt, (1,), generator=torch.Generator()
                                       .manual_seed(cfg.seed * 1000 + epoch)))
            yield from chunks(train, cfg.bptt, offset if train.size(1) > 2 * cfg.bptt else 0)

        def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
            x, y = batch
            logits, state = model(x, carried["state"])
            carried["state"] = detach_state(state)
            return nn.functional.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))

        def validate(_: nn.Module) -> dict[str, float]:
            return language_scores(self.mean_nats(val))

        plan = TrainingPlan(batches, loss_fn, validate, -(-(train.size(1) - 1) // cfg.bptt),
                            data_parallel=True)
        result = self.train_module(t, plan, checkpoint_dir=checkpoint_dir, resume=resume,
                                   callbacks=callbacks, monitor=t.monitor)
        self.fit_info_ = {"vocab_size": vocab_size, "train_tokens": len(corpus.train),
                          "val_tokens": len(corpus.val), **self.training_facts(result, began)}
        return self

    def mean_nats(self, ids: torch.Tensor) -> float:
        """Mean negative log-likelihood (nats per token) of ``ids[1:]``, read as a few
        long streams side by side with the state carried from chunk to chunk."""
        bptt = self.config.bptt
        columns = max(1, min(self.config.training.batch_size, len(ids) // (8 * bptt)))
        data = batchify(ids, columns)
        total, count, state = 0.0, 0, None
        self.module_.eval()
        with torch.inference_mode():
            for x, y in chunks(data, bptt):
                logits, state = self.module_(x, state)
                total += float(nn.functional.cross_entropy(
                    logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum"))
                count += y.numel()
        return total / max(count, 1)

    def score(self, text: str) -> dict[str, float]:
        """Loss (nats per token), perplexity and bits per token of ``text``."""
        self._check_fitted()
        ids = self.encode(self.tokenize(text))
        if len(ids) < 2:
            raise DataError("scoring needs a text of at least two tokens")
        return language_scores(self.mean_nats(ids))

    # ---- generation -------------------------------------------------------------------

    def _start(self, text: str, line_start: bool = False) -> list[int]:
        """Ids to condition on: the text's tokens, after a line start (the newline token)
        when ``line_start`` is set or the text is empty."""
        tokens = self.tokenize(text)
        ids = self.encode(tokens).tolist()
        if tokens and all(i == UNK_ID for i in ids):
            raise DataError(f"{text[:60]!r}: every {self.level.name} in it is unknown to the "
                            "model; use characters or words from its training text")
        newline = self.vocab_.stoi.get(NEWLINE)
        if (line_start or not ids) and newline is not None and ids[:1] != [newline]:
            ids = [newline, *ids]
        if not ids:
            raise DataError("give a prompt: this model has no line start to begin from")
        return ids

    def _masked(self, logits: torch.Tensor) -> torch.Tensor:
        """Log-probabilities with padding and ``<unk>`` ruled out (never produced)."""
        logits = logits.clone()
        logits[..., PAD_ID] = float("-inf")
        logits[..., UNK_ID] = float("-inf")
        return torch.log_softmax(logits, dim=-1)

    def generate(self, prompt: str = "", length: int = 200, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None,
                 seed: int | None = None) -> Iterator[str]:
        """Yield ``length`` tokens after ``prompt``, as text pieces (a word comes with
        the space before it), one at a time so a caller can stream them. A ``seed``
        makes the sample reproducible; temperature 0 is greedy."""
        for pieces in self._sample([(prompt, seed)], length, temperature, top_k, top_p):
            yield pieces[0]

    def generate_many(self, requests: Sequence[tuple[str, int | None]], length: int = 200,
                      temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None) -> list[str]:
        """What :meth:`generate` yields (joined) for each ``(prompt, seed)`` of
        ``requests``, sampled side by side (what the server's batcher calls)."""
        steps = list(self._sample(requests, length, temperature, top_k, top_p))
        return ["".join(pieces) for pieces in zip(*steps, strict=True)]

    def _sample(self, requests: Sequence[tuple[str, int | None]], length: int,
                temperature: float, top_k: int | None, top_p: float | None
                ) -> Iterator[list[str]]:
        """For each of ``length`` tokens, the text piece each ``(prompt, seed)`` of
        ``requests`` gets, drawn from its own seed's generator: each prompt is read
        alone, then one network step per token serves them all."""
        generators = self._generators(length, temperature, top_k, top_p,
                                      [seed for _, seed in requests])
        if not requests:
            return
        primed = [self._step([self._start(prompt)], None) for prompt, _ in requests]
        logits = torch.cat([found[:, -1] for found, _ in primed])
        state = _joined([found_state for _, found_state in primed])
        texts = [prompt for prompt, _ in requests]
        for step in range(length):
            ids = [next_token(self._masked(logits[row]), temperature, top_k, top_p, generator)
                   for row, generator in enumerate(generators)]
            pieces = [self.level.join([self.vocab_.itos[token_id]], after=text)
                      for token_id, text in zip(ids, texts, strict=True)]
            texts = [text + piece for text, piece in zip(texts, pieces, strict=True)]
            yield pieces
            if step + 1 < length:  # the last token needs no step after it
                logits, state = self._step([[token_id] for token_id in ids], state)
                logits = logits[:, -1]

    def _generators(self, length: int, temperature: float, top_k: int | None,
                    top_p: float | None, seeds: Sequence[int | None]) -> list[torch.Generator]:
        """Check the sampling settings; one random generator per seed (None: a fresh
        random seed)."""
        self._check_fitted()
        if length <= 0:
            raise SeqlabError(f"length {length}: generate at least 1 token")
        check_sampling(temperature, top_k, top_p)
        generators = []
        for seed in seeds:
            if seed is not None and not 0 <= seed < 2**63:
                raise SeqlabError(f"seed {seed}: a seed is a whole number from 0 to 2**63 - 1")
            generator = torch.Generator()
            if seed is None:
                generator.seed()
            else:
                generator.manual_seed(seed)
            generators.append(generator)
        return generators

    @torch.inference_mode()
    def _step(self, ids: list[list[int]], state: list[Any] | None
              ) -> tuple[torch.Tensor, list[Any]]:
        """Logits after ``ids`` ``[B, T]`` from ``state`` (inference mode is entered per
        step, never left on while a generator is paused in the caller's code)."""
        return self.module_(torch.tensor(ids), state)

    def generate_text(self, prompt: str = "", length: int = 200, **sampling: Any) -> str:
        """The prompt followed by ``length`` generated tokens, as one string."""
        return prompt + "".join(self.generate(prompt, length, **sampling))

    def complete(self, prefix: str, n: int = 5, until: str | None = None,
                 max_tokens: int | None = None, beam_width: int | None = None
                 ) -> list[Completion]:
        """The ``n`` most likely ways to finish ``prefix``, most likely first.

        ``until="word"`` finishes the word being typed; ``"line"`` runs to the end of
        the line (a search box's whole query). The default is ``line`` for a model
        trained on one document per line, else ``word``. Beam search keeps
        ``beam_width`` (default ``4 n``) partial completions and stops once no partial
        one can beat the ``n``-th finished one; each probability includes the token
        that ends the word or line.
        """
        return self.complete_many([prefix], n, until, max_tokens, beam_width)[0]

    def complete_many(self, prefixes: Sequence[str], n: int = 5, until: str | None = None,
                      max_tokens: int | None = None, beam_width: int | None = None
                      ) -> list[list[Completion]]:
        """:meth:`complete` for each of ``prefixes``, their beams stepped side by side
        (what the server's batcher calls)."""
        self._check_fitted()
        until = until or ("line" if self.config.corpus.documents == "lines" else "word")
        if until not in UNTIL:
            raise SeqlabError(f"until {until!r}: choose one of: {', '.join(UNTIL)}")
        if n < 1:
            raise SeqlabError(f"n {n}: ask for at least 1 completion")
        word_level = self.level.name == "word"
        if max_tokens is None:
            max_tokens = {("word", False): 40, ("line", False): 120,
                          ("word", True): 1, ("line", True): 30}[(until, word_level)]
        bases, searches = [], []
        for prefix in prefixes:
            base, partial = prefix, ""
            typed = self.tokenize(prefix)
            if word_level and typed and prefix[-1:].isalnum():
                partial = typed.pop()
                base = prefix[: len(prefix) - len(partial)]
            context = self._start(base, line_start=self.config.corpus.documents == "lines")
            allowed = None
            if word_level and (partial or until == "word"):
                allowed = self._first_tokens(partial)
            bases.append(base)
            searches.append(_Search(context, allowed))
        self._beam_search([s for s in searches if s.can_continue], n, until, max_tokens,
                          beam_width or 4 * n)
        found = []
        for prefix, base, search in zip(prefixes, bases, searches, strict=True):
            out = []
            for logp, ids in search.finished:
                full = base + self.level.join([self.vocab_.itos[i] for i in ids], after=base)
                out.append(Completion(text=full, completion=full[len(prefix):],
                                      probability=math.exp(logp)))
            found.append(out)
        return found

    def _first_tokens(self, partial: str) -> torch.Tensor:
        """Word level: the ids of the known words that start with what was typed."""
        return torch.tensor([i for i, token in enumerate(self.vocab_.itos)
                             if i > UNK_ID and token.startswith(partial)
                             and not self.level.ends_word(token)], dtype=torch.long)

    def _ends(self, token: str, until: str) -> bool:
        return token == NEWLINE if until == "line" else self.level.ends_word(token)

    def _beam_search(self, searches: list[_Search], n: int, until: str, max_tokens: int,
                     width: int) -> None:
        """Fill each search's ``finished`` completions, best first, at most ``n``; the
        beams of all searches go through each network step together."""
        if not searches:
            return
        primed = [self._step([search.context], None) for search in searches]
        state = _joined([found_state for _, found_state in primed])
        last_logits = torch.cat([found[:, -1] for found, _ in primed])  # a row per beam
        for step in range(max_tokens):
            logp = self._masked(last_logits)  # [beams of every search, vocab]
            rows: list[int] = []  # the beams that go on, as rows of logp
            offset = 0
            for search in searches:
                count = len(search.beams)
                rows += [offset + row for row in self._advance(
                    search, logp[offset:offset + count], step == 0, n, until, width)]
                offset += count
            searches = [search for search in searches if search.beams]
            if not rows:
                break
            logits, state = self._step([[ids[-1]] for search in searches
                                        for _, ids in search.beams],
                                       _select(state, torch.tensor(rows)))
            last_logits = logits[:, -1]

    def _advance(self, search: _Search, logp: torch.Tensor, first: bool, n: int, until: str,
                 width: int) -> list[int]:
        """Extend ``search``'s beams by one token, given each beam's next-token
        log-probabilities ``logp`` ``[beams, vocab]``; keep the ``n`` best finished
        completions; return the rows of ``logp`` whose beams go on (none once no beam can
        beat the ``n``-th finished completion).

        At the word level a completion of ``until="word"`` is one word, so it finishes
        as soon as that word is chosen; otherwise it finishes with the token that ends
        it (not shown, but counted in the probability)."""
        if first and search.allowed is not None:
            keep = torch.full_like(logp, float("-inf"))
            keep[:, search.allowed] = 0.0
            logp = logp + keep
        scores = logp + torch.tensor([b[0] for b in search.beams]).unsqueeze(1)
        top = torch.topk(scores.flatten(), min(width, scores.numel()))
        one_word = self.level.name == "word" and until == "word"
        grown: list[tuple[float, int, list[int]]] = []
        for score, flat in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            if score == float("-inf"):
                continue
            row, token_id = divmod(flat, scores.size(1))
            ids = [*search.beams[row][1], token_id]
            ends = self._ends(self.vocab_.itos[token_id], until)
            if ends and ids[:-1]:
                search.finished.append((score, ids[:-1]))
            elif one_word:
                search.finished.append((score, ids))
            elif not ends:
                grown.append((score, row, ids))
        search.finished = heapq.nlargest(n, search.finished, key=lambda f: f[0])
        if not grown or (len(search.finished) == n and grown[0][0] < search.finished[-1][0]):
            grown = []
        search.beams = [(score, ids) for score, _, ids in grown]
        return [row for _, row, _ in grown]

    # ---- bundle -----------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Weights; vocabulary and settings in the JSON header."""
        meta = {"config": self.config.model_dump(mode="json"), "vocab": self.vocab_.to_dict(),
                "fit_info": getattr(self, "fit_info_", {}), "metrics": metrics or {}}
        return prefixed(self.module_.state_dict()), meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> LanguageModel:
        self = cls(LMConfig.model_validate(meta["config"]))
        self.vocab_ = Vocab.from_dict(meta["vocab"])
        self.module_ = self._build()
        self.module_.load_state_dict(unprefixed(tensors))
        self.module_.eval()
        return self
