"""Data-parallel training under torchrun (gloo, 2 processes on this machine).

The oracle: with dropout off and every batch split evenly, two processes averaging their
half-batch gradients take the same steps as one process on whole batches, so the
weights of both ranks are identical to each other and equal to a one-process fit. It
holds for every task whose loss is a mean over the batch's rows; a loss that is a mean
over tokens weighs each process's tokens alike, so there only the ranks must agree."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from safetensors.torch import load_file

from seqlab.artifacts import load_tensors, unprefixed
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
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    clf = TextClassifier(embedding_dim=16, hidden_size=16, batch_size=16, max_epochs=epochs,
                         patience=10, lr=0.01, threads=1, precision="float32", dropout=0.0,
                         embedding_dropout=0.0, random_state=3)
    checkpoints = sys.argv[3] if len(sys.argv) > 3 else None
    clf.fit(texts, labels, texts, labels, checkpoint_dir=checkpoints,
            resume=checkpoints is not None)
    state = {k: v.contiguous() for k, v in clf.module_.state_dict().items()}
    save_file(state, f"{sys.argv[1]}/rank{world().rank}.safetensors")
""")

# another task's tiny fit from the estimator battery, dropout off, in float32
TASK_FIT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from safetensors.torch import save_file
    from seqlab.training.distributed import world
    import test_estimator_battery as battery

    case = getattr(battery, sys.argv[2])({{"model.dropout": 0.0,
                                           "training.precision": "float32",
                                           **dict(arg.split("=") for arg in sys.argv[3:])}})
    estimator = case.make()
    case.fit(estimator)
    # every network a forecaster trained (kinds × members), else the one module
    networks = getattr(estimator, "networks_", {{"model": [estimator.module_]}})
    state = {{f"{{kind}}.{{i}}.{{k}}": v.contiguous() for kind, modules in networks.items()
             for i, module in enumerate(modules) for k, v in module.state_dict().items()}}
    save_file(state, f"{{sys.argv[1]}}/rank{{world().rank}}.safetensors")
