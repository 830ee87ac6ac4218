"""``Tagger``: learn one tag per token; tag sentences and free text; save and load.

Entity tags (``B-PER``, ``I-LOC``…) are learned in the configured scheme (IOBES by
default) and given back in the scheme the training data used; any other tag set (POS,
chunks) is learned as is. Validation picks the epoch: entity F1 for entities, token
accuracy otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.artifacts import prefixed, unprefixed
from seqlab.engine.estimator import Estimator, member_checkpoints
from seqlab.errors import ConfigError, DataError
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import Sentence
from seqlab.tasks.tag.network import (
    RecurrentTagger,
    TaggerBatch,
    TaggerMean,
    TagScorer,
    casing,
)
from seqlab.tasks.tag.schemes import (
    allowed_transitions,
    convert,
    detect_scheme,
    is_entity_tagset,
    spans,
)
from seqlab.tasks.tag.scoring import entity_scores, token_scores
from seqlab.tasks.tag.tokenize import tokenize
from seqlab.text.vocab import PAD_ID, UNK_ID, Vocab
from seqlab.training.distributed import refuse_changing_weights
from seqlab.training.trainer import TrainCallbacks, TrainingPlan
from seqlab.vectors.embedding import (
    Coverage,
    read_unlabelled,
    start_matrix,
    train_embedding_in,
    vectors_for,
    with_vector_words,
)

BUNDLE_KIND = "seqlab-tagger"
PREDICT_BATCH = 64


@dataclass
class Entity:
    """An entity found in text: its words, type, character offsets and token range."""

    text: str
    type: str
    start: int
    end: int
    first_token: int
    last_token: int


@dataclass
class TaggedText:
    """Free text after tagging: tokens with offsets and tags, and the grouped entities."""

    tokens: list[dict[str, Any]]
    entities: list[Entity]


@dataclass
class _Encoded:
    words: list[int]
    casings: list[int]
    chars: list[list[int]]
    tags: list[int] | None


class Tagger(Estimator):
    """A recurrent sequence tagger with its vocabularies and tag set."""

    bundle_kind = BUNDLE_KIND

    def __init__(self, config: TagConfig | None = None) -> None:
        self.config = config or TagConfig()

    # ---- encoding ---------------------------------------------------------------------

    def _word_key(self, word: str) -> str:
        return word.lower() if self.config.data.lowercase_words else word

    def _encode(self, tokens: Sequence[str], tags: Sequence[str] | None = None) -> _Encoded:
        limit = self.config.data.max_word_chars
        stoi, char_stoi = self.vocab_.stoi, self.chars_.stoi
        return _Encoded(
            words=[stoi.get(self._word_key(t), UNK_ID) for t in tokens],
            casings=[casing(t) for t in tokens],
            chars=[[char_stoi.get(c, UNK_ID) for c in t[:limit]] or [UNK_ID] for t in tokens],
            tags=None if tags is None else [self.tag_index_[t] for t in tags])

    def _batch(self, items: Sequence[_Encoded], words: Sequence[list[int]] | None = None
               ) -> TaggerBatch:
        """Pad ``items`` into tensors (``words`` replaces their word ids when given)."""
        lengths = [len(item.words) for item in items]
        width = max(lengths)
        chars_width = max(len(c) for item in items for c in item.chars)
        word_ids = torch.full((len(items), width), PAD_ID, dtype=torch.long)
        casings = torch.zeros((len(items), width), dtype=torch.long)
        chars = torch.zeros((len(items), width, chars_width), dtype=torch.long)
        char_lengths = torch.zeros((len(items), width), dtype=torch.long)
        tags = torch.zeros((len(items), width), dtype=torch.long)
        for row, item in enumerate(items):
            n = lengths[row]
            word_ids[row, :n] = torch.tensor(words[row] if words else item.words)
            casings[row, :n] = torch.tensor(item.casings)
            for col, word in enumerate(item.chars):
                chars[row, col, :len(word)] = torch.tensor(word)
                char_lengths[row, col] = len(word)
            if item.tags is not None:
                tags[row, :n] = torch.tensor(item.tags)
        has_tags = all(item.tags is not None for item in items)
        return TaggerBatch(word_ids, torch.tensor(lengths), casings, chars, char_lengths,
                           tags if has_tags else None)

    def _build(self) -> TagScorer:
        """The network: one tagger, or the mean of ``model.members`` of them."""
        if self.config.model.members == 1:
            return self._build_one()
        return TaggerMean([self._build_one() for _ in range(self.config.model.members)])

    def _build_one(self) -> RecurrentTagger:
        m = self.config.model
        allowed = (allowed_transitions(self.tags_, self.config.data.scheme)
                   if self.entities_ else (None, None, None))
        return RecurrentTagger(
            len(self.vocab_), len(self.tags_), embedding_dim=m.embedding_dim,
            hidden_size=m.hidden_size, cell=m.cell, num_layers=m.num_layers,
            bidirectional=m.bidirectional, dropout=m.dropout,
            char_vocab_size=len(self.chars_) if m.chars else 0, char_dim=m.char_dim,
            char_hidden=m.char_hidden, char_encoder=m.char_encoder, casing=m.casing,
            crf=m.crf, allowed=allowed[0], allowed_start=allowed[1], allowed_end=allowed[2])

    def _learned_tags(self, tags: Sequence[str]) -> list[str]:
        return convert(tags, self.config.data.scheme) if self.entities_ else list(tags)

    # ---- training ---------------------------------------------------------------------

    def fit(self, train: Sequence[Sentence], val: Sequence[Sentence], *,
            checkpoint_dir: str | Path | None = None, resume: bool = False,
            callbacks: TrainCallbacks | None = None) -> Tagger:
        """Build vocabularies and the tag set from ``train`` and train ``model.members``
        taggers on them (one by default); ``val`` picks each one's epoch."""
        cfg, t = self.config, self.config.training
        if not train or not val:
            raise DataError("tagging needs training and validation sentences")
        refuse_changing_weights(cfg.model.embedding.freeze_epochs)
        began = self.begin_fit(t.threads, cfg.seed)
        gold = [s.tags for s in train]
        all_tags = [tag for tags in gold for tag in tags]
        if len(set(all_tags)) < 2:
            raise DataError(f"the training data has one tag only ({all_tags[0]!r}); a tagger "
                            "needs at least two — check --tag-column")
        self.entities_ = is_entity_tagset(all_tags)
        self.source_scheme_ = detect_scheme(gold) if self.entities_ else "tags"
        learned = [self._learned_tags(tags) for tags in gold]
        counts = Counter(tag for tags in learned for tag in tags)
        self.tags_ = sorted(counts, key=lambda tag: (tag != "O", tag))
        self.tag_index_ = {tag: i for i, tag in enumerate(self.tags_)}
        words = [[self._word_key(w) for w in s.tokens] for s in train]
        word_counts = Counter(w for sentence in words for w in sentence)
        self.vocab_ = Vocab.build(words, cfg.data.min_count)
        matrix = self._start_vectors(words)
        self.chars_ = Vocab.build([list(w) for s in train for w in s.tokens])
        items = [self._encode(s.tokens, tags) for s, tags in zip(train, learned, strict=True)]
        singletons = torch.tensor([word_counts[w] == 1 for w in self.vocab_.itos])
        monitor = t.monitor or ("f1" if self.entities_ else "accuracy")
        if monitor == "f1" and not self.entities_:
            raise ConfigError("training.monitor f1 scores entities, and these tags are not "
                              "entity tags (no B-/I- prefixes); use accuracy or loss")
        val_items = [self._encode(s.tokens, self._learned_tags(s.tags)) for s in val
                     if all(tag in self.tag_index_ for tag in self._learned_tags(s.tags))]

        def validate(model: RecurrentTagger) -> dict[str, float]:
            scores = self.evaluate(val)
            losses = [float(model.loss(self._batch(val_items[i:i + PREDICT_BATCH])))
                      for i in range(0, len(val_items), PREDICT_BATCH)]
            return {"loss": sum(losses) / max(len(losses), 1),
                    **{k: v for k, v in scores.items() if isinstance(v, float)}}

        def plan(member: int, module: RecurrentTagger) -> TrainingPlan:
            """Member ``member``'s batches (its own order and rare-word drops) of
            ``module``, whose embedding the vectors' schedule may freeze."""
            embedding = module.embedding.weight
            vectors_cfg = cfg.model.embedding
            train_embedding_in(embedding, vectors_cfg, 1)

            def batches(epoch: int) -> Iterator[TaggerBatch]:
                train_embedding_in(embedding, vectors_cfg, epoch)
                generator = torch.Generator().manual_seed((cfg.seed + member) * 1000 + epoch)
                order = torch.randperm(len(items), generator=generator).tolist()
                pool = t.batch_size * 50  # sort within pools: a batch holds similar lengths
                groups = []
                for begin in range(0, len(order), pool):
                    chunk = sorted(order[begin:begin + pool], key=lambda i: len(items[i].words))
                    groups += [chunk[i:i + t.batch_size] for i in range(0, len(chunk),
                                                                         t.batch_size)]
                for g in torch.randperm(len(groups), generator=generator).tolist():
                    chosen = [items[i] for i in groups[g]]
                    yield self._batch(chosen, [self._drop_rare(item.words, singletons,
                                                               generator) for item in chosen])

            return TrainingPlan(batches, lambda model, batch: model.loss(batch), validate,
                                -(-len(items) // t.batch_size), data_parallel=True)

        members, results = [], []
        for member in range(cfg.model.members):
            if member:  # its start and dropout draws (the first keeps the fit's seed)
                torch.manual_seed(cfg.seed + member)
            self.module_ = self._build_one()
            if matrix is not None:
                with torch.no_grad():
                    self.module_.embedding.weight.copy_(torch.from_numpy(matrix))
            results.append(self.train_module(
                t, plan(member, self.module_),
                checkpoint_dir=member_checkpoints(checkpoint_dir, member),
                resume=resume, callbacks=callbacks, monitor=monitor))
            members.append(self.module_)
        lead = results[0]
        self.history_, self.best_epoch_, self.stopped_ = (lead.history, lead.best_epoch,
                                                          lead.stopped)
        if len(members) > 1:
            self.module_ = TaggerMean(members).eval()
        self.monitor_ = monitor
        self.fit_info_ = {
            "vocab_size": len(self.vocab_), "chars": len(self.chars_), "tags": self.tags_,
            "train_sentences": len(train), "train_tokens": len(all_tags),
            "val_sentences": len(val), **self.training_facts(lead, began),
            "train_seconds": sum(r.seconds for r in results),
            "monitor": monitor, "source_scheme": self.source_scheme_,
        }
        if len(members) > 1:
            metric = "f1" if self.entities_ else "accuracy"
            self.fit_info_["members"] = {
                "count": len(members), "seeds": [cfg.seed + i for i in range(len(members))],
                "metric": metric,
                "validation": [r.validation[f"val_{metric}"] for r in results],
                "averaged": [r.averaged for r in results],
                "mean_validation": self.evaluate(val)[metric]}
        if self.coverage_ is not None:
            self.fit_info_["embedding"] = self.coverage_.to_dict() | {
                "unlabelled_texts": self.unlabelled_texts_,
                "words_from_unlabelled_text": self.words_added_}
        return self

    def _start_vectors(self, words: list[list[str]]) -> np.ndarray | None:
        """Word2Vec/FastText/pretrained start vectors for the vocabulary (``None`` for
        learned embeddings), after adding the unlabelled text's words that have one.
        Sets ``coverage_``, ``unlabelled_texts_`` and ``words_added_``."""
        cfg = self.config
        self.coverage_: Coverage | None = None
        self.unlabelled_texts_ = self.words_added_ = 0
        emb = cfg.model.embedding
        if emb.type == "learned":
            return None
        unlabelled = read_unlabelled(
            cfg.data.vectors_text,
            lambda line: [self._word_key(t.text) for t in tokenize(line)], cfg.data.encoding)
        counts = Counter(w for sentence in unlabelled for w in sentence)
        candidates = sorted((w for w, c in counts.items() if c >= emb.min_count),
                            key=lambda w: (-counts[w], w))
        corpus = "the training sentences" + (
            f" and {len(unlabelled):,} unlabelled texts" if unlabelled else "")
        vectors, source = vectors_for(emb, words + unlabelled, {*self.vocab_.itos,
                                                                *candidates},
                                      cfg.model.embedding_dim, cfg.seed, corpus)
        known = len(self.vocab_)
        self.vocab_ = with_vector_words(self.vocab_, vectors, candidates)
        self.unlabelled_texts_, self.words_added_ = len(unlabelled), len(self.vocab_) - known
        matrix, self.coverage_ = start_matrix(self.vocab_, vectors, words, source, cfg.seed)
        return matrix

    def _drop_rare(self, words: list[int], singletons: torch.Tensor,
                   generator: torch.Generator) -> list[int]:
        """Words seen once in training read as ``<unk>`` with chance ``unk_replace``."""
        chance = self.config.model.unk_replace
        if not chance:
            return words
        draws = torch.rand(len(words), generator=generator).tolist()
        return [UNK_ID if singletons[w] and draw < chance else w
                for w, draw in zip(words, draws, strict=True)]

    # ---- prediction -------------------------------------------------------------------

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Tags for each sentence of tokens, in the training data's scheme."""
        self._check_fitted()
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        out: list[list[str]] = [[] for _ in sentences]
        self.module_.eval()
        with torch.inference_mode():
            for begin in range(0, len(order), PREDICT_BATCH):
                rows = [i for i in order[begin:begin + PREDICT_BATCH] if sentences[i]]
                if not rows:
                    continue
                batch = self._batch([self._encode(sentences[i]) for i in rows])
                for i, ids in zip(rows, self.module_.decode(batch), strict=True):
                    out[i] = self._given_back([self.tags_[j] for j in ids])
        return out

    def _given_back(self, tags: list[str]) -> list[str]:
        if not self.entities_ or self.source_scheme_ == self.config.data.scheme:
            return tags
        return convert(tags, self.source_scheme_)

    def evaluate(self, sentences: Sequence[Sentence]) -> dict[str, Any]:
        """Scores against gold tags: token accuracy and per-tag report, plus entity
        precision/recall/F1 (overall and per type) for entity tags."""
        gold = [s.tags for s in sentences]
        predicted = self.predict([s.tokens for s in sentences])
        tokens = token_scores(gold, predicted, self.output_tags())
        scores: dict[str, Any] = {"accuracy": tokens["accuracy"], "tokens": tokens}
        if self.entities_:
            scores |= entity_scores(gold, predicted)
        return scores

    def output_tags(self) -> list[str]:
        if not self.entities_ or self.source_scheme_ == self.config.data.scheme:
            return list(self.tags_)
        kinds = sorted({tag[2:] for tag in self.tags_ if tag != "O"})
        prefixes = {"iob1": ("B", "I"), "iob2": ("B", "I"), "iobes": ("B", "I", "E", "S")}
        return ["O", *(f"{p}-{k}" for k in kinds for p in prefixes[self.source_scheme_])]

    def tag_text(self, text: str) -> TaggedText:
        """Tokenize free text, tag it and group the entities with character offsets."""
        return self.tag_texts([text])[0]

    def tag_texts(self, texts: Sequence[str]) -> list[TaggedText]:
        """:meth:`tag_text` for each of ``texts``, tagged in one :meth:`predict` call."""
        self._check_fitted()
        tokenized = [tokenize(text) for text in texts]
        tag_lists = self.predict([[t.text for t in tokens] for tokens in tokenized])
        out = []
        for text, tokens, tags in zip(texts, tokenized, tag_lists, strict=True):
            rows = [{"token": t.text, "tag": tag, "start": t.start, "end": t.end}
                    for t, tag in zip(tokens, tags, strict=True)]
            entities = []
            if self.entities_:
                for kind, first, end in spans(tags):
                    start, stop = tokens[first].start, tokens[end - 1].end
                    entities.append(Entity(text[start:stop], kind, start, stop, first,
                                           end - 1))
            out.append(TaggedText(rows, entities))
        return out

    # ---- bundle -----------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Weights; vocabularies, tags and settings in the JSON header."""
        meta = {"config": self.config.model_dump(mode="json"), "vocab": self.vocab_.to_dict(),
                "chars": self.chars_.to_dict(), "tags": self.tags_,
                "entities": self.entities_, "source_scheme": self.source_scheme_,
                "fit_info": getattr(self, "fit_info_", {}), "metrics": metrics or {}}
        return prefixed(self.module_.state_dict()), meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Tagger:
        self = cls(TagConfig.model_validate(meta["config"]))
        self.vocab_ = Vocab.from_dict(meta["vocab"])
        self.chars_ = Vocab.from_dict(meta["chars"])
        self.tags_ = list(meta["tags"])
        self.tag_index_ = {tag: i for i, tag in enumerate(self.tags_)}
        self.entities_, self.source_scheme_ = meta["entities"], meta["source_scheme"]
        self.module_ = self._build()
        self.module_.load_state_dict(unprefixed(tensors))
        self.module_.eval()
        return self
