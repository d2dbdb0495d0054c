"""The local emergency numbers a leader sees in a crisis response, and a guess at the region
from the location a participant typed. The guess is a hint, never a decision: every candidate
is shown, none when the text names no region, and the leader picks."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Number:
    number: str
    label: str


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    numbers: tuple[Number, ...]
    words: tuple[str, ...]  # lower-case words or phrases that place a location here

    def payload(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "numbers": [{"number": n.number, "label": n.label} for n in self.numbers],
        }


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(","))


_US_STATES = _words(
    "alabama, alaska, arizona, arkansas, california, colorado, connecticut, delaware, florida, "
    "georgia, hawaii, idaho, illinois, indiana, iowa, kansas, kentucky, louisiana, maine, "
    "maryland, massachusetts, michigan, minnesota, mississippi, missouri, montana, nebraska, "
    "nevada, ohio, oklahoma, oregon, pennsylvania, tennessee, texas, utah, vermont, virginia, "
    "wisconsin, wyoming, new hampshire, new jersey, new mexico, new york, north carolina, "
    "north dakota, rhode island, south carolina, south dakota, west virginia, "
    "district of columbia, usa, u.s., u.s.a., united states, america"
)
# Two-letter state codes count only in capitals after a comma ("Austin, TX"): "in", "me", "or"
# and "ok" are words too.
_US_CODES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
).split()

REGIONS: tuple[Region, ...] = (
    Region(
        "US",
        "United States",
        (Number("911", "Emergency services"), Number("988", "Suicide & Crisis Lifeline")),
        _US_STATES,
    ),
    Region(
        "CA",
        "Canada",
        (Number("911", "Emergency services"), Number("988", "Suicide Crisis Helpline")),
        _words(
            "canada, ontario, quebec, québec, british columbia, alberta, manitoba, "
            "saskatchewan, nova scotia, new brunswick, newfoundland, prince edward island, "
            "toronto, montreal, montréal, vancouver, calgary, ottawa, winnipeg"
        ),
    ),
    Region(
        "GB",
        "United Kingdom",
        (Number("999", "Emergency services"), Number("111", "NHS urgent mental health help")),
        _words(
            "uk, united kingdom, england, scotland, wales, northern ireland, london, "
            "manchester, birmingham, glasgow, edinburgh, cardiff, belfast, leeds, liverpool, "
            "bristol"
        ),
    ),
    Region(
        "EU",
        "European Union",
        (Number("112", "Emergency services"),),
        _words(
            "eu, europe, germany, deutschland, france, spain, españa, italy, italia, "
            "netherlands, belgium, ireland, portugal, austria, sweden, denmark, finland, "
            "poland, greece, czechia, hungary, romania, berlin, paris, madrid, rome, "
            "amsterdam, dublin, lisbon, vienna, stockholm"
        ),
    ),
    Region(
        "AU",
        "Australia",
        (Number("000", "Emergency services"), Number("13 11 14", "Lifeline")),
        _words(
            "australia, new south wales, victoria, queensland, tasmania, nsw, qld, sydney, "
            "melbourne, brisbane, perth, adelaide, hobart, canberra"
        ),
    ),
)
BY_CODE = {r.code: r for r in REGIONS}


def _mentions(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(phrase)}(?![\w])", text) is not None


def guess_regions(location: str) -> list[str]:
    """The region codes the location text names (several when it is ambiguous: "Victoria,
    British Columbia"); none when it names none (no guess: the leader chooses)."""
    lower = location.lower()
    found = [r.code for r in REGIONS if any(_mentions(lower, w) for w in r.words)]
    if "US" not in found and re.search(rf",\s*({'|'.join(_US_CODES)})\b", location):
        found.append("US")
    return found


def numbers_for(location: str) -> dict[str, object]:
    """What a leader sees beside a location: the guessed regions and the whole table."""
    return {"regions": guess_regions(location), "table": [r.payload() for r in REGIONS]}


def help_lines(location: str) -> list[dict[str, object]]:
    """What a member sees as the session ends: the numbers of the regions their own location
    names, or of every region when it names none (they know where they are)."""
    named = set(guess_regions(location))
    return [r.payload() for r in REGIONS if not named or r.code in named]
