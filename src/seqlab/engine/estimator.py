"""What every seqlab estimator shares: the fitted check and the bundle round trip.

A subclass names its ``bundle_kind`` and the attribute ``fit`` sets
(``fitted_attribute``), and writes :meth:`~Estimator.to_bundle` (its tensors and JSON
header) and :meth:`~Estimator.restore` (the inverse). ``save``, ``load`` and the one
damaged-bundle error come from here: a bundle is tensors and JSON, never a pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from seqlab.artifacts import load_tensors, save_tensors
from seqlab.errors import BundleError, NotFittedError, SeqlabError

if TYPE_CHECKING:
    import torch

E = TypeVar("E", bound="Estimator")
# what reading a damaged or hand-edited header raises before a model exists
DAMAGE = (KeyError, TypeError, ValueError, RuntimeError, AttributeError, SeqlabError)


class Estimator:
    """The base of the classifiers, the tagger, the language model and the forecaster."""

    bundle_kind: ClassVar[str]
    fitted_attribute: ClassVar[str] = "module_"
    fit_info_: dict[str, Any]
    metrics_: dict[str, Any]

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
