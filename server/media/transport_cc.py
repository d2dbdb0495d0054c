"""Transport-wide congestion control in a subscribe offer: aiortc offers neither the
transport-wide sequence number extension nor `rtcp-fb transport-cc` (it knows only their
names), so the offer's text gets both (`sdp.accept_transport_cc`, which does the same for a
publish answer), and the answer says whether the browser took them. The lean send path writes
the numbers (rtp_writer, _rtp_send.c) and reads the feedback (downlink_feedback.py); aiortc's
own objects never see either.
"""

from __future__ import annotations

import re

from server.media import sdp

_EXTMAP_ID = re.compile(r"^a=extmap:(\d+)", re.MULTILINE)
_MAX_ONE_BYTE_ID = 14
_KINDS = ("audio", "video")


def offer_transport_cc(offer: str) -> tuple[str, int | None]:
    """The offer with the transport-wide sequence number extension (at the lowest id it does
    not use yet: BUNDLE wants one id per URI across sections) in every audio and video section,
    and `rtcp-fb transport-cc` for each media payload type (not RTX); None when no id is free."""
    used = {int(found) for found in _EXTMAP_ID.findall(offer)}
    free = [i for i in range(1, _MAX_ONE_BYTE_ID + 1) if i not in used]
    if not free:
        return offer, None
    return sdp.accept_transport_cc(offer, dict.fromkeys(_KINDS, free[0])), free[0]


def answered_transport_cc(answer: str, ext_id: int) -> bool:
    """Whether the answer kept the extension at `ext_id`, with its feedback (a browser drops
    what it refuses)."""
    return ext_id in sdp.transport_cc_offer(answer).values()
