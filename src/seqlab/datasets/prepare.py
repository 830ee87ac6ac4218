"""How a fetched dataset becomes the files a task reads: one function per layout, in a
registry. Each takes the fetched sources (file name → path) and the folder to write into,
and writes the entry's ``prepared`` files there."""

from __future__ import annotations

import csv
import hashlib
import tarfile
from collections.abc import Callable
from pathlib import Path

from seqlab.errors import DataError
from seqlab.registry import Registry

Preparer = Callable[[dict[str, Path], Path], None]
PREPARERS: Registry[Preparer] = Registry("prepare step")


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]],
               delimiter: str = ",") -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@PREPARERS.register("trec")
def trec(sources: dict[str, Path], out: Path) -> None:
    """``COARSE:fine question`` lines → CSV ``text,label,label_fine``. One byte of the
    official training file (0xF0, a damaged space) is read as the space it stood for."""
    for raw, name in (("train_5500.label", "train.csv"), ("TREC_10.label", "test.csv")):
        rows = []
        for line in sources[raw].read_bytes().replace(b"\xf0", b" ").decode("ascii").split("\n"):
            if line.strip():
                fine, _, text = line.strip().partition(" ")
                rows.append((text, fine.split(":")[0], fine))
        _write_csv(out / name, ("text", "label", "label_fine"), rows)


@PREPARERS.register("sms")
def sms(sources: dict[str, Path], out: Path) -> None:
    """``label<TAB>text`` lines → CSV ``text,label``; the texts are kept exactly (their
    control characters too, so lines are split at newlines only)."""
    rows = []
    text = sources["SMSSpamCollection"].read_text(encoding="utf-8")
    for number, line in enumerate(text.split("\n"), start=1):
        if line:
            label, tab, message = line.partition("\t")
            if not tab:
                raise DataError(f"{sources['SMSSpamCollection']}, line {number}: no tab "
                                "between label and text; the file is not the SMS Spam "
                                "Collection")
            rows.append((message, label))
    _write_csv(out / "sms_spam.csv", ("text", "label"), rows)


_DOCSTART = "-DOCSTART- -X- -X- O\n"
_FOREIGN_DOCUMENT = ["Ravi", "went", "to", "Delhi"]


def _first_words(document: str, n: int) -> list[str]:
    words = [line.split(" ", 1)[0] for line in document.split("\n") if line.strip()]
    return words[:n]


@PREPARERS.register("conll2003")
def conll2003(sources: dict[str, Path], out: Path) -> None:
    """CoNLL-2003 as published, less the one foreign document that copy of ``eng.train``
    holds (a document whose first words are 'Ravi went to Delhi')."""
    text = sources["eng.train"].read_text(encoding="utf-8")
    documents = text.split(_DOCSTART)
    kept = [doc for doc in documents
            if _first_words(doc, len(_FOREIGN_DOCUMENT)) != _FOREIGN_DOCUMENT]
    (out / "train.txt").write_text(_DOCSTART.join(kept), encoding="utf-8")
    for raw, name in (("eng.testa", "valid.txt"), ("eng.testb", "test.txt")):
        (out / name).write_bytes(sources[raw].read_bytes())


@PREPARERS.register("conll2003-entity-sets")
def conll2003_entity_sets(sources: dict[str, Path], out: Path) -> None:
    """CoNLL-2003's sentences as multi-label data: each sentence with the set of entity
    types it contains (``train|valid|test.jsonl``)."""
    from seqlab.tasks.multilabel.labelsets import write_entity_sets

    conll2003(sources, out)
    for split in ("train", "valid", "test"):
        write_entity_sets(out / f"{split}.txt", out / f"{split}.jsonl")


@PREPARERS.register("imdb")
def imdb(sources: dict[str, Path], out: Path) -> None:
    """The ``aclImdb`` archive's labelled reviews → ``train.csv`` and ``test.csv`` with
    columns ``review,sentiment`` (the unlabelled ``unsup`` reviews are left out), in a
    fixed order: split, then label, then review id."""
    splits: dict[str, list[tuple[int, str, str]]] = {"train": [], "test": []}
    with tarfile.open(sources["aclImdb_v1.tar.gz"], "r:gz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if (not member.isfile() or len(parts) != 4 or parts[1] not in splits
                    or parts[2] not in ("pos", "neg") or not parts[3].endswith(".txt")):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            review = handle.read().decode("utf-8")
            label = "positive" if parts[2] == "pos" else "negative"
            splits[parts[1]].append((int(parts[3].split("_")[0]), label, review))
    for split, rows in splits.items():
        if not rows:
            raise DataError(f"{sources['aclImdb_v1.tar.gz']}: no aclImdb/{split}/pos|neg "
                            "reviews inside; the archive is not the IMDB one")
        rows.sort(key=lambda row: (row[1], row[0]))
        _write_csv(out / f"{split}.csv", ("review", "sentiment"),
                   [(review, label) for _, label, review in rows])


def _word_split(word: str) -> str:
    """train / val / test by a hash of the word, so a word's pronunciations stay together
    and the split never depends on a random generator (90 / 5 / 5)."""
    bucket = int(hashlib.sha256(word.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < 90 else "val" if bucket < 95 else "test"


def _cmudict(source: Path, out: Path, stress: bool) -> None:
    """``word PH ON EMES`` lines (variants as ``word(2)``, notes after ``#``) → TSV
    ``source,target`` pairs: the word's letters spaced, and its phonemes; split by word.
    Without ``stress`` the vowels lose their stress digits (``AH0`` → ``AH``) and a word's
    variants that then read the same are kept once (with the marks, every entry is kept)."""
    rows: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    seen: set[tuple[str, str]] = set()
    for line in source.read_text(encoding="utf-8").split("\n"):
        entry = line.split("#", 1)[0].split()
        if len(entry) < 2 or line.startswith(";;;"):  # ;;; begins the older copies' notes
            continue
        word = entry[0].split("(", 1)[0] if entry[0].endswith(")") else entry[0]
        phonemes = entry[1:] if stress else [p.rstrip("012") for p in entry[1:]]
        pair = (" ".join(word), " ".join(phonemes))
        if not stress:  # variants told apart by their stress alone are one pronunciation
            if pair in seen:
                continue
            seen.add(pair)
        rows[_word_split(word)].append(pair)
    for split, pairs in rows.items():
        _write_csv(out / f"{split}.tsv", ("source", "target"), pairs, delimiter="\t")


@PREPARERS.register("cmudict")
def cmudict(sources: dict[str, Path], out: Path) -> None:
    """The CMU dictionary with its stress marks (``AH0``, ``AH1``, ``AH2``)."""
    _cmudict(sources["cmudict.dict"], out, stress=True)


@PREPARERS.register("cmudict-nostress")
def cmudict_nostress(sources: dict[str, Path], out: Path) -> None:
    """The CMU dictionary without stress marks: 39 phonemes, as in the G2P literature's
    CMUdict benchmark (the 2007 PRONALSYL split has no stress)."""
    _cmudict(sources["cmudict.dict"], out, stress=False)
