"""What clients send over socket.io: one pydantic model per event body (a bad one is refused
with the field named), and the per-connection rate limit."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import Field, ValidationError, model_validator

from rooms.errors import Refusal
from rooms.validation import StrictModel, describe


class SafetyCheck(StrictModel):
    """Where the participant is now and whom to call (docs/crisis.md): leaders only."""

    location: str = Field(default="", max_length=300)
    contact_name: str = Field(default="", max_length=100)
    contact_phone: str = Field(default="", max_length=40, pattern=r"^[0-9+()\-. /]*$")


class JoinRequest(StrictModel):
    # Required, except on a move: the seat carried over keeps its name.
    name: str | None = Field(default=None, min_length=1, max_length=60)
    # The pre-join safety check, when the session asks for it (kept in memory only).
    safety: SafetyCheck | None = None
    # The pre-join screen's choice: False means "do not measure my speaking time".
    measure: bool = True
    # The key the server gave this page at its last join (server/seats.py): back in, as the
    # same person, without knocking after a drop. A key the server did not make resumes nothing.
    rejoin_key: str | None = Field(default=None, min_length=16, max_length=64)
    # Moved here from another node of a cluster: the ticket that node gave (server/seats.py).
    move_ticket: str | None = Field(default=None, min_length=16, max_length=2048)

    @model_validator(mode="after")
    def _named(self) -> JoinRequest:
        if self.name is None and self.move_ticket is None:
            raise ValueError("name: a name is required")
        return self


class SdpRequest(StrictModel):
    sdp: str = Field(min_length=10, max_length=65_536)


class EmptyRequest(StrictModel):
    pass


class ClientStats(StrictModel, allow_inf_nan=False):
    """What a page measures itself (getStats), every few seconds. Shown to leaders only as
    the participant's own view; never used for a score or a decision."""

    frames_decoded: int | None = Field(default=None, ge=0, le=10**9)
    freezes: int | None = Field(default=None, ge=0, le=10**6)
    frame_width: int | None = Field(default=None, ge=0, le=8192)
    frame_height: int | None = Field(default=None, ge=0, le=8192)
    rtt_ms: float | None = Field(default=None, ge=0, le=60_000)
    available_outgoing_kbps: float | None = Field(default=None, ge=0, le=1_000_000)
    packets_lost: int | None = Field(default=None, ge=0, le=10**9)
    jitter_ms: float | None = Field(default=None, ge=0, le=60_000)


MAX_VIEW_TILES = 64  # more than any page shows at once (a 4x4 grid is 16)


class ViewTile(StrictModel):
    """One tile the page shows, at its size in device pixels."""

    participant_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    width: int = Field(ge=0, le=16_384)
    height: int = Field(ge=0, le=16_384)


class ViewRequest(StrictModel):
    """The tiles of others the page shows now, most important first (last-N video)."""

    tiles: list[ViewTile] = Field(max_length=MAX_VIEW_TILES)


class MediaStateRequest(StrictModel):
    audio: bool | None = None
    video: bool | None = None


Reply = dict[str, Any]
R = TypeVar("R", bound=StrictModel)


def parse(model: type[R], data: Any) -> R:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Refusal("invalid", "the event body must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Refusal("invalid", describe(exc)) from exc


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
