"""What every seqlab estimator shares: the start of a fit, the training run, the fitted
check and the bundle round trip.

A subclass names its ``bundle_kind`` and the attribute ``fit`` sets
(``fitted_attribute``), and writes :meth:`~Estimator.to_bundle` (its tensors and JSON
header) and :meth:`~Estimator.restore` (the inverse). ``save``, ``load`` and the one
damaged-bundle error come from here: a bundle is tensors and JSON, never a pickle.

A recurrent estimator's ``fit`` calls :meth:`~Estimator.begin_fit` (threads and seeds),
builds its data and ``module_``, and hands :meth:`~Estimator.train_module` a
:class:`~seqlab.training.trainer.TrainingPlan`; :meth:`~Estimator.training_facts` gives
the part of ``fit_info_`` every task records.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from seqlab.artifacts import load_tensors, save_tensors
from seqlab.errors import BundleError, NotFittedError, SeqlabError

if TYPE_CHECKING:
    import torch

    from seqlab.config import TrainingConfig
    from seqlab.training.trainer import TrainCallbacks, TrainingPlan, TrainResult

E = TypeVar("E", bound="Estimator")
# what reading a damaged or hand-edited header raises before a model exists
DAMAGE = (KeyError, TypeError, ValueError, RuntimeError, AttributeError, SeqlabError)


def member_checkpoints(checkpoint_dir: str | Path | None, index: int) -> str | Path | None:
    """Where the ``index``-th (from 0) of several members of an ensemble keeps its
    checkpoints: the first in ``checkpoint_dir`` itself, where a lone model's go, the
    others in ``member2``, ``member3``… below it (None: no checkpoints)."""
    if checkpoint_dir is None or index == 0:
        return checkpoint_dir
    return Path(checkpoint_dir) / f"member{index + 1}"


def kept_weights(info: dict[str, Any], round_name: str = "epoch") -> str:
    """Which weights a fit kept, for its report: ``epoch 7`` or ``the mean of epochs 5, 6
    and 7`` (from ``fit_info_``; ``round_name`` for what one history row is)."""
    epochs = info.get("averaged")
    if not epochs:
        return f"{round_name} {info['best_epoch']}"
    return f"the mean of {round_name}s {', '.join(map(str, epochs[:-1]))} and {epochs[-1]}"


def validation_record(history: list[dict[str, float]], epoch: int) -> dict[str, float]:
    """The validation scores (``val_…``) of ``epoch``'s history record (the last record's
    where there is none for it)."""
    record = next((h for h in history if h["epoch"] == epoch), history[-1] if history else {})
    return {k: v for k, v in record.items() if k.startswith("val_")}


def kept_validation(model: Any) -> dict[str, float]:
    """The validation scores (``val_…``) of the weights a fitted estimator kept: the
    averaged weights' where training kept a mean, else the chosen epoch's history record."""
    averaged = getattr(model, "fit_info_", {}).get("averaged_validation")
    return averaged or validation_record(model.history_, model.best_epoch_)


class Estimator:
    """The base of the classifiers, the tagger, the language model and the forecaster."""

    bundle_kind: ClassVar[str]
    fitted_attribute: ClassVar[str] = "module_"
    fit_info_: dict[str, Any]
    metrics_: dict[str, Any]
    module_: Any  # the torch module a recurrent estimator trains
    history_: list[dict[str, float]]
    best_epoch_: int
    stopped_: str

    def begin_fit(self, threads: int | None, seed: int) -> float:
        """Set torch's thread count (``None``: torch's default, or under torchrun the
        cores shared among this machine's processes) and seed python, numpy and torch,
        before anything random is built; return the start time for ``training_facts``."""
        import torch

        from seqlab.training.distributed import default_threads
        from seqlab.training.trainer import set_seed

        threads = threads or default_threads()
        if threads:
            torch.set_num_threads(threads)
        set_seed(seed)
        return time.perf_counter()

    def train_module(self, training: TrainingConfig, plan: TrainingPlan, *,
                     checkpoint_dir: str | Path | None = None, resume: bool = False,
                     callbacks: TrainCallbacks | None = None, monitor: str | None = None
                     ) -> TrainResult:
        """Train ``module_`` on ``plan`` (early stopping, checkpoints, resume: the
        :class:`~seqlab.training.trainer.Trainer`), keep the chosen epoch's weights in eval
        mode, and set ``history_``, ``best_epoch_`` and ``stopped_``."""
        from seqlab.training.trainer import Trainer

        result = Trainer(self.module_, training, plan, checkpoint_dir=checkpoint_dir,
                         callbacks=callbacks, monitor=monitor).fit(resume=resume)
        self.module_.eval()
        self.history_, self.best_epoch_, self.stopped_ = (result.history, result.best_epoch,
                                                          result.stopped)
        return result

    def training_facts(self, result: TrainResult, began: float) -> dict[str, Any]:
        """What every task's ``fit_info_`` records of its training: parameters, epochs,
        the chosen one, why it stopped, training and wall seconds since ``began``, the
        number of processes that trained it and, where the mean of the best epochs' weights
        was kept (``training.average_epochs``), those epochs and its validation scores."""
        from seqlab.training.distributed import world
        from seqlab.training.trainer import count_parameters

        facts = {"parameters": count_parameters(self.module_), "epochs": len(result.history),
                 "best_epoch": result.best_epoch, "stopped": result.stopped,
                 "train_seconds": result.seconds, "wall_seconds": time.perf_counter() - began,
                 "processes": world().size}
        if result.averaged:
            facts |= {"averaged": result.averaged, "averaged_validation": result.validation}
        return facts

    def _check_fitted(self) -> None:
        if not hasattr(self, self.fitted_attribute):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit or "
                                 "load")

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The tensors and the JSON header of this model's bundle."""
        raise NotImplementedError

    @classmethod
    def restore(cls: type[E], tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> E:
        """The fitted model :meth:`to_bundle` described (a KeyError, ValueError … where
        the bundle is damaged)."""
        raise NotImplementedError

    def save(self, path: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write the bundle (one safetensors file) atomically; return its path."""
        self._check_fitted()
        save_tensors(path, *self.to_bundle(metrics), self.bundle_kind)
        return Path(path)

    @classmethod
    def load(cls: type[E], path: str | Path) -> E:
        """Read a bundle written by :meth:`save`; a damaged one is a BundleError."""
        return cls.from_bundle(*load_tensors(path, cls.bundle_kind), path)

    @classmethod
    def from_bundle(cls: type[E], tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                    path: str | Path) -> E:
        """:meth:`restore`, with any damage reported as one BundleError naming ``path``."""
        try:
            model = cls.restore(tensors, meta)
        except DAMAGE as err:
            raise BundleError(f"{path}: the {cls.bundle_kind} bundle is damaged or incomplete "
                              f"({str(err)[:200]})") from None
        model.fit_info_ = meta.get("fit_info", {})
        model.metrics_ = meta.get("metrics", {})
        return model