""").format(tests=str(Path(__file__).resolve().parent))


def _env() -> dict[str, str]:
    return os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}


def _torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node=2", *args], cwd=cwd, env=_env(),
                         capture_output=True, text=True, timeout=300)
    if run.returncode:  # the ranks' own words come before torchrun's summary
        print(run.stderr[:6000])
    return run


def _alone(*args: str) -> None:
    run = subprocess.run([sys.executable, *args], env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]


def _weights(folder: Path, rank: int = 0) -> dict:
    return load_file(folder / f"rank{rank}.safetensors")


def _assert_same(first: dict, second: dict, tolerance: float) -> None:
    assert first.keys() == second.keys()
    for key in first:
        assert (first[key] - second[key]).abs().max() <= tolerance, key


def test_two_processes_train_the_same_weights_as_one(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    run = _torchrun(str(script), str(tmp_path / "two"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    _alone(str(script), str(tmp_path / "one"))

    rank0, rank1 = _weights(tmp_path / "two"), _weights(tmp_path / "two", 1)
    _assert_same(rank0, rank1, 0.0)  # the ranks never drift apart
    _assert_same(rank0, _weights(tmp_path / "one"), 1e-4)


@pytest.mark.parametrize(("case", "settings", "alike"), [
    ("tagger_case", [], True), ("lm_case", [], True), ("seq2seq_case", [], False),
    ("forecaster_case", ["training.max_minutes=5", "training.batch_size=16"], True)])
def test_every_recurrent_task_trains_on_two_processes(tmp_path, case, settings, alike):
    """The tagger (a CRF loss the model computes itself), the language model (state
    carried from batch to batch, each rank its own rows), the encoder–decoder (a mean
    over target tokens, so one process's steps differ a little from two's) and the
    forecaster (both kinds of network, each process reading rank 0's clock for the time
    budget)."""
    script = tmp_path / "fit.py"
    script.write_text(TASK_FIT)
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    run = _torchrun(str(script), str(tmp_path / "two"), case, *settings, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    rank0 = _weights(tmp_path / "two")
    _assert_same(rank0, _weights(tmp_path / "two", 1), 0.0)
    if alike:
        _alone(str(script), str(tmp_path / "one"), case, *settings)
        _assert_same(rank0, _weights(tmp_path / "one"), 1e-4)


@pytest.mark.parametrize("first, then", [("two", "one"), ("one", "two")])
def test_a_run_resumes_on_another_number_of_processes(tmp_path, first, then):
    """Two epochs on ``first`` processes, resumed to four on ``then``, end where four
    epochs on one process end: the checkpoint is the same whoever wrote it."""
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    for folder in ("start", "resumed", "straight"):
        (tmp_path / folder).mkdir()
    checkpoints = str(tmp_path / "checkpoints")

    def fit(processes: str, out: str, epochs: str) -> None:
        if processes == "two":
            run = _torchrun(str(script), out, epochs, checkpoints, cwd=tmp_path)
            assert run.returncode == 0, run.stderr[-2000:]
        else:
            _alone(str(script), out, epochs, checkpoints)

    fit(first, str(tmp_path / "start"), "2")
    fit(then, str(tmp_path / "resumed"), "4")
    # the last epoch's weights, as the checkpoints hold them
    resumed, meta = load_tensors(Path(checkpoints) / "last.safetensors", "checkpoint")
    assert meta["epoch"] == 4 and [h["epoch"] for h in meta["history"]] == [1, 2, 3, 4]
    straight_ckpt = tmp_path / "straight_ckpt"
    _alone(str(script), str(tmp_path / "straight"), "4", str(straight_ckpt))
    straight, _ = load_tensors(straight_ckpt / "last.safetensors", "checkpoint")
    _assert_same(unprefixed(resumed), unprefixed(straight), 1e-4)


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


def _lm_command(folder: Path) -> list[str]:
    corpus = folder / "abc.txt"
    corpus.write_text("abcdefgh " * 400)
    return ["lm", "train", str(corpus), "--hidden-size", "16", "--embedding-dim", "8",
            "--bptt", "16", "--ngram-order", "0", "--set", "training.batch_size=4"]


def _multilabel_command(folder: Path) -> list[str]:
    data = folder / "sets.csv"
    rows = [("anna went home", "PER"), ("to rome today", "LOC"), ("anna saw rome", "LOC|PER"),
            ("a quiet day", ""), ("bob in paris", "LOC|PER"), ("bob stayed in", "PER")]
    data.write_text("text,label\n" + "".join(f"{t} {n},{labels}\n" for n in range(8)
                                              for t, labels in rows))
    return ["multilabel", "train", str(data), "--kind", "recurrent", "--no-baseline",
            "--hidden-size", "16", "--embedding-dim", "8", "--set", "training.batch_size=8"]


@pytest.mark.parametrize(("command", "run_name"), [(_lm_command, "lm"),
                                                   (_multilabel_command, "run")])
def test_every_task_trains_with_nproc_and_writes_one_run_folder(tmp_path, command,
                                                                run_name):
    """The `train` command the other tasks share, on 2 processes: one run folder, written
    by rank 0, saying that 2 processes trained it."""
    run = subprocess.run(
        [sys.executable, "-m", "seqlab", *command(tmp_path), "--nproc", "2", "--epochs", "2",
         "--output-dir", str(tmp_path / "runs"), "--quiet"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run_name]
    metrics = json.loads((tmp_path / "runs" / run_name / "metrics.json").read_text())
    assert metrics["fit_info"]["processes"] == 2
    assert metrics["fit_info"]["epochs"] == 2
    report = (tmp_path / "runs" / run_name / "report.md").read_text()
    assert "| processes | 2 (torch.distributed) |" in report
