"""The commit-after-handled consumer never commits past a record still being handled."""

from __future__ import annotations

from aiokafka import TopicPartition

from streams.committing import _Handled

TP = TopicPartition("t", 0)


def test_commits_stop_at_the_lowest_record_still_being_handled() -> None:
    handled = _Handled()
    for offset in (3, 4, 5):
        handled.start(TP, offset)
    handled.finish(TP, 4)
    handled.finish(TP, 5)
    assert handled.committable(TP) == 3, "4 and 5 are done, 3 is not: nothing past 3"
    handled.finish(TP, 3)
    assert handled.committable(TP) == 6
    handled.committed(TP, 6)
    assert handled.committable(TP) is None, "nothing new to commit"


def test_a_record_started_later_holds_the_commit_at_itself() -> None:
    handled = _Handled()
    handled.start(TP, 0)
    handled.finish(TP, 0)
    handled.committed(TP, handled.committable(TP) or 0)
    handled.start(TP, 1)
    assert handled.committable(TP) is None, "1 is running: the committed 1 stays"
    handled.finish(TP, 1)
    assert handled.committable(TP) == 2
