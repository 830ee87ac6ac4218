import inspect

import pytest

from seqlab.config import apply_overrides
from seqlab.errors import ConfigError
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.config import RunConfig, load_config, parse_config


def test_unknown_key_names_path_and_allowed_keys():
    with pytest.raises(ConfigError) as err:
        parse_config({"model": {"hiden_size": 12}})
    message = str(err.value)
    assert "model.hiden_size: unknown key" in message
    assert "hidden_size" in message and "pooling" in message


def test_bad_values_name_key_and_allowed_values():
    with pytest.raises(ConfigError, match=r"model\.cell: 'lstmm' is not one of: rnn, lstm, gru"):
        parse_config({"model": {"cell": "lstmm"}})
    with pytest.raises(ConfigError, match=r"training\.monitor"):
        parse_config({"training": {"monitor": "f1"}})
    with pytest.raises(ConfigError, match=r"training\.lr"):
        parse_config({"training": {"lr": -1}})
    with pytest.raises(ConfigError, match="preprocessing"):
        parse_config({"preprocessing": ["tokenize", "lowercase"]})


def test_yaml_round_trip_and_overrides(tmp_path):
    config = apply_overrides(RunConfig(), {"model.cell": "gru", "training.lr": 0.01,
                                           "data.train": "x.txt", "seed": None})
    path = tmp_path / "c.yaml"
    path.write_text(config.to_yaml())
    again = load_config(path)
    assert again == config
    assert again.model.cell == "gru" and again.seed == RunConfig().seed


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such config"):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_classifier_defaults_are_the_config_defaults():
    """The estimator and the YAML config must not drift apart."""
    defaults = {name: p.default for name, p in
                inspect.signature(TextClassifier.__init__).parameters.items() if name != "self"}
    config = RunConfig()
    from_config = TextClassifier.from_config(config).get_params()
    assert from_config == defaults


def test_classifier_rejects_impossible_hyper_parameters_before_training(toy_texts):
    with pytest.raises(ConfigError, match="TextClassifier: dropout"):
        TextClassifier(dropout=1.5).fit(*toy_texts)
