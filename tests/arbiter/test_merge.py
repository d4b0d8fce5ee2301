"""The legs' records merged by exchange time while they have backlogs; never held back while live."""

from __future__ import annotations

from txf_arbiter.merge import LegMerger


class Wall:
    def __init__(self) -> None:
        self.t = 0

    def __call__(self) -> int:
        return self.t


def test_backlogs_come_out_in_exchange_time_order_across_legs() -> None:
    m: LegMerger[str] = LegMerger(["a", "b"])
    for t in (10, 20, 30, 40):
        m.push("a", f"a{t}", t)  # leg a's whole backlog arrives first, as a fetch hands it over
    assert m.release(lambda leg: False) == []  # b has not said anything yet: a's records wait
    for t in (15, 25):
        m.push("b", f"b{t}", t)
    got = [item for _leg, item in m.release(lambda leg: False)]
    assert got == ["a10", "b15", "a20", "b25"]  # b is empty again and not read to its end: a30 waits
    assert [item for _leg, item in m.release(lambda leg: leg == "b")] == ["a30", "a40"]


def test_a_live_feed_is_never_held_and_a_silent_leg_holds_the_others_only_briefly() -> None:
    wall = Wall()
    m: LegMerger[str] = LegMerger(["a", "b"], hold_ns=1_000, behind_ns=10_000, wall_ns=wall)
    m.push("a", "a1", 1)
    assert m.release(lambda leg: True) == [("a", "a1")]  # both read to their ends: at once
    m.push("a", "a2", 2)
    assert m.release(lambda leg: None if leg == "b" else True) == []  # b's end is not known yet
    wall.t += 2_000
    assert m.release(lambda leg: None if leg == "b" else True) == [("a", "a2")]  # waited long enough for b
    m.push("a", "a3", 3)
    assert m.release(lambda leg: False if leg == "b" else True) == []  # b is known to have more: wait
    wall.t += 5_000
    assert m.release(lambda leg: False if leg == "b" else True) == []  # ... longer
    wall.t += 6_000
    assert m.release(lambda leg: False if leg == "b" else True) == [("a", "a3")]  # no leader for that long?


def test_a_record_that_is_not_a_quote_keeps_its_place_in_its_leg() -> None:
    m: LegMerger[str] = LegMerger(["a", "b"])
    m.push("a", "a5", 5)
    m.push("a", "garbage", None)
    m.push("a", "a7", 7)
    m.push("b", "b6", 6)
    assert [i for _l, i in m.release(lambda leg: True)] == ["a5", "garbage", "b6", "a7"]
    assert list(m.held()) == []
