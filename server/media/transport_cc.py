"""Transport-wide congestion control in a subscribe offer: aiortc offers neither the
transport-wide sequence number extension nor `rtcp-fb transport-cc` (it knows only their
names), so the offer's text gets both, and the answer says whether the browser took them.
The lean send path writes the numbers (rtp_writer, _rtp_send.c) and reads the feedback
(transport_feedback.py); aiortc's own objects never see either.
"""

from __future__ import annotations

import re

from server.media.rtp_writer import URI_TRANSPORT_CC

_EXTMAP_ID = re.compile(r"^a=extmap:(\d+)", re.MULTILINE)
_RTX = re.compile(r"^a=rtpmap:(\d+) rtx/", re.MULTILINE | re.IGNORECASE)
_MAX_ONE_BYTE_ID = 14


def offer_transport_cc(offer: str) -> tuple[str, int | None]:
    """The offer with the transport-wide sequence number extension (at the lowest id it does
    not use yet: BUNDLE wants one id per URI across sections) and `rtcp-fb transport-cc`
    (`with_transport_cc`); None when no id is free."""
    used = {int(found) for found in _EXTMAP_ID.findall(offer)}
    free = [i for i in range(1, _MAX_ONE_BYTE_ID + 1) if i not in used]
    if not free:
        return offer, None
    return with_transport_cc(offer, free[0]), free[0]


def offered_transport_cc(offer: str) -> int | None:
    """The id an offer gives the transport-wide sequence number extension, if it has it."""
    found = re.search(
        rf"^a=extmap:(\d+)(/\w+)? {re.escape(URI_TRANSPORT_CC)}\s*$", offer, re.MULTILINE
    )
    return int(found.group(1)) if found else None


def with_transport_cc(description: str, ext_id: int) -> str:
    """`description` with the extension at `ext_id` in every audio and video section and
    `rtcp-fb transport-cc` for each media payload type (not RTX)."""
    newline = "\r\n" if "\r\n" in description else "\n"
    sections = re.split(r"(?=^m=)", description, flags=re.MULTILINE)
    out = [sections[0]]
    for section in sections[1:]:
        media = section.split(newline, 1)[0].split()
        if media[0] not in ("m=audio", "m=video"):
            out.append(section)
            continue
        rtx = set(_RTX.findall(section))
        lines = [f"a=extmap:{ext_id} {URI_TRANSPORT_CC}"]
        lines += [f"a=rtcp-fb:{pt} transport-cc" for pt in media[3:] if pt not in rtx]
        body = section if section.endswith(newline) else section + newline
        out.append(body + newline.join(lines) + newline)
    return "".join(out)


def answered_transport_cc(answer: str, ext_id: int) -> bool:
    """Whether the answer kept the extension at `ext_id` (a browser drops what it refuses)."""
    return offered_transport_cc(answer) == ext_id
