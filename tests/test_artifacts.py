import json

import pytest
import torch

from seqlab.artifacts import (
    atomic_write_text,
    flatten_state,
    load_tensors,
    save_tensors,
    staged_folder,
    unflatten_state,
)
from seqlab.errors import BundleError


def test_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    save_tensors(path, {"w": torch.arange(6.0).reshape(2, 3)}, {"labels": ["a", "b"]}, "kind")
    tensors, meta = load_tensors(path, "kind")
    assert tensors["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert meta["labels"] == ["a", "b"] and meta["format"] == "kind"


def test_missing_damaged_and_foreign_files(tmp_path):
    with pytest.raises(BundleError, match="no such model file"):
        load_tensors(tmp_path / "none.safetensors", "kind")
    path = tmp_path / "m.safetensors"
    save_tensors(path, {"w": torch.ones(100)}, {}, "kind")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="damaged"):
        load_tensors(path, "kind")
    save_tensors(path, {"w": torch.ones(1)}, {}, "other")
    with pytest.raises(BundleError, match="not a 'kind'"):
        load_tensors(path, "kind")


def test_a_pickle_is_never_loaded(tmp_path):
    path = tmp_path / "m.safetensors"
    torch.save({"w": torch.ones(1)}, path)  # a pickle-based file under our name
    with pytest.raises(BundleError):
        load_tensors(path, "kind")


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.json"
    atomic_write_text(path, json.dumps({"v": 1}))

    class Boom(Exception):
        pass

    from seqlab import artifacts

    def failing(tmp):
        tmp.write_text("half")
        raise Boom

    with pytest.raises(Boom):
        artifacts.atomic_write_bytes(path, failing)
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_optimizer_state_flattens_and_restores():
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    tensors, structure = flatten_state(optimizer.state_dict(), "opt")
    json.dumps(structure)  # plain JSON, no objects
    restored = unflatten_state(json.loads(json.dumps(structure)), tensors)
    fresh = torch.optim.AdamW(model.parameters(), lr=0.5)
    fresh.load_state_dict(restored)
    assert fresh.param_groups[0]["lr"] == 0.1
    torch.testing.assert_close(fresh.state[model.weight]["exp_avg"],
                               optimizer.state[model.weight]["exp_avg"])


def test_a_staged_folder_replaces_its_files_only_when_the_block_succeeds(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "a.json").write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), staged_folder(out, ("a.json",)) as staging:
        (staging / "a.json").write_text("new", encoding="utf-8")
        raise RuntimeError("the check failed")
    assert (out / "a.json").read_text(encoding="utf-8") == "old"
    assert [p.name for p in out.iterdir()] == ["a.json"]  # no scratch folder left
    with staged_folder(out, ("a.json",)) as staging:
        (staging / "a.json").write_text("new", encoding="utf-8")
    assert (out / "a.json").read_text(encoding="utf-8") == "new"
    assert [p.name for p in out.iterdir()] == ["a.json"]
