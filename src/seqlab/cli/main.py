"""``seqlab``: train, evaluate, compare, tune and serve recurrent sequence models.

Every task is a command group with the same verbs (``seqlab tag train``, ``seqlab lm
tune`` …); classification's commands also stand at the top (``seqlab train``).
"""

from __future__ import annotations

import sys

import typer

from seqlab.cli.datasets import datasets_app
from seqlab.cli.serve import serve
from seqlab.cli.vectors import vectors_app
from seqlab.cli.verbs import compare_command, tune_command
from seqlab.tasks.classify.cli import classify_app
from seqlab.tasks.forecast.cli import forecast_app
from seqlab.tasks.lm.cli import lm_app
from seqlab.tasks.multilabel.cli import multilabel_app
from seqlab.tasks.seq2seq.cli import seq2seq_app
from seqlab.tasks.tag.cli import tag_app

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Train, evaluate, compare and use recurrent sequence models.")
# classification's short form: seqlab train, evaluate, predict, info, demo, export …
for command in classify_app.registered_commands:
    if command.name not in ("compare", "tune", "serve"):
        app.registered_commands.append(command)
app.command("compare")(compare_command("classify"))
app.command("tune")(tune_command("classify"))
app.command("serve")(serve)
app.add_typer(classify_app, name="classify")
app.add_typer(datasets_app, name="datasets")
app.add_typer(forecast_app, name="forecast")
app.add_typer(lm_app, name="lm")
app.add_typer(multilabel_app, name="multilabel")
app.add_typer(seq2seq_app, name="seq2seq")
app.add_typer(tag_app, name="tag")
app.add_typer(vectors_app, name="vectors")


def main() -> None:
    app(prog_name="seqlab")


if __name__ == "__main__":
    sys.exit(main())
