"""Small, line-based SDP edits that aiortc has no API for."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from server.media.transport_feedback import URI_TRANSPORT_CC

OPUS_FMTP = "minptime=10;useinbandfec=1;usedtx=1"
_RTPMAP_OPUS = re.compile(r"^a=rtpmap:(\d+) opus/48000", re.IGNORECASE)


class SdpError(ValueError):
    pass


def check_offer(sdp: str, max_bytes: int) -> None:
    """Reject what is not an SDP offer we could answer, before aiortc parses it."""
    if len(sdp.encode()) > max_bytes:
        raise SdpError(f"SDP is larger than {max_bytes} bytes")
    lines = sdp.replace("\r\n", "\n").split("\n")
    if not lines or not lines[0].startswith("v=0"):
        raise SdpError("SDP must start with v=0")
    kinds = [line.split()[0][2:] for line in lines if line.startswith("m=")]
    if not kinds:
        raise SdpError("SDP has no media section")
    if any(k not in ("audio", "video") for k in kinds):
        raise SdpError("only audio and video media sections are accepted")
    if kinds.count("audio") > 1 or kinds.count("video") > 1:
        raise SdpError("publish at most one audio and one video track")


def with_opus_dtx_fec(sdp: str) -> str:
    """Ask the remote Opus encoder for DTX and in-band FEC: silent senders then drop from
    50 to ~5 packets/s and mark silence with V=0."""
    out: list[str] = []
    opus_pts: set[str] = set()
    for line in sdp.split("\r\n"):
        match = _RTPMAP_OPUS.match(line)
        if match:
            opus_pts.add(match.group(1))
        if line.startswith("a=fmtp:") and line[7:].split(" ", 1)[0] in opus_pts:
            continue  # replaced below, right after the rtpmap
        out.append(line)
        if match:
            out.append(f"a=fmtp:{match.group(1)} {OPUS_FMTP}")
    return "\r\n".join(out)


def filter_remote_candidates(sdp: str, allowed: Sequence[str]) -> str:
    """Drop remote ICE candidates whose address lies outside `allowed` networks, so the server
    never sends connectivity checks elsewhere (an operator's choice; tests keep to loopback)."""
    if not allowed:
        return sdp
    networks = [ipaddress.ip_network(n, strict=False) for n in allowed]
    out = []
    for line in sdp.split("\r\n"):
        if line.startswith("a=candidate:"):
            fields = line.split()
            try:
                address = ipaddress.ip_address(fields[4])
            except (IndexError, ValueError):
                continue  # mDNS names and malformed candidates cannot be checked
            if not any(address in net for net in networks):
                continue
        out.append(line)
    return "\r\n".join(out)


def announce_address(sdp: str, public_ip: str | None) -> str:
    """Add a copy of each local host candidate with `public_ip` (for a server behind 1:1 NAT,
    like mediasoup's announcedIp)."""
    if not public_ip:
        return sdp
    out = []
    for line in sdp.split("\r\n"):
        out.append(line)
        if line.startswith("a=candidate:") and " typ host" in line:
            fields = line.split()
            if len(fields) > 5 and fields[4] != public_ip:
                fields[0] = fields[0] + "1"  # a distinct foundation
                fields[3] = str(max(int(fields[3]) - 1, 0))  # just below the private one
                fields[4] = public_ip
                out.append(" ".join(fields))
    return "\r\n".join(out)


URI_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
URI_REPAIRED_RID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
MAX_LAYERS = 3
_RID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


@dataclass(frozen=True)
class SimulcastOffer:
    """A publish offer's video simulcast (RFC 8853): its layers' rids, in the offer's order,
    and the header extension ids that name a packet's layer (0: not offered)."""

    rids: tuple[str, ...]
    rid_id: int
    repaired_rid_id: int = 0


def _video_section(lines: list[str]) -> tuple[int, int] | None:
    """[start, end) of the first m=video section's lines."""
    start = next((i for i, line in enumerate(lines) if line.startswith("m=video ")), None)
    if start is None:
        return None
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("m=") or not lines[i]),
        len(lines),
    )
    return start, end


