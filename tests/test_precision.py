"""bfloat16 autocast: what ``auto`` resolves to, that training and prediction compute in the
chosen format, that weights and bundles stay float32, and that the two formats agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqlab.config import TrainingConfig
from seqlab.errors import ConfigError
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.config import ModelConfig
from seqlab.tasks.classify.network import build_module, predict_logits
from seqlab.training import precision as precision_module
from seqlab.training.precision import compute_in, flags_of, resolve_precision
from seqlab.training.trainer import Trainer, TrainingPlan

from conftest import TINY

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu vme sse2 avx2 {extra} erms
bugs\t\t: spectre_v1
"""


@pytest.mark.parametrize(("extra", "expected"), [
    ("amx_bf16 amx_tile", "bfloat16"), ("avx512f avx512_bf16", "bfloat16"),
    ("avx512f avx512bw", "float32"), ("", "float32"),
])
def test_auto_is_bfloat16_only_where_the_cpu_has_bfloat16_instructions(monkeypatch, extra,
                                                                          expected):
    monkeypatch.setattr(precision_module, "cpu_flags",
                        lambda: flags_of(CPUINFO.format(extra=extra)))
    assert resolve_precision("auto") == expected
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("bfloat16") == "bfloat16"


def test_a_machine_without_cpu_flags_computes_in_float32(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: flags_of(""))
    assert resolve_precision("auto") == "float32"


def test_an_unknown_precision_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"precision: .*'auto', 'float32' or 'bfloat16'"):
        TextClassifier(**TINY | {"precision": "float16"}).fit(["a b", "c d"] * 4,
                                                               ["x", "y"] * 4)


def _linear_output_dtype(precision: str) -> tuple[torch.dtype, torch.dtype]:
    """The dtypes a linear layer's output has inside training and validation."""
    seen: dict[str, torch.dtype] = {}
    model = nn.Linear(4, 2)
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))

    def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        logits = m(batch[0])
        seen["train"] = logits.dtype
        return nn.functional.cross_entropy(logits, batch[1])

    def validate(m: nn.Module) -> dict[str, float]:
        seen["val"] = m(x).dtype
        return {"loss": 0.0}

    config = TrainingConfig(max_epochs=1, precision=precision, monitor="loss")
    Trainer(model, config, TrainingPlan(lambda epoch: [(x, y)], loss_fn, validate)).fit()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    return seen["train"], seen["val"]


def test_the_trainer_computes_in_the_configured_precision_and_keeps_float32_weights():
    assert _linear_output_dtype("bfloat16") == (torch.bfloat16, torch.bfloat16)
    assert _linear_output_dtype("float32") == (torch.float32, torch.float32)


def test_float32_and_bfloat16_logits_agree_on_a_fixed_input():
    torch.manual_seed(0)
    config = ModelConfig(kind="recurrent", embedding_dim=32, hidden_size=32)
    module = build_module(config, vocab_size=50, num_classes=4)
    generator = np.random.default_rng(0)
    sequences = [generator.integers(2, 50, size=int(n)) for n in generator.integers(1, 30, 64)]
    full = predict_logits(module, sequences, precision="float32")
    half = predict_logits(module, sequences, precision="bfloat16")
    assert full.dtype == half.dtype == np.float32
    assert not np.array_equal(full, half), "bfloat16 was not used"
    # bfloat16 keeps 8 significant bits: about 0.4 % per rounding
    np.testing.assert_allclose(half, full, atol=0.03 * np.abs(full).max())


def test_predict_logits_without_a_precision_follows_the_callers_block():
    torch.manual_seed(0)
    module = build_module(ModelConfig(kind="recurrent", embedding_dim=8, hidden_size=8), 20, 3)
    sequences = [np.array([2, 3, 4]), np.array([5, 6])]
    with compute_in("bfloat16"):
        inherited = predict_logits(module, sequences)
    np.testing.assert_array_equal(inherited, predict_logits(module, sequences,
                                                            precision="bfloat16"))


def test_a_model_trained_in_bfloat16_saves_float32_and_predicts_the_same_after_loading(
        tmp_path, toy_texts):
    texts, labels = toy_texts
    clf = TextClassifier(**TINY | {"precision": "bfloat16"}).fit(texts, labels)
    assert all(t.dtype == torch.float32 for t in clf.module_.state_dict().values())
    clf.save(tmp_path / "model.safetensors")
    loaded = TextClassifier.load(tmp_path / "model.safetensors")
    assert loaded.precision == "bfloat16"
    np.testing.assert_array_equal(loaded.predict_proba(texts), clf.predict_proba(texts))
    loaded.set_params(precision="float32")
    np.testing.assert_allclose(loaded.predict_proba(texts), clf.predict_proba(texts),
                               atol=0.02)


def test_an_unknown_precision_set_after_fitting_is_one_clear_error(toy_texts):
    texts, labels = toy_texts
    clf = TextClassifier(**TINY | {"max_epochs": 1}).fit(texts, labels)
    clf.set_params(precision="half")
    with pytest.raises(ConfigError, match="'half' is not one of: auto, float32, bfloat16"):
        clf.predict(texts)
