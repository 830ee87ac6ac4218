"""Prediction over a file of any size: the file is read in chunks of rows, each chunk is
predicted and written to its own part file as soon as it is done, and the parts are joined
into the output, in input order, at the end. Memory stays flat whatever the file size.

An interrupted run leaves its finished parts (and a manifest of what it was doing) in a
folder beside the output; ``resume`` continues from them without repeating or losing a
row. With ``jobs`` > 1, chunks are predicted by that many worker processes, each loading
the model once.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from seqlab.artifacts import atomic_write_bytes
from seqlab.data.readers import TEXT_COLUMN_NAMES, pick_column, text_cells
from seqlab.data.stream import iter_table
from seqlab.data.writers import output_format, write_table
from seqlab.engine.machine import cores_per_process
from seqlab.errors import DataError

RowPredictor = Callable[[list[str]], dict[str, list[Any]]]  # texts → output columns
Loader = Callable[[str], RowPredictor]  # model path → predictor; module level, for jobs
ID_COLUMN_NAMES = ("id", "row_id", "uid", "key")


@dataclass(frozen=True)
class BatchJob:
    """What to predict: the model, the input file and how to read it, the output."""

    model: str
    source: str
    out: str
    fmt: str | None = None
    text_column: str | None = None
    encoding: str = "utf-8"
    separator: str = ";"
    chunk_rows: int = 10_000
    jobs: int = 1

    def manifest(self) -> dict[str, Any]:
        """What a resumed run must share with the one it continues (the input's rows are
        checked part by part, so a mended file resumes too)."""
        return {"job": {k: v for k, v in asdict(self).items() if k != "jobs"},
                "model": _stamp(Path(self.model))}


def _stamp(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def parts_folder(out: str | Path) -> Path:
    """Where a run into ``out`` keeps its finished parts until it is done."""
    out = Path(out)
    return out.parent / f".{out.name}.parts"


def predict_stream(job: BatchJob, loader: Loader, resume: bool = False, force: bool = False,
                   progress: Callable[[int], None] | None = None) -> int:
    """Predict every row of ``job.source`` into ``job.out``; return the row count."""
    if job.chunk_rows < 1 or job.jobs < 1:
        raise DataError("--chunk-rows and --jobs must be at least 1")
    out, parts = Path(job.out), parts_folder(job.out)
    fmt = output_format(out)  # an unknown extension fails before the work
    chunks = iter_table(job.source, job.fmt, job.encoding, job.separator, job.chunk_rows)
    _prepare_parts(job, out, parts, resume, force)
    try:
        written = _predict_parts(job, loader, chunks, parts, fmt, progress or (lambda n: None))
    except BaseException:
        if not any(parts.glob("part-*")):  # nothing done: nothing to resume
            shutil.rmtree(parts, ignore_errors=True)
        raise
    _join(sorted(parts.glob("part-*")), out, fmt)
    shutil.rmtree(parts)
    return written


def _prepare_parts(job: BatchJob, out: Path, parts: Path, resume: bool, force: bool) -> None:
    manifest = job.manifest()
    if parts.exists():
        if force:
            shutil.rmtree(parts)
        elif not resume:
            raise DataError(f"{parts} holds an unfinished prediction into {out}; --resume "
                            "continues it, --force starts again")
        elif json.loads((parts / "manifest.json").read_text()) != manifest:
            raise DataError(f"{parts}: the unfinished prediction was of another input, model, "
                            "column or chunk size; --force starts again")
    elif out.exists() and not force:
        raise DataError(f"{out} exists; --force replaces it" + (
            " (nothing to resume: it is complete)" if resume else ""))
    parts.mkdir(parents=True, exist_ok=True)
    (parts / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _predict_parts(job: BatchJob, loader: Loader, chunks: Any, parts: Path, fmt: str,
                   progress: Callable[[int], None]) -> int:
    done = 0

    def finish(frame: pd.DataFrame, part: Path) -> None:
        nonlocal done
        write_table(frame, part)
        done += len(frame)
        progress(done)

    pending: dict[Future[pd.DataFrame], Path] = {}

    def drain(below: int) -> None:
        while len(pending) > below:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in finished:
                finish(future.result(), pending.pop(future))

    pool = ProcessPoolExecutor(job.jobs, initializer=_start_worker,
                               initargs=(loader, job.model, job.jobs)) if job.jobs > 1 else None
    predictor = None if pool else loader(job.model)
    columns: tuple[str, str | None] | None = None
    try:
        for index, chunk in enumerate(chunks):
            columns = columns or _columns(chunk, job)
            texts, ids = _inputs(chunk, columns)
            part = parts / f"part-{index:08d}-{_digest(texts, ids)}.{fmt}"
            if part.exists():  # these very rows were done before the run was interrupted
                done += len(chunk)
                progress(done)
                continue
            for stale in parts.glob(f"part-{index:08d}-*"):  # rows that changed since
                stale.unlink()
            if pool is None:
                finish(_rows(predictor, texts, ids), part)
            else:
                pending[pool.submit(_predict_in_worker, texts, ids)] = part
                drain(below=2 * job.jobs - 1)
        drain(below=0)
    except DataError as err:
        if not done:
            raise
        raise DataError(f"{err} The {done:,} rows before it are kept in {parts}: mend the "
                        "file, then rerun with --resume.") from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if columns is None:
        raise DataError(f"{job.source}: the file has no data rows")
    return done


def _digest(texts: list[str], ids: list[str] | None) -> str:
    """A short fingerprint of a chunk's rows, so a resumed run redoes a changed chunk."""
    digest = hashlib.blake2b(digest_size=8)
    for value in [*texts, *(ids or [])]:
        digest.update(value.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def _columns(chunk: pd.DataFrame, job: BatchJob) -> tuple[str, str | None]:
    text = pick_column(chunk, job.text_column, TEXT_COLUMN_NAMES, "text", Path(job.source))
    lowered = {str(c).lower(): str(c) for c in chunk.columns}
    ids = next((lowered[name] for name in ID_COLUMN_NAMES if name in lowered), None)
    return text, ids


def _inputs(chunk: pd.DataFrame, columns: tuple[str, str | None]) -> tuple[list[str],
                                                                            list[str] | None]:
    text, ids = columns
    return text_cells(chunk, text), text_cells(chunk, ids) if ids else None


def _rows(predictor: Any, texts: list[str], ids: list[str] | None) -> pd.DataFrame:
    head: dict[str, list[Any]] = {"id": ids} if ids is not None else {}
    return pd.DataFrame({**head, "text": texts, **predictor(texts)})


def _join(parts: list[Path], out: Path, fmt: str) -> None:
    """The parts, in order, as one file in ``out``'s format (written atomically)."""
    def write(tmp: Path) -> None:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            writer = None
            for part in parts:
                table = pq.read_table(part)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            if writer is not None:
                writer.close()
            return
        import gzip

        with (gzip.open(tmp, "wb") if out.suffix == ".gz" else tmp.open("wb")) as handle:
            for number, part in enumerate(parts):
                data = part.read_bytes()
                if number and fmt in ("csv", "tsv"):  # one header, the first part's
                    data = data[data.index(b"\n") + 1:]
                handle.write(data)

    atomic_write_bytes(out, write)


_WORKER: dict[str, RowPredictor] = {}


def _start_worker(loader: Loader, model: str, jobs: int) -> None:
    import torch

    torch.set_num_threads(cores_per_process(jobs))
    _WORKER["predict"] = loader(model)


def _predict_in_worker(texts: list[str], ids: list[str] | None) -> pd.DataFrame:
    return _rows(_WORKER["predict"], texts, ids)