def simulcast_offer(offer_sdp: str) -> SimulcastOffer | None:
    """The video simulcast a browser offers to send (`a=simulcast:send`, one `a=rid:<rid>
    send` per layer, the rtp-stream-id extension), or None when it offers none or a malformed
    one (the answer then declines simulcast and the browser sends one layer)."""
    lines = offer_sdp.replace("\r\n", "\n").split("\n")
    section = _video_section(lines)
    if section is None:
        return None
    sent: set[str] = set()
    order: list[str] = []
    ids: dict[str, int] = {}
    for line in lines[section[0] : section[1]]:
        if line.startswith("a=rid:"):
            rid, _, rest = line[6:].partition(" ")
            if rest.split(" ", 1)[0] == "send":
                sent.add(rid)
        elif line.startswith("a=simulcast:send "):
            # ";" separates layers, "," alternatives of one (the first is taken), "~" paused
            order = [alt.split(",")[0].lstrip("~") for alt in line[17:].strip().split(";")]
        elif line.startswith("a=extmap:"):
            head, _, uri = line[9:].partition(" ")
            if uri in (URI_RID, URI_REPAIRED_RID) and head.split("/")[0].isdigit():
                ids[uri] = int(head.split("/")[0])
    rids = tuple(rid for rid in order if rid in sent)
    if (
        not rids
        or len(rids) > MAX_LAYERS
        or len(set(rids)) != len(rids)
        or not all(_RID.match(rid) for rid in rids)
        or URI_RID not in ids
    ):
        return None
    return SimulcastOffer(rids, ids[URI_RID], ids.get(URI_REPAIRED_RID, 0))


def accept_simulcast(answer_sdp: str, offer: SimulcastOffer) -> str:
    """aiortc's answer with the offered simulcast accepted (it knows none): the video section
    receives each rid and the extensions that name a packet's layer, with the offer's ids."""
    lines = answer_sdp.split("\r\n")
    section = _video_section(lines)
    if section is None:
        return answer_sdp
    added = [f"a=extmap:{offer.rid_id} {URI_RID}"]
    if offer.repaired_rid_id:
        added.append(f"a=extmap:{offer.repaired_rid_id} {URI_REPAIRED_RID}")
    added += [f"a=rid:{rid} recv" for rid in offer.rids]
    added.append("a=simulcast:recv " + ";".join(offer.rids))
    end = section[1]
    return "\r\n".join(lines[:end] + added + lines[end:])


def _sections(lines: list[str]) -> list[tuple[str, int, int]]:
    """(kind, start, end) of each m= section's lines."""
    starts = [i for i, line in enumerate(lines) if line.startswith("m=")]
    ends = [*starts[1:], len(lines)]
    return [(lines[s][2:].split(" ", 1)[0], s, e) for s, e in zip(starts, ends, strict=True)]


def transport_cc_offer(offer_sdp: str) -> dict[str, int]:
    """Media kind -> the id of the transport-wide sequence number extension, for each section
    of the offer that offers it with `a=rtcp-fb:<pt> transport-cc` (Chromium's do)."""
    lines = offer_sdp.replace("\r\n", "\n").split("\n")
    offered: dict[str, int] = {}
    for kind, start, end in _sections(lines):
        ext_id = 0
        feedback = False
        for line in lines[start:end]:
            if line.startswith("a=extmap:") and line.endswith(" " + URI_TRANSPORT_CC):
                head = line[9:].split(" ", 1)[0].split("/")[0]
                ext_id = int(head) if head.isdigit() and 0 < int(head) < 256 else 0
            elif line.startswith("a=rtcp-fb:") and line.split(" ", 1)[-1] == "transport-cc":
                feedback = True
        if ext_id and feedback and kind not in offered:
            offered[kind] = ext_id
    return offered


def accept_transport_cc(answer_sdp: str, offered: dict[str, int]) -> str:
    """aiortc's answer with transport-wide congestion control accepted (it knows none): each
    offered section receives the sequence number extension with the offer's id and asks for
    `transport-cc` feedback on its codecs (not on RTX, which repairs them)."""
    lines = answer_sdp.split("\r\n")
    sections = _sections(lines)
    if not sections:
        return answer_sdp
    out = lines[: sections[0][1]]
    for kind, start, end in sections:
        section = lines[start:end]
        trailing = []
        while section and not section[-1]:
            trailing.append(section.pop())  # the answer's final CRLF
        ext_id = offered.get(kind)
        if ext_id is not None:
            codecs = [
                line[9:].split(" ", 1)
                for line in section
                if line.startswith("a=rtpmap:") and " " in line
            ]
            section.append(f"a=extmap:{ext_id} {URI_TRANSPORT_CC}")
            section += [
                f"a=rtcp-fb:{pt} transport-cc"
                for pt, name in codecs
                if not name.lower().startswith("rtx/")
            ]
        out += section + trailing
    return "\r\n".join(out)
