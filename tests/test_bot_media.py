"""Bot media: clip generation, packet replay and pacing, VP8 packetisation, keyframe skips,
audio levels over a real aiortc connection, and a two-bot run against a real server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtp import RtpPacket

from server.bot.client import Bot, SequenceTracker, parse_invite
from server.bot.media import (
    AUDIO_CLOCK,
    MAX_PAYLOAD,
    VIDEO_CLOCK,
    EncodedMedia,
    EncodedPacket,
    EncodedStream,
    EncodedTrack,
    OpusPacker,
    Vp8Packer,
    generate_clip,
    opus_samples,
    vp8_payloads,
)
from server.bot.stats import FirstArrivals
from server.media import aiortc_hooks
from server.media.forwarding import vp8_frame_start
from tests.conftest import negotiate, peer_pair, until


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_clip(tmp_path_factory.mktemp("media") / "clip.webm", seconds=4.0)


@pytest.fixture(scope="session")
def media(clip: Path) -> EncodedMedia:
    return EncodedMedia.load(clip, clip)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def synthetic_video(frames: int = 10, keyframe_every: int = 4) -> EncodedStream:
    packets = tuple(
        EncodedPacket(bytes([1 if i % keyframe_every else 0, i]), 4500, i % keyframe_every == 0)
        for i in range(frames)
    )
    return EncodedStream("video", VIDEO_CLOCK, packets)


# -- generation ---------------------------------------------------------------------------


def test_clip_has_vp8_and_opus_with_keyframes_at_the_interval(clip: Path) -> None:
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert video.codec_context.name == "vp8"
        assert (video.codec_context.width, video.codec_context.height) == (640, 480)
        assert audio.codec_context.name == "opus"
        assert audio.codec_context.sample_rate == 48_000
    media = EncodedMedia.load(clip, clip)
    assert media.video is not None and media.audio is not None
    keyframes = [i for i, p in enumerate(media.video.packets) if p.keyframe]
    assert keyframes == [0, 40]  # 4 s at 20 fps, every 2 s
    assert len(media.video.packets) == 80
    assert {p.duration for p in media.video.packets} == {VIDEO_CLOCK // 20}
    assert {opus_samples(p.data) for p in media.audio.packets} == {960}  # 20 ms frames
    # roughly the requested ~500 kbps; moving, noisy content is not trivially compressible
    kbps = sum(len(p.data) for p in media.video.packets) * 8 / 4.0 / 1000
    assert 250 < kbps < 900


def test_clip_audio_is_speech_like_bursts(media: EncodedMedia) -> None:
    assert media.audio is not None
    levels = [p.level for p in media.audio.packets]
    assert all(level is not None for level in levels)
    loud = [lv for lv in levels[5:70] if lv is not None]  # inside the first 1.5 s burst
    assert 10 <= sorted(loud)[len(loud) // 2] <= 35  # speech-like -10 .. -35 dBov
    silent = levels[80:120]  # 1.6 .. 2.4 s: the pause
    assert all(lv == 127 for lv in silent)


def test_generation_is_cached(tmp_path: Path) -> None:
    path = generate_clip(tmp_path / "a.webm", seconds=1.0, width=160, height=120, video=False)
    mtime = path.stat().st_mtime_ns
    assert generate_clip(path, seconds=1.0, video=False).stat().st_mtime_ns == mtime
    only_audio = EncodedMedia.load(path, None)
    assert only_audio.video is None and only_audio.audio is not None
    video_only = generate_clip(tmp_path / "v.webm", seconds=1.0, width=160, height=120, audio=False)
    with av.open(str(video_only)) as container:
        assert [s.type for s in container.streams] == ["video"]
    with pytest.raises(ValueError):
        EncodedMedia.load(video_only, None)


# -- VP8 packetisation --------------------------------------------------------------------


def test_vp8_payloads_descriptor_and_sizes() -> None:
    frame = bytes([0x11]) + bytes(range(256)) * 20  # 5121 bytes, an interframe
    payloads = vp8_payloads(frame, 0x1234)
    assert len(payloads) == 5
    assert all(len(p) <= MAX_PAYLOAD for p in payloads)
    assert max(len(p) for p in payloads) - min(len(p) for p in payloads) <= 1
    assert b"".join(p[4:] for p in payloads) == frame
    for i, payload in enumerate(payloads):
        descriptor, _ = VpxPayloadDescriptor.parse(payload)
        assert descriptor.partition_start == (1 if i == 0 else 0)
        assert descriptor.partition_id == 0
        assert descriptor.picture_id == 0x1234
        assert payload[2] & 0x80  # M: 15-bit picture id
    # the server's own parser agrees on frame starts and keyframes
    assert vp8_frame_start(payloads[0]) == (True, False)
    assert vp8_frame_start(payloads[1]) == (False, False)
    assert vp8_frame_start(vp8_payloads(b"\x00abc", 5)[0]) == (True, True)


def test_vp8_packer_increments_and_wraps_the_picture_id() -> None:
    packer = Vp8Packer(picture_id=(1 << 15) - 2)
    track = EncodedTrack(synthetic_video(), clock=FakeClock())
    ids, timestamps = [], []
    for _ in range(4):
        payloads, timestamp = packer.pack(track.next_item()[0])
        ids.append(VpxPayloadDescriptor.parse(payloads[0])[0].picture_id)
        timestamps.append(timestamp)
    assert timestamps == [0, 4500, 9000, 13500]
    assert ids == [(1 << 15) - 2, (1 << 15) - 1, 0, 1]
    assert packer.payloads == 4


def test_opus_packer_is_one_payload_per_packet() -> None:
    packer = OpusPacker()
    stream = EncodedStream("audio", AUDIO_CLOCK, (EncodedPacket(b"\x78abc", 960, True, 20),))
    item = EncodedTrack(stream).next_item()[0]
    assert packer.pack(item) == ([b"\x78abc"], 0)
    assert packer.last_level == (True, 20)


# -- replay -------------------------------------------------------------------------------


def test_timestamps_continue_across_loops() -> None:
    clock = FakeClock()
    track = EncodedTrack(synthetic_video(frames=10), clock=clock)
    items = [track.next_item() for _ in range(25)]
    assert [item.timestamp for item, _ in items] == [i * 4500 for i in range(25)]
    assert [item.data[1] for item, _ in items] == [i % 10 for i in range(25)]
    assert [due - 100.0 for _, due in items][:3] == pytest.approx([0.0, 0.05, 0.1])
    assert track.loops == 2


async def test_recv_paces_in_real_time(media: EncodedMedia) -> None:
    assert media.video is not None
    track = EncodedTrack(media.video)
    started = time.monotonic()
    items = [await track.recv() for _ in range(21)]  # 20 frame intervals at 20 fps
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.3
    assert items[-1].timestamp == 20 * 4500


def test_keyframe_request_skips_to_the_next_keyframe_at_the_next_slot() -> None:
    clock = FakeClock()
    track = EncodedTrack(synthetic_video(frames=10, keyframe_every=4), clock=clock)
    first = [track.next_item()[0] for _ in range(2)]  # frames 0, 1
    track.request_keyframe()
    item = track.next_item()[0]
    assert item.data[1] == 4 and item.keyframe  # frame 4, not 2
    assert item.timestamp == 2 * 4500  # at the next frame slot: the timeline does not jump
    assert first[1].timestamp == 4500
    assert track.keyframe_skips == 1
    # throttled: a second request within 0.5 s is ignored
    track.request_keyframe()
    assert track.next_item()[0].data[1] == 5
    clock.now += 0.5
    track.request_keyframe()
    assert track.next_item()[0].data[1] == 8
    # past the last keyframe, the skip wraps to the file's first keyframe
    clock.now += 0.5
    track.request_keyframe()
    assert track.next_item()[0].data[1] == 0
    assert track.keyframe_skips == 3


async def test_a_paused_track_sends_nothing_and_resumes_at_a_keyframe() -> None:
    track = EncodedTrack(synthetic_video(frames=10, keyframe_every=4))
    assert [(await track.recv()).data[1] for _ in range(2)] == [0, 1]
    track.set_paused(True)  # nobody watches this camera
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(track.recv(), 0.3)
    track.set_paused(False)
    item = await track.recv()
    assert item.keyframe


async def test_dtx_sends_few_packets_in_silence(media: EncodedMedia) -> None:
    assert media.audio is not None
    track = EncodedTrack(media.audio, dtx=True)
    sent = 0
    while True:
        item, due = track.next_item()
        if due - track._clock() > 2.4:
            break
        if not track._dtx_drops(item):
            sent += 1
    assert 75 + 10 < sent < 75 + 10 + 5  # 1.5 s of speech, 200 ms hangover, then ~1 per 400 ms


# -- over a real aiortc connection --------------------------------------------------------


async def test_bot_tracks_cross_a_real_connection_with_levels_and_no_encoder(
    media: EncodedMedia, loopback_ice: None, codec_count: list[str]
) -> None:
    sender_pc, receiver_pc = peer_pair()
    received: dict[str, list[RtpPacket]] = {"audio": [], "video": []}
    tracks = media.tracks()
    video_track = next(t for t in tracks if t.kind == "video")
    audio_packer = OpusPacker()
    for track in tracks:
        transceiver = sender_pc.addTransceiver(track, direction="sendonly")
        if track.kind == "video":
            aiortc_hooks.install_packer(transceiver.sender, Vp8Packer())
            aiortc_hooks.on_keyframe_request(transceiver.sender, track.request_keyframe)
        else:
            aiortc_hooks.install_packer(transceiver.sender, audio_packer)
            aiortc_hooks.send_audio_levels(transceiver.sender, lambda: audio_packer.last_level)
    for kind in ("audio", "video"):
        recv = receiver_pc.addTransceiver(kind, direction="recvonly")
        aiortc_hooks.count_received_packets(recv.receiver, received[kind].append, kind)
    await negotiate(sender_pc, receiver_pc)
    try:
        async with asyncio.timeout(10):
            await until(lambda: len(received["audio"]) >= 50, 10, "50 audio packets")
            video_receiver = receiver_pc.getTransceivers()[1].receiver
            await aiortc_hooks.send_picture_loss(video_receiver, received["video"][0].ssrc)
            await until(lambda: video_track.keyframe_skips > 0, 10, "a keyframe skip")
    finally:
        await sender_pc.close()
        await receiver_pc.close()
    assert codec_count == []
    levels = [p.extensions.audio_level for p in received["audio"]]
    assert all(level is not None for level in levels)
    assert any(level == (True, lv) and lv < 40 for level in levels if level for lv in [level[1]])
    first = received["video"][0]
    assert vp8_frame_start(first.payload) == (True, True)  # starts with the file's keyframe
    assert all(len(p.payload) <= MAX_PAYLOAD for p in received["video"])
    seqs = SequenceTracker()
    for p in received["video"]:
        seqs.add(p.sequence_number)
    assert seqs.lost == 0 and seqs.received == len(received["video"])


def test_send_audio_levels_refuses_objects_without_the_internals() -> None:
    class Bare:
        pass

    with pytest.raises(aiortc_hooks.HookError):
        aiortc_hooks.send_audio_levels(Bare(), lambda: None)  # type: ignore[arg-type]


# -- client pieces ------------------------------------------------------------------------


def test_parse_invite() -> None:
    assert parse_invite("http://127.0.0.1:8080/s/s_abc#t=xyz.abc") == (
        "http://127.0.0.1:8080",
        "xyz.abc",
    )
    with pytest.raises(ValueError):
        parse_invite("http://127.0.0.1:8080/s/s_abc")


def test_sequence_tracker_counts_gaps_across_wrap() -> None:
    tracker = SequenceTracker()
    for seq in [65533, 65534, 65535, 1, 2, 0]:  # 0 arrives late
        tracker.add(seq)
    assert (tracker.expected, tracker.received, tracker.lost) == (6, 6, 0)
    tracker.add(5)
    assert tracker.lost == 2


@pytest.mark.unit
def test_first_arrivals_times_the_first_packet_and_keyframe_per_participant() -> None:
    clock = FakeClock()
    arrivals = FirstArrivals(clock)
    arrivals.apply_slots(
        [
            {"mid": "0", "kind": "audio", "participant_id": "p_a"},
            {"mid": "1", "kind": "video", "participant_id": "p_a"},
            {"mid": "2", "kind": "video", "participant_id": None},  # a free slot
        ]
    )
    audio, video, free = arrivals.sink("0"), arrivals.sink("1"), arrivals.sink("2")
    delta, key = vp8_payloads(b"\x01" + bytes(2000), 7), vp8_payloads(b"\x00" + bytes(9), 8)
    packets = [
        RtpPacket(payload_type=96, sequence_number=n, payload=p) for n, p in enumerate(delta)
    ]
    clock.now = 101.0
    free(RtpPacket(payload_type=96, payload=key[0]))  # nobody's: not timed
    for packet in packets:  # a frame joined midway: no picture yet
        video(packet)
    clock.now = 102.0
    audio(RtpPacket(payload_type=111))
    assert arrivals.first_keyframe == {}
    clock.now = 103.5
    video(RtpPacket(payload_type=96, sequence_number=5, payload=key[0]))
    clock.now = 104.0
    video(RtpPacket(payload_type=96, sequence_number=6, payload=key[0]))  # only the first counts
    assert arrivals.first_packet == {("video", "p_a"): 101.0, ("audio", "p_a"): 102.0}
    assert arrivals.first_keyframe == {"p_a": 103.5}
    assert arrivals.received("video", "p_a") == len(delta) + 2


# -- against a real server ----------------------------------------------------------------


async def test_two_bots_receive_each_others_media(
    circle_server: Any, media: EncodedMedia, loopback_ice: None
) -> None:
    session = await circle_server.create_session("Bots")
    alice = Bot(session["invite_url"], "Alice", media)
    arrivals = FirstArrivals()
    bob = Bot(session["invite_url"], "Bob", media, receive_counter=arrivals)
    try:
        async with asyncio.timeout(30):
            await alice.start()
            await bob.start()
            await alice.wait_connected()
            await bob.wait_connected()
            assert alice.participant_id and bob.participant_id
            await until(
                lambda: (
                    min(
                        alice.received("video", bob.participant_id),
                        bob.received("video", alice.participant_id),
                        alice.received("audio", bob.participant_id),
                        bob.received("audio", alice.participant_id),
                    )
                    > 20
                ),
                30,
                "both bots receive both kinds",
            )
        assert {s["participant_id"] for s in alice.slots} >= {bob.participant_id}
        assert alice.lost("video") == 0 and bob.lost("audio") == 0
        # the hook a join-to-first-frame measurement reads: a decodable picture came
        assert set(arrivals.first_packet) == {
            ("audio", alice.participant_id),
            ("video", alice.participant_id),
        }
        assert (
            arrivals.first_keyframe[alice.participant_id]
            >= arrivals.first_packet[("video", alice.participant_id)]
        )
        # a bot takes the transport-wide numbers as a browser does: every packet to it has one
        router = circle_server.live.sessions[session["session_id"]].router
        reader = router.participants[bob.participant_id].feedback
        assert reader is not None and router.participants[bob.participant_id].transport_cc_id
        numbered = (reader.numbering.next - 1) & 0xFFFF
        assert reader.numbering.sent(numbered) is not None
        received = bob.received("video", alice.participant_id) + bob.received(
            "audio", alice.participant_id
        )
        assert numbered + 1 >= received
    finally:
        await alice.leave()
        await bob.leave()
