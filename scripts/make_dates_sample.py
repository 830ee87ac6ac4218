"""Write ``src/seqlab/samples/dates.tsv``: dates written out in words (and in a few
numeric forms) beside the ISO date, the sample ``seqlab seq2seq demo`` learns from.

Synthetic and seeded, written for seqlab: ``python scripts/make_dates_sample.py``.
"""

from __future__ import annotations

import calendar
import datetime
import random
from pathlib import Path

ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth",
           "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def number(n: int) -> str:
    """0 < n < 100 in words."""
    if n < 20:
        return ONES[n]
    return TENS[n // 10] + ("-" + ONES[n % 10] if n % 10 else "")


def ordinal(n: int) -> str:
    words = number(n)
    head, _, last = words.rpartition("-")
    last = ORDINAL.get(last, last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return f"{head}-{last}" if head else last


def year_words(year: int) -> str:
    century, rest = divmod(year, 100)
    if century == 20 and rest < 10:
        return "two thousand" + (f" {number(rest)}" if rest else "")
    return f"{number(century)} {number(rest) if rest >= 10 else 'oh ' + number(rest)}" \
        if rest else f"{number(century)} hundred"


def forms(day: datetime.date) -> list[str]:
    month = calendar.month_name[day.month].lower()
    abbrev = calendar.month_abbr[day.month].lower()
    return [f"the {ordinal(day.day)} of {month} {year_words(day.year)}",
            f"{month} {ordinal(day.day)} {year_words(day.year)}",
            f"{day.day} {month} {day.year}",
            f"{abbrev} {day.day}, {day.year}"]


def main() -> None:
    rng = random.Random(2026)
    start, span = datetime.date(1950, 1, 1), (datetime.date(2049, 12, 31) -
                                              datetime.date(1950, 1, 1)).days
    lines = []
    for _ in range(3000):
        day = start + datetime.timedelta(days=rng.randrange(span + 1))
        lines.append(f"{rng.choice(forms(day))}\t{day.isoformat()}")
    path = Path(__file__).resolve().parents[1] / "src" / "seqlab" / "samples" / "dates.tsv"
    path.write_text("source\ttarget\n" + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} pairs to {path}")


if __name__ == "__main__":
    main()
