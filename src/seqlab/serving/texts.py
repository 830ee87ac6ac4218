"""The request most routes take, ``{"texts": [...]}`` or ``{"text": "..."}``, and the
limits on it (texts per request, characters per text, and for ``POST /explain`` the
explanations and integrated-gradients steps)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse

from seqlab.serving.rules import refuse

if TYPE_CHECKING:
    from seqlab.serving.app import ServeSettings


class TextsRequest(BaseModel):
    """Either ``texts`` (a list) or ``text`` (one string)."""

    model_config = ConfigDict(extra="forbid")
    texts: list[str] | None = Field(None, description="the texts")
    text: str | None = Field(None, description="a single text")

    @model_validator(mode="after")
    def _one_of(self) -> TextsRequest:
        if (self.texts is None) == (self.text is None):
            raise ValueError("give exactly one of `texts` (a list) or `text` (a string)")
        return self

    def all_texts(self) -> list[str]:
        return self.texts if self.texts is not None else [self.text or ""]


class ExplainTextsRequest(TextsRequest):
    """``texts`` or ``text`` to explain, with the ``method`` (``auto`` picks the model's)
    and its ``steps`` (integrated gradients) or ``window`` (occlusion)."""

    method: str = Field("auto", description="auto, ig, occlusion (or weights, for a "
                                            "TF-IDF/BoW classifier)")
    steps: int = Field(50, ge=1, description="integrated gradients' steps")
    window: int = Field(1, ge=1, description="tokens occlusion takes out at a time")

    def over_limits(self, settings: ServeSettings) -> JSONResponse | None:
        """The answer to a request over ``settings``' limits (413: more texts than
        explanations allowed, or a text too long; 422: integrated gradients' steps over
        the cap), else None."""
        refused = over_limits(self.all_texts(), settings.max_explanations, settings.max_chars)
        if refused is not None:
            return refused
        if self.steps > settings.max_explain_steps:
            return refuse(422, f"steps is {self.steps}; this server's cap is "
                               f"{settings.max_explain_steps}", fields=["steps"],
                          limit=settings.max_explain_steps)
        return None


def over_limits(texts: list[str], max_texts: int, max_chars: int) -> JSONResponse | None:
    """The 413 answer when there are too many texts or one is too long, else None."""
    if len(texts) > max_texts:
        return refuse(413, f"{len(texts)} texts in one request; the limit is {max_texts}",
                      limit=max_texts)
    too_long = next((i for i, text in enumerate(texts) if len(text) > max_chars), None)
    if too_long is not None:
        return refuse(413, f"text {too_long} has {len(texts[too_long])} characters; the "
                           f"limit is {max_chars}", limit=max_chars)
    return None
