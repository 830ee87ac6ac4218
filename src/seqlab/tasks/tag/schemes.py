"""Entity tag schemes (IOB1, IOB2, IOBES): reading spans, converting, valid transitions.

A tag is ``O`` or ``PREFIX-TYPE``: ``B-PER`` begins a person, ``I-PER`` continues one,
``E-PER`` ends one and ``S-PER`` is a one-token person (IOBES). IOB2 begins every entity
with ``B-``; IOB1 (the original CoNLL-2003 files) uses ``B-`` only where an entity
directly follows another of the same type.

:func:`spans` reads entities the way the CoNLL ``conlleval`` script (and ``seqeval``'s
default mode) does, whatever the scheme, and tolerates invalid sequences: an ``I-X``
after ``O`` or after another type starts a new entity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from seqlab.errors import DataError
from seqlab.registry import Registry

OUTSIDE = "O"
PREFIXES = ("B", "I", "E", "S")
Span = tuple[str, int, int]  # (type, first token, one past the last token)


def split_tag(tag: str) -> tuple[str, str]:
    """``("B", "PER")`` from ``"B-PER"``; ``("O", "")`` from ``"O"``."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, _, kind = tag.partition("-")
    if prefix not in PREFIXES or not kind:
        raise DataError(f"tag {tag!r} is not O or B-/I-/E-/S- followed by a type")
    return prefix, kind


def is_entity_tagset(tags: Sequence[str]) -> bool:
    """True when every tag is ``O`` or ``B-/I-/E-/S-`` + type (and one is not ``O``)."""
    seen = set(tags)
    return seen != {OUTSIDE} and all(
        t == OUTSIDE or (t[:2] in ("B-", "I-", "E-", "S-") and len(t) > 2) for t in seen)


def _ends(prev: str, prev_kind: str, tag: str, kind: str) -> bool:
    """Whether the entity open at ``prev`` ends before ``tag`` (conlleval's rule)."""
    if prev == OUTSIDE:
        return False
    return prev in ("E", "S") or tag in ("B", "S", OUTSIDE) or prev_kind != kind


def _starts(prev: str, prev_kind: str, tag: str, kind: str) -> bool:
    """Whether ``tag`` starts a new entity after ``prev`` (conlleval's rule)."""
    if tag == OUTSIDE:
        return False
    return tag in ("B", "S") or prev in (OUTSIDE, "E", "S") or prev_kind != kind


def spans(tags: Sequence[str]) -> list[Span]:
    """The entities in a tag sequence as ``(type, start, end)``, end exclusive."""
    found: list[Span] = []
    prev, prev_kind, begin = OUTSIDE, "", 0
    for index, tag in enumerate([*tags, OUTSIDE]):
        prefix, kind = split_tag(tag)
        if _ends(prev, prev_kind, prefix, kind):
            found.append((prev_kind, begin, index))
        if _starts(prev, prev_kind, prefix, kind):
            begin = index
        prev, prev_kind = prefix, kind
    return found


def _iob1(found: Sequence[Span], length: int) -> list[str]:
    tags = [OUTSIDE] * length
    last_end, last_kind = -1, ""
    for kind, start, end in found:
        tags[start:end] = [f"I-{kind}"] * (end - start)
        if start == last_end and kind == last_kind:
            tags[start] = f"B-{kind}"
        last_end, last_kind = end, kind
    return tags


def _iob2(found: Sequence[Span], length: int) -> list[str]:
    tags = [OUTSIDE] * length
    for kind, start, end in found:
        tags[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
    return tags


def _iobes(found: Sequence[Span], length: int) -> list[str]:
    tags = [OUTSIDE] * length
    for kind, start, end in found:
        if end - start == 1:
            tags[start] = f"S-{kind}"
        else:
            tags[start:end] = ([f"B-{kind}"] + [f"I-{kind}"] * (end - start - 2)
                               + [f"E-{kind}"])
    return tags


SCHEMES: Registry[Callable[[Sequence[Span], int], list[str]]] = Registry("tag scheme")
SCHEMES.register("iob1")(_iob1)
SCHEMES.register("iob2")(_iob2)
SCHEMES.register("iobes")(_iobes)


def from_spans(found: Sequence[Span], length: int, scheme: str) -> list[str]:
    """Tags in ``scheme`` for ``length`` tokens holding the entities ``found``."""
    return SCHEMES.get(scheme)(found, length)


def convert(tags: Sequence[str], scheme: str) -> list[str]:
    """The same entities written in ``scheme``."""
    return from_spans(spans(tags), len(tags), scheme)


def detect_scheme(sequences: Sequence[Sequence[str]]) -> str:
    """``iobes`` if any tag is ``E-``/``S-``; ``iob1`` if an entity ever starts with
    ``I-``; else ``iob2``."""
    prefixes = {t[0] for tags in sequences for t in tags}
    if prefixes & {"E", "S"}:
        return "iobes"
    for tags in sequences:
        for kind, start, _ in spans(tags):
            if tags[start] == f"I-{kind}":
                return "iob1"
    return "iob2"


def entity_types(tags: Sequence[str]) -> list[str]:
    """The entity types named in a tag set, sorted."""
    return sorted({split_tag(t)[1] for t in tags if t != OUTSIDE})


def allowed_transitions(tags: Sequence[str], scheme: str
                        ) -> tuple[list[list[bool]], list[bool], list[bool]]:
    """Which tag may follow which in a valid ``scheme`` sequence, which may start one
    and which may end one (a CRF forbids the rest). IOB1 is given no constraints."""
    parsed = [split_tag(t) for t in tags]

    def may_follow(a: tuple[str, str], b: tuple[str, str]) -> bool:
        if scheme == "iob1":
            return True
        if b[0] in ("I", "E"):
            return a[0] in ("B", "I") and a[1] == b[1]
        if scheme == "iobes":
            return a[0] in (OUTSIDE, "E", "S")
        return True

    follow = [[may_follow(a, b) for b in parsed] for a in parsed]
    start = [scheme == "iob1" or p[0] not in ("I", "E") for p in parsed]
    end = [scheme != "iobes" or p[0] in (OUTSIDE, "E", "S") for p in parsed]
    return follow, start, end
