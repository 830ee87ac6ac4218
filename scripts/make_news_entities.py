"""Writes the synthetic news-entity sample that ships with seqlab (deterministic):

    python scripts/make_news_entities.py > src/seqlab/samples/news_entities.conll

Short news-style sentences in the CoNLL-2003 column layout (token, POS, NER in IOB2),
made from templates and name lists written for seqlab. Some names appear only in the
last tenth of the sentences, so a model has to recognise entities it never saw.
"""
import random

rng = random.Random(11)
first = ["Angela", "Peter", "Maria", "John", "Yuki", "Ahmed", "Elena", "Carlos", "Priya",
         "Lars", "Fatima", "Tom", "Chen", "Olga", "David", "Amara", "Lucas", "Sofia"]
last = ["Merkel", "Blackburn", "Rossi", "Smith", "Tanaka", "Hassan", "Petrova", "Garcia",
        "Sharma", "Nilsson", "Okafor", "Brown", "Wei", "Ivanova", "Miller", "Diallo"]
places = [["Paris"], ["Berlin"], ["Tokyo"], ["Brussels"], ["New", "York"], ["Lagos"],
          ["Madrid"], ["Oslo"], ["Cairo"], ["Buenos", "Aires"], ["Sydney"], ["Mumbai"],
          ["San", "Francisco"], ["Rome"], ["Lima"], ["Seoul"]]
orgs = [["Siemens"], ["European", "Commission"], ["United", "Nations"], ["Reuters"],
        ["Real", "Madrid"], ["Toyota"], ["World", "Bank"], ["Red", "Cross"], ["Nokia"],
        ["Bank", "of", "England"], ["Ajax"], ["Interpol"]]
misc = [["German"], ["French"], ["Olympic"], ["Japanese"], ["World", "Cup"], ["British"],
        ["Nobel"], ["Brazilian"]]
days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
unseen_first = ["Ingrid", "Kwame", "Mateo", "Aiko"]
unseen_last = ["Lindqvist", "Mensah", "Herrera", "Sato"]
unseen_places = [["Nairobi"], ["Hanoi"], ["Quito"]]

# A template is a list of (word, POS) pairs and slots: PER, LOC, ORG, MISC, DAY.
templates = [
    ["PER", ("visited", "VBD"), "LOC", ("on", "IN"), "DAY", (".", ".")],
    ["PER", ("said", "VBD"), ("the", "DT"), "ORG", ("would", "MD"), ("open", "VB"),
     ("an", "DT"), ("office", "NN"), ("in", "IN"), "LOC", (".", ".")],
    ["ORG", ("shares", "NNS"), ("rose", "VBD"), ("in", "IN"), "LOC", ("on", "IN"), "DAY",
     (".", ".")],
    ["The", "MISC", ("team", "NN"), ("beat", "VBD"), "ORG", ("in", "IN"), "LOC", (".", ".")],
    [("Officials", "NNS"), ("in", "IN"), "LOC", ("met", "VBD"), "PER", ("of", "IN"), "ORG",
     (".", ".")],
    ["PER", ("won", "VBD"), ("the", "DT"), "MISC", ("prize", "NN"), (".", ".")],
    ["PER", ("and", "CC"), "PER", ("flew", "VBD"), ("to", "TO"), "LOC", (".", ".")],
    [("A", "DT"), "MISC", ("company", "NN"), ("bought", "VBD"), "ORG", ("for", "IN"),
     ("$", "$"), ("2", "CD"), ("billion", "CD"), (".", ".")],
    ["LOC", ("police", "NNS"), ("arrested", "VBD"), "PER", ("on", "IN"), "DAY", (".", ".")],
    [("Talks", "NNS"), ("between", "IN"), "ORG", ("and", "CC"), "ORG", ("ended", "VBD"),
     ("in", "IN"), "LOC", (".", ".")],
    [("It", "PRP"), ("rained", "VBD"), ("all", "DT"), ("day", "NN"), ("on", "IN"), "DAY",
     (".", ".")],
    ["PER", ("told", "VBD"), "ORG", ("that", "IN"), ("prices", "NNS"), ("would", "MD"),
     ("fall", "VB"), (".", ".")],
]


def person(unseen: bool) -> list[str]:
    names = (unseen_first, unseen_last) if unseen else (first, last)
    if rng.random() < 0.25:
        return [rng.choice(names[1])]
    return [rng.choice(names[0]), rng.choice(names[1])]


def fill(slot: str, unseen: bool) -> list[tuple[str, str, str]]:
    if slot == "DAY":
        return [(rng.choice(days), "NNP", "O")]
    if slot == "The":
        return [("The", "DT", "O")]
    words = {"PER": lambda: person(unseen),
             "LOC": lambda: rng.choice(unseen_places if unseen and rng.random() < 0.5
                                       else places),
             "ORG": lambda: rng.choice(orgs), "MISC": lambda: rng.choice(misc)}[slot]()
    pos = "JJ" if slot == "MISC" and len(words) == 1 else "NNP"
    return [(w, "IN" if w == "of" else pos, ("B-" if i == 0 else "I-") + slot)
            for i, w in enumerate(words)]


def sentence(unseen: bool) -> list[tuple[str, str, str]]:
    rows = []
    for part in rng.choice(templates):
        rows += fill(part, unseen) if isinstance(part, str) else [(*part, "O")]
    return rows


print("-DOCSTART- -X- -X- O\n")
total = 400
for index in range(total):
    for word, pos, tag in sentence(unseen=index >= total * 0.9):
        print(word, pos, tag)
    print()
