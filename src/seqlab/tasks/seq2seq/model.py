"""``Seq2Seq``: learn to turn source sequences into target sequences; translate; save, load.

Training feeds the gold target one step behind (teacher forcing) and minimises the
label-smoothed cross-entropy of the next token. After every epoch the first
``training.val_pairs`` validation pairs are decoded greedily and scored (BLEU by default
chooses the epoch). ``translate`` searches with the beam (``decode.beam_width``).

>>> model = Seq2Seq.load("runs/seq2seq")
>>> model.translate(["ein Hund läuft ."])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.artifacts import prefixed, unprefixed
from seqlab.engine.estimator import Estimator, member_checkpoints
from seqlab.errors import ConfigError, DataError
from seqlab.tasks.seq2seq.config import Seq2SeqConfig, Seq2SeqModelConfig
from seqlab.tasks.seq2seq.ensemble import Ensemble
from seqlab.tasks.seq2seq.metrics import seq2seq_scores
from seqlab.tasks.seq2seq.network import EncoderDecoder
from seqlab.tasks.seq2seq.pairs import Pairs
from seqlab.tasks.seq2seq.search import Hypothesis, beam_search, greedy
from seqlab.text.levels import LEVELS, Level
from seqlab.text.vocab import PAD_ID, UNK, UNK_ID, Vocab
from seqlab.training.trainer import TrainCallbacks, TrainingPlan

BUNDLE_KIND = "seqlab-seq2seq"
BOS, EOS = "<s>", "</s>"
DECODE_BATCH = 64


@dataclass
class Output:
    """One output of ``translate_n_best``: the text, its tokens and its scores."""

    text: str
    tokens: list[str]
    log_probability: float
    score: float
    finished: bool


def _padded(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    ids = torch.full((len(rows), int(lengths.max())), PAD_ID, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
    return ids, lengths


def _with_ends(vocab: Vocab) -> Vocab:
    """``vocab`` with the start and end tokens (whatever ``min_count`` kept)."""
    return Vocab([*vocab.itos, *(t for t in (BOS, EOS) if t not in vocab.stoi)])


class Seq2Seq(Estimator):
    """An encoder–decoder with attention, its vocabularies and its token level."""

    bundle_kind = BUNDLE_KIND

    def __init__(self, config: Seq2SeqConfig | None = None) -> None:
        self.config = config or Seq2SeqConfig()
        self.subwords_: dict[str, Any] = {}
        # an ensemble's members, their model settings ([] for one model)
        self.members_: list[Seq2SeqModelConfig] = []

    # ---- tokens -----------------------------------------------------------------------

    @property
    def level(self) -> Level:
        return LEVELS.get(self.config.data.level)

    def tokens(self, text: str, side: str = "source") -> list[str]:
        """The tokens of ``text`` as the model reads the ``side`` (source or target)."""
        text = text.lower() if self.config.data.lowercase else text
        if self.subwords_:
            return self.subwords_[side].encode(text).tokens
        return self.level.split(text)

    def tokens_cut(self, texts: Sequence[str]) -> list[int]:
        """How many source tokens of each text lie past ``data.max_tokens`` (the model
        reads only the first ``max_tokens``)."""
        limit = self.config.data.max_tokens
        return [max(0, len(self.tokens(text, "source")) - limit) for text in texts]

    def _ids(self, tokens: list[str]) -> list[int]:
        return self.source_vocab_.encode(tokens[: self.config.data.max_tokens]).tolist()

    def _source_ids(self, text: str) -> list[int]:
        return self._ids(self.tokens(text, "source"))

    def _target_ids(self, text: str | list[str]) -> list[int]:
        """``<s>``, the target's ids, ``</s>``; ``text`` may be its tokens already."""
        v = self.target_vocab_
        tokens = self.tokens(text, "target") if isinstance(text, str) else text
        return [v.stoi[BOS], *v.encode(tokens).tolist(), v.stoi[EOS]]

    def _text(self, ids: Sequence[int]) -> str:
        spaced = self.subwords_ or self.config.data.level == "spaced"  # BPE marks spaces too
        level = LEVELS.get("spaced") if spaced else self.level
        # an unknown word stands apart, not glued to the word before it
        unknown = "▁" + UNK if spaced else UNK
        return level.join([unknown if i == UNK_ID else self.target_vocab_.itos[i]
                           for i in ids]).strip()

    def _train_subwords(self, train: Pairs) -> None:
        """BPE models of ``data.subwords`` pieces, one per side (one for both with a shared
        vocabulary), learned from the training pairs."""
        d = self.config.data
        self.subwords_ = {}
        self.notes_: list[str] = []  # what fitting noticed, for the run's log
        if not d.subwords:
            return
        from tokenizers import Tokenizer, models, pre_tokenizers, trainers

        def learn(texts: list[str], side: str) -> Any:
            bpe = Tokenizer(models.BPE(unk_token=UNK))
            bpe.pre_tokenizer = pre_tokenizers.Metaspace()
            bpe.train_from_iterator([t.lower() if d.lowercase else t for t in texts],
                                    trainers.BpeTrainer(vocab_size=d.subwords,
                                                        special_tokens=[UNK]))
            learned = bpe.get_vocab_size()
            if learned < d.subwords:
                self.notes_.append(
                    f"{side} subwords: {learned:,} learned of the {d.subwords:,} asked for; "
                    "the training text has no more pieces to merge. Lower --subwords (to "
                    f"about {learned:,}) or give more text")
            return bpe

        if d.shared_vocab:
            self.subwords_["source"] = self.subwords_["target"] = learn(
                train.sources + train.targets, "shared")
        else:
            self.subwords_ = {"source": learn(train.sources, "source"),
                              "target": learn(train.targets, "target")}

    # ---- training ---------------------------------------------------------------------

    def _build(self, attention: str | None = None) -> EncoderDecoder:
        m = self.config.model
        if attention is not None:
            m = m.model_copy(update={"attention": attention})
        return EncoderDecoder(m, len(self.source_vocab_), len(self.target_vocab_))

    def fit(self, train: Pairs, val: Pairs, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None) -> Seq2Seq:
        """Build the vocabularies from the training pairs and train ``model.members``
        models on them (one by default), each with its own seed; the validation pairs
        choose each one's epoch (``training.monitor``, BLEU by default)."""
        cfg, t, d = self.config, self.config.training, self.config.data
        began = self.begin_fit(t.threads, cfg.seed)
        self.members_ = []  # one model, whatever this one was before
        self._train_subwords(train)
        sources = [self.tokens(s, "source") for s in train.sources]
        targets = [self.tokens(s, "target") for s in train.targets]
        kept = [i for i, (s, g) in enumerate(zip(sources, targets, strict=True))
                if 0 < len(s) <= d.max_tokens and 0 < len(g) <= d.max_tokens]
        if not kept:
            raise DataError(f"{train.origin}: no training pair has both sides within "
                            f"data.max_tokens ({d.max_tokens}); raise it")
        source_tokens = [sources[i] for i in kept]
        target_tokens = [targets[i] for i in kept]
        self.target_vocab_ = _with_ends(Vocab.build(
            target_tokens + (source_tokens if d.shared_vocab else []), d.min_count))
        self.source_vocab_ = self.target_vocab_ if d.shared_vocab \
            else Vocab.build(source_tokens, d.min_count)
        pairs = [(self._ids(sources[i]), self._target_ids(targets[i])) for i in kept]
        val_pairs = [(self._source_ids(s), self._target_ids(g))
                     for s, g in zip(val.sources, val.targets, strict=True)]
        self.module_ = self._build()
        loss = nn.CrossEntropyLoss(ignore_index=PAD_ID,
                                   label_smoothing=cfg.model.label_smoothing)

        def batches(member: int, epoch: int) -> Iterator[tuple[torch.Tensor, ...]]:
            generator = torch.Generator().manual_seed((cfg.seed + member) * 1000 + epoch)
            order = torch.randperm(len(pairs), generator=generator).tolist()
            pool = t.batch_size * 50  # similar lengths in a batch: less padding
            groups = []
            for begin in range(0, len(order), pool):
                chunk = sorted(order[begin:begin + pool], key=lambda i: len(pairs[i][0]))
                groups += [chunk[i:i + t.batch_size] for i in range(0, len(chunk),
                                                                     t.batch_size)]
            for g in torch.randperm(len(groups), generator=generator).tolist():
                yield self._batch([pairs[i] for i in groups[g]])

        def loss_fn(model: EncoderDecoder, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            source, lengths, target = batch
            logits = model(source, lengths, target[:, :-1])
            return loss(logits.reshape(-1, logits.size(-1)), target[:, 1:].reshape(-1))

        val_sources, val_references = val.by_source()

        def greedy_scores() -> dict[str, float]:
            """The scores of ``module_``'s greedy outputs of the first validation sources."""
            scores = seq2seq_scores(self._greedy(val_sources[: t.val_pairs]),
                                    val_references[: t.val_pairs])
            return {k: v for k, v in scores.items() if isinstance(v, float)}

        def validate(model: EncoderDecoder) -> dict[str, float]:
            losses = [float(loss_fn(model, self._batch(val_pairs[i:i + DECODE_BATCH])))
                      for i in range(0, len(val_pairs), DECODE_BATCH)]
            return {"loss": float(np.mean(losses)), **greedy_scores()}

        networks, results = [], []
        for member in range(cfg.model.members):
            if member:  # its start and dropout draws (the first keeps the fit's seed)
                torch.manual_seed(cfg.seed + member)
            self.module_ = self._build()
            plan = TrainingPlan(partial(batches, member), loss_fn, validate,
                                -(-len(pairs) // t.batch_size), data_parallel=True)
            results.append(self.train_module(
                t, plan, checkpoint_dir=member_checkpoints(checkpoint_dir, member),
                resume=resume, callbacks=callbacks, monitor=t.monitor))
            networks.append(self.module_)
        lead = results[0]
        self.history_, self.best_epoch_, self.stopped_ = (lead.history, lead.best_epoch,
                                                          lead.stopped)
        if len(networks) > 1:
            self.module_ = Ensemble(networks).eval()
            self.members_ = [cfg.model.model_copy(update={"members": 1})] * len(networks)
        self.fit_info_ = {
            "train_pairs": len(pairs), "left_out_too_long": len(sources) - len(kept),
            "val_pairs": len(val), "source_vocab": len(self.source_vocab_),
            "target_vocab": len(self.target_vocab_), **self.training_facts(lead, began),
            "train_seconds": sum(r.seconds for r in results),
            "monitor": t.monitor, "notes": self.notes_,
        }
        if len(networks) > 1:
            self.fit_info_["members"] = {
                "count": len(networks),
                "seeds": [cfg.seed + i for i in range(len(networks))],
                "metric": t.monitor,
                "validation": [r.validation.get(f"val_{t.monitor}") for r in results],
                "ensemble_validation": greedy_scores().get(t.monitor)}
        return self

    @staticmethod
    def _batch(pairs: Sequence[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, ...]:
        source, lengths = _padded([p[0] for p in pairs])
        target, _ = _padded([p[1] for p in pairs])
        return source, lengths, target

    # ---- decoding ---------------------------------------------------------------------

    def _max_length(self, source_length: int) -> int:
        return int(self.config.decode.max_ratio * source_length) + 10

    def _step(self, tokens: torch.Tensor, carried: Any) -> tuple[torch.Tensor, Any]:
        """One decoder step for greedy and beam search; ``carried`` is the decoder state
        with the memory of each row's source, so selecting rows selects both."""
        decoder, memory = carried
        logits, decoder, _ = self.module_.step(tokens, decoder, memory)
        return torch.log_softmax(logits.float(), dim=-1), (decoder, memory)

    def _select(self, carried: Any, index: torch.Tensor) -> Any:
        decoder, memory = carried
        return self.module_.select(decoder, index), memory.rows(index)

    def _encode(self, source: torch.Tensor, lengths: torch.Tensor) -> Any:
        """What ``_step`` carries at the start: the decoder state and the memory of each
        row's source."""
        memory, decoder = self.module_.encode(source, lengths)
        return decoder, memory

    def _decode(self, texts: Sequence[str], search: Any, empty: Any) -> list[Any]:
        """``search(lengths, carried)`` for each batch of the non-empty texts; an empty
        text gets ``empty``."""
        asked = [i for i, text in enumerate(texts) if text.strip()]
        out = [empty for _ in texts]
        with torch.inference_mode():
            for begin in range(0, len(asked), DECODE_BATCH):
                rows = asked[begin:begin + DECODE_BATCH]
                source, lengths = _padded([self._source_ids(texts[i]) for i in rows])
                for i, answer in zip(rows, search(lengths, self._encode(source, lengths)),
                                     strict=True):
                    out[i] = answer
        return out

    def _greedy(self, texts: Sequence[str]) -> list[str]:
        v = self.target_vocab_

        def search(lengths: torch.Tensor, carried: Any) -> list[str]:
            ids = greedy(self._step, carried, len(lengths), v.stoi[BOS], v.stoi[EOS],
                         self._max_length(int(lengths.max())))
            return [self._text(row) for row in ids]

        return self._decode(texts, search, "")

    def translate_n_best(self, texts: Sequence[str], beam_width: int | None = None,
                         n_best: int = 1) -> list[list[Output]]:
        """The ``n_best`` outputs of each text (beam search), best first, with scores;
        an empty text gets one empty output."""
        self._check_fitted()
        width = max(beam_width or self.config.decode.beam_width, n_best)
        v = self.target_vocab_

        def search(lengths: torch.Tensor, carried: Any) -> list[list[Output]]:
            found = beam_search(self._step, carried, self._select, v.stoi[BOS], v.stoi[EOS],
                                width, [self._max_length(int(n)) for n in lengths],
                                self.config.decode.length_penalty, n_best)
            return [[self._output(h) for h in hypotheses] for hypotheses in found]

        return self._decode(texts, search, [Output("", [], 0.0, 0.0, True)])

    def _output(self, hypothesis: Hypothesis) -> Output:
        tokens = [self.target_vocab_.itos[i] for i in hypothesis.tokens]
        return Output(self._text(hypothesis.tokens), tokens, hypothesis.log_probability,
                      hypothesis.score, hypothesis.finished)

    def translate(self, texts: Sequence[str], beam_width: int | None = None) -> list[str]:
        """The best output of each text (an empty text gets an empty output)."""
        self._check_fitted()
        if (beam_width or self.config.decode.beam_width) == 1:
            return self._greedy(texts)
        return [found[0].text for found in self.translate_n_best(texts, beam_width)]

    def attention(self, source: str, target: str) -> tuple[list[str], list[str], np.ndarray]:
        """The attention weights ``[target tokens + </s>, source tokens]`` while the model
        reads ``target`` after ``source`` (teacher forcing), with both token lists."""
        self._check_fitted()
        ids = self._target_ids(target)
        with torch.inference_mode():
            src, lengths = _padded([self._source_ids(source)])
            memory, carried = self.module_.encode(src, lengths)
            rows = []
            for token in ids[:-1]:
                _, carried, weights = self.module_.step(torch.tensor([token]), carried, memory)
                rows.append(weights[0].numpy() if weights is not None
                            else np.zeros(src.size(1)))
        shown = [self.source_vocab_.itos[i] for i in src[0].tolist()]
        produced = [self.target_vocab_.itos[i] for i in ids[1:]]
        return shown, produced, np.stack(rows)

    # ---- ensembles --------------------------------------------------------------------

    @classmethod
    def ensemble(cls, models: Sequence[Seq2Seq], names: Sequence[str] | None = None
                 ) -> Seq2Seq:
        """One model that decodes with all of ``models`` (the mean of their next-token
        distributions); an ensemble among them gives its members. They must read and
        write the same tokens: the same vocabularies, subwords and token settings
        (``names`` label them in the error that says which differ)."""
        if len(models) < 2:
            raise ConfigError("an ensemble needs two models or more")
        names = list(names or (f"model {i + 1}" for i in range(len(models))))
        first = models[0]
        for model, name in zip(models, names, strict=True):
            model._check_fitted()
            differs = first._reading_differences(model)
            if differs:
                raise ConfigError(f"{name} cannot join an ensemble with {names[0]}: its "
                                  f"{', '.join(differs)} differ; ensemble models trained on "
                                  "the same training pairs with the same data settings")
        self = cls(first.config)
        self.source_vocab_, self.target_vocab_ = first.source_vocab_, first.target_vocab_
        self.subwords_ = first.subwords_
        networks = [n for m in models for n in (m.module_.members
                                                if isinstance(m.module_, Ensemble)
                                                else [m.module_])]
        self.members_ = [c for m in models for c in (m.members_ or [m.config.model])]
        self.module_ = Ensemble(networks).eval()
        self.fit_info_ = {"members": {"count": len(networks), "joined": [
            {"name": name, **getattr(m, "fit_info_", {})}
            for m, name in zip(models, names, strict=True)]}}
        return self

    def _reading_differences(self, other: Seq2Seq) -> list[str]:
        """What ``other`` reads or writes differently from this model: vocabularies,
        subwords or the data settings that make tokens."""
        found = [f"{side} vocab" for side in ("source", "target")
                 if getattr(self, f"{side}_vocab_").itos != getattr(other, f"{side}_vocab_").itos]
        if {k: b.to_str() for k, b in self.subwords_.items()} != \
                {k: b.to_str() for k, b in other.subwords_.items()}:
            found.append("subwords")
        return found + [f"data.{key}" for key in ("level", "lowercase", "max_tokens")
                        if getattr(self.config.data, key) != getattr(other.config.data, key)]

    # ---- bundle -----------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Weights; vocabularies and settings in the JSON header (and, for an ensemble,
        each member's model settings)."""
        meta = {"config": self.config.model_dump(mode="json"),
                "source_vocab": self.source_vocab_.to_dict(),
                "target_vocab": self.target_vocab_.to_dict(),
                "subwords": {side: bpe.to_str() for side, bpe in self.subwords_.items()},
                "fit_info": getattr(self, "fit_info_", {}), "metrics": metrics or {}}
        if self.members_:
            meta["members"] = [m.model_dump(mode="json") for m in self.members_]
        return prefixed(self.module_.state_dict()), meta

    def _read_header(self, meta: dict[str, Any]) -> None:
        """The vocabularies and subword models of a bundle's (or an export's) header."""
        self.source_vocab_ = Vocab.from_dict(meta["source_vocab"])
        self.target_vocab_ = Vocab.from_dict(meta["target_vocab"])
        if meta.get("subwords"):
            from tokenizers import Tokenizer

            self.subwords_ = {side: Tokenizer.from_str(text)
                              for side, text in meta["subwords"].items()}

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Seq2Seq:
        self = cls(Seq2SeqConfig.model_validate(meta["config"]))
        self._read_header(meta)
        if meta.get("members"):
            self.members_ = [Seq2SeqModelConfig.model_validate(m) for m in meta["members"]]
            self.module_ = Ensemble([EncoderDecoder(m, len(self.source_vocab_),
                                                    len(self.target_vocab_))
                                     for m in self.members_])
        else:
            self.module_ = self._build()
        self.module_.load_state_dict(unprefixed(tensors))
        self.module_.eval()
        return self
