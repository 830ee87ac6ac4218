"""Data-parallel training under torchrun (gloo, 2 processes on this machine).

The oracle: with dropout off and every batch split evenly, two processes averaging their
half-batch gradients take the same steps as one process on whole batches, so the
weights of both ranks are identical to each other and equal to a one-process fit."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from safetensors.torch import load_file

from seqlab.errors import ConfigError
from seqlab.training.distributed import World, check_batch_size, rows_of, without_option

ROOT = Path(__file__).resolve().parents[1]

FIT = textwrap.dedent("""
    import sys
    from safetensors.torch import save_file
    from seqlab.tasks.classify.classifier import TextClassifier
    from seqlab.training.distributed import world

    good = ["i love this", "what a great day", "so happy now", "great and lovely",
            "i am happy", "lovely great fun", "happy happy day", "this is great"]
    bad = ["i hate this", "what an awful day", "so sad now", "awful and horrid",
           "i am sad", "horrid awful mess", "sad sad day", "this is awful"]
    texts, labels = (good + bad) * 3, (["pos"] * 8 + ["neg"] * 8) * 3
    clf = TextClassifier(embedding_dim=16, hidden_size=16, batch_size=16, max_epochs=3,
                         patience=10, lr=0.01, threads=1, precision="float32", dropout=0.0,
                         embedding_dropout=0.0, random_state=3)
    clf.fit(texts, labels, texts, labels)
    state = {k: v.contiguous() for k, v in clf.module_.state_dict().items()}
    save_file(state, f"{sys.argv[1]}/rank{world().rank}.safetensors")
""")


def _env() -> dict[str, str]:
    return os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}


def _torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node=2", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)


def test_two_processes_train_the_same_weights_as_one(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    run = _torchrun(str(script), str(tmp_path / "two"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    single = subprocess.run([sys.executable, str(script), str(tmp_path / "one")],
                            env=_env(), capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]

    rank0 = load_file(tmp_path / "two" / "rank0.safetensors")
    rank1 = load_file(tmp_path / "two" / "rank1.safetensors")
    alone = load_file(tmp_path / "one" / "rank0.safetensors")
    assert rank0.keys() == rank1.keys() == alone.keys()
    for key in rank0:
        assert (rank0[key] == rank1[key]).all(), key  # the ranks never drift apart
        assert (rank0[key] - alone[key]).abs().max() < 1e-4, key


def test_seqlab_train_nproc_writes_one_run_folder(tmp_path):
    rows = [(f"{word} {n}", label) for n in range(24)
            for word, label in (("happy lovely", "pos"), ("awful sad", "neg"))]
    data = tmp_path / "toy.csv"
    data.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows))
    run = subprocess.run(
        [sys.executable, "-m", "seqlab", "train", str(data), "--kind", "recurrent",
         "--nproc", "2", "--epochs", "2", "--batch-size", "8", "--embedding-dim", "16",
         "--hidden-size", "16", "--no-baseline", "--output-dir", str(tmp_path / "runs"),
         "--quiet"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("done") == 1  # rank 0 speaks; the other rank trains silently
    assert "Traceback" not in run.stderr
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == ["toy-recurrent"]
    folder = tmp_path / "runs" / "toy-recurrent"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["fit"]["epochs"] == 2
    assert (folder / "model.safetensors").exists()


def test_a_batch_size_the_processes_cannot_share_is_refused():
    check_batch_size(64, World(0, 2, 2))
    with pytest.raises(ConfigError, match="batch_size 63 does not divide among 2 processes"):
        check_batch_size(63, World(1, 2, 2))


def test_each_rank_takes_every_size_th_row():
    import torch

    batch = (torch.arange(6), torch.arange(6) * 10)
    first, second = rows_of(batch, World(0, 2, 2)), rows_of(batch, World(1, 2, 2))
    assert first[0].tolist() == [0, 2, 4] and second[1].tolist() == [10, 30, 50]
    together = sorted(first[0].tolist() + second[0].tolist())
    assert together == list(range(6))


def test_the_launcher_takes_its_own_option_out():
    argv = ["train", "d.csv", "--nproc", "2", "--epochs", "3", "--nproc=4", "--name", "x"]
    assert without_option(argv, "--nproc") == ["train", "d.csv", "--epochs", "3", "--name",
                                               "x"]
