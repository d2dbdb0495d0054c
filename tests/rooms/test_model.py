from __future__ import annotations

import pytest

from rooms.model import ParticipantJoined, ParticipantLeft, Role, Session, SessionError


def test_join_update_leave() -> None:
    s = Session("s1", "Group", created_at=0.0, max_participants=2)
    event = s.join("p1", "  Alex   Kim ", Role.FACILITATOR, now=5.0)
    assert isinstance(event, ParticipantJoined)
    assert event.participant.display_name == "Alex Kim"
    assert event.participant.public()["role"] == "facilitator"
    assert s.set_media_state("p1", audio=False, video=None).participant.audio_on is False
    assert s.leave("p1", now=9.0) == ParticipantLeft("p1", 9.0)
    assert s.leave("p1", now=9.0) is None


def test_refusals_leave_the_session_unchanged() -> None:
    s = Session("s1", "Group", created_at=0.0, max_participants=1)
    s.join("p1", "Alex", Role.PARTICIPANT, now=0.0)
    with pytest.raises(SessionError) as full:
        s.join("p2", "Blair", Role.PARTICIPANT, now=0.0)
    assert full.value.code == "full"
    with pytest.raises(SessionError):
        s.join("p1", "Again", Role.PARTICIPANT, now=0.0)
    with pytest.raises(SessionError):
        Session("s2", "G", 0.0).join("p3", "   ", Role.PARTICIPANT, now=0.0)
    with pytest.raises(SessionError):
        s.set_media_state("nobody", audio=True, video=True)
    assert list(s.participants) == ["p1"]
    assert Role.COFACILITATOR.leads and not Role.PARTICIPANT.leads
