"""The weak-link policy as traces: levels over time in, the changes the server makes out."""

from __future__ import annotations

from rooms.link_policy import LinkInput, LinkPolicy, changes, decide
from rooms.quality import Level

GOOD, POOR, LOST = Level.GOOD, Level.POOR, Level.LOST


def step(
    applied: dict[str, LinkPolicy],
    links: dict[str, LinkInput],
    spotlight: str | None = None,
    speakers: dict[str, str | None] | None = None,
) -> tuple[dict[str, LinkPolicy], list[tuple[str, str, object]]]:
    wanted = decide(links, spotlight, speakers or {})
    done: list[tuple[str, str, object]] = []
    for change in changes(applied, wanted):
        if change.tell is not None:
            done.append((change.participant_id, "tell", change.tell))
        if change.cap is not None:
            done.append((change.participant_id, "cap", change.cap))
        if change.hold_video:
            done.append((change.participant_id, "hold", change.kept_video))
    return wanted, done


def test_someone_new_is_told_at_once_even_without_levels_then_nothing_repeats() -> None:
    links = {"a": LinkInput("main", None, None)}
    applied, done = step({}, links)
    assert done == [("a", "tell", (None, None))]
    applied, done = step(applied, links)
    assert done == []


def test_a_poor_upstream_is_capped_until_it_recovers_and_lost_counts_as_poor() -> None:
    applied, _ = step({}, {"a": LinkInput("main", GOOD, GOOD)})
    applied, done = step(applied, {"a": LinkInput("main", POOR, GOOD)})
    assert done == [("a", "tell", ("poor", "good")), ("a", "cap", True)]
    applied, done = step(applied, {"a": LinkInput("main", LOST, GOOD)})
    assert done == [("a", "tell", ("lost", "good"))]  # still capped: no new advice
    applied, done = step(applied, {"a": LinkInput("main", GOOD, GOOD)})
    assert done == [("a", "tell", ("good", "good")), ("a", "cap", False)]


def test_a_poor_downstream_keeps_the_spotlight_and_its_rooms_speaker_only() -> None:
    links = {
        "a": LinkInput("main", GOOD, POOR),
        "b": LinkInput("room-1", GOOD, POOR),
        "c": LinkInput("main", GOOD, GOOD),
    }
    speakers: dict[str, str | None] = {"main": "c", "room-1": "d"}
    applied, done = step({}, links, spotlight="s", speakers=speakers)
    holds = {(pid, kept) for pid, what, kept in done if what == "hold"}
    assert holds == {("a", frozenset({"s", "c"})), ("b", frozenset({"s", "d"}))}
    # the speaker changes: only the subscriber in that room gets a new set
    speakers["main"] = None
    applied, done = step(applied, links, spotlight="s", speakers=speakers)
    assert done == [("a", "hold", frozenset({"s"}))]
    # the link recovers: every video again
    links["a"] = LinkInput("main", GOOD, GOOD)
    applied, done = step(applied, links, spotlight="s", speakers=speakers)
    assert done == [("a", "tell", ("good", "good")), ("a", "hold", None)]


def test_a_lost_downstream_is_not_held_to_a_subset() -> None:
    # nothing arrives anyway; when it comes back it starts from every video
    _, done = step({}, {"a": LinkInput("main", GOOD, LOST)}, spotlight="s")
    assert ("a", "hold", frozenset({"s"})) not in done
    assert all(what != "hold" for _, what, _ in done)
