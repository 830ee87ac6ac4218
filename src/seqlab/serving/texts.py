"""The request most routes take, ``{"texts": [...]}`` or ``{"text": "..."}``, and the
limits on it (texts per request, characters per text)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse

from seqlab.serving.rules import refuse


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
