"""The baseline beside the model in every classification run.

Every ``seqlab train`` also scores TF-IDF n-grams + logistic regression on the same
split (``baseline: false`` turns it off), so that a report never shows a number without
what ten lines of scikit-learn would have reached. An ensemble already holds that
baseline as its linear part, so nothing is fitted twice; its recurrent part is shown
alone too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seqlab.config import apply_overrides
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.estimators import Classifier, best_validation

LINEAR_KINDS = ("tfidf", "bow")
SCORES = ("accuracy", "macro_f1")


@dataclass
class BaselineComparison:
    """Validation and test scores of the model, its parts and the baseline."""

    rows: list[dict[str, Any]]  # model, description, val_/test_ accuracy and macro_f1

    @property
    def difference(self) -> dict[str, float]:
        """The model's score minus the baseline's, per score and split."""
        model, baseline = self.rows[0], self.rows[-1]
        return {key: model[key] - baseline[key] for key in model
                if key.startswith(("val_", "test_"))}

    def lines(self) -> list[str]:
        """What the console and the report summary say."""
        d = self.difference
        baseline = self.rows[-1]
        return [f"baseline {baseline['model']}: test accuracy {baseline['test_accuracy']:.4f}, "
                f"macro-F1 {baseline['test_macro_f1']:.4f}; the model is "
                f"{d['test_macro_f1']:+.4f} macro-F1 ({d['test_accuracy']:+.4f} accuracy) "
                f"against it on test, {d['val_macro_f1']:+.4f} macro-F1 on validation"]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """The report's table: one row per model, the difference to the baseline last."""
        header = ["model", "val accuracy", "val macro-F1", "test accuracy", "test macro-F1"]
        keys = [f"{split}_{score}" for split in ("val", "test") for score in SCORES]
        rows = [[row["model"], *(row[k] for k in keys)] for row in self.rows]
        rows.append(["model − baseline", *(self.difference[k] for k in keys)])
        return header, rows

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "difference": self.difference}


def _row(name: str, clf: Classifier, test_texts: Sequence[str], test_labels: Sequence[str],
         test_metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    val = best_validation(clf)
    test = test_metrics or clf.evaluate(test_texts, test_labels)
    return {"model": name, "description": clf.describe(),
            **{f"val_{s}": float(val[f"val_{s}"]) for s in SCORES},
            **{f"test_{s}": float(test[s]) for s in SCORES}}


def evaluate_with_parts(clf: Classifier, texts: Sequence[str], labels: Sequence[str]
                        ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The model's test metrics and, for an ensemble, each part's (``recurrent``,
    ``linear``), every part predicting once."""
    by_part = getattr(clf, "evaluate_parts", None)
    return by_part(texts, labels) if by_part is not None else (clf.evaluate(texts, labels), {})


def compare_with_baseline(config: RunConfig, clf: Classifier, train: tuple[list[str], list[str]],
                          val: tuple[list[str], list[str]], test: tuple[list[str], list[str]],
                          test_metrics: dict[str, Any],
                          part_metrics: dict[str, dict[str, Any]] | None = None
                          ) -> BaselineComparison | None:
    """Score the fitted ``clf``, its parts and the TF-IDF baseline on validation and test;
    None when ``config.baseline`` is off or the model is itself a linear baseline.
    ``test_metrics`` and ``part_metrics`` are what :func:`evaluate_with_parts` gave."""
    if not config.baseline or config.model.kind in LINEAR_KINDS:
        return None
    rows = [_row(config.model.kind, clf, *test, test_metrics)]
    parts = getattr(clf, "components_", None)
    if parts is not None:
        scored = part_metrics or {}
        rows.append(_row("recurrent alone", parts["recurrent"], *test, scored.get("recurrent")))
        baseline = parts["linear"]
    else:
        from seqlab.tasks.classify.baselines.linear import LinearTextClassifier

        baseline = LinearTextClassifier.from_config(apply_overrides(config, {"model.kind":
                                                                             "tfidf"}))
        baseline.fit(*train, *val)
    rows.append(_row("TF-IDF + " + baseline.classifier, baseline, *test,
                     (part_metrics or {}).get("linear") if parts is not None else None))
    return BaselineComparison(rows)
