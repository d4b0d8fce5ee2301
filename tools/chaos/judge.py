"""The nemesis's verdict: every invariant of a run judged by the independent checker (tools/checker).

1. exactly once: the canonical topics hold every quote some leg captured, as often as the leg with
   the most copies had it; nothing twice, nothing no leg captured (verdict.judge);
2. holes: a quote no leg captured lies inside a `Gap` of the ledger, unless the capture was silent
   around it for less than the market's plausible quiet there: such a single miss (leg a's drop while
   leg b was down) cannot be told from a quiet market in the stream, and is counted apart (found
   afterwards only by a reconciliation with the exchange's record);
3. the archive equals the canonical topics row for row: every offset of each archived topic once,
   every field as the record says (decoded by the checker's own contract);
4. the bars equal bars recomputed from the canonical ticks (tools/checker/bars.py: the rule written
   again), each published once; the bars of the last `grace` of the market, not final yet when
   the run ends, are counted apart;
5. the consumer group handed over every canonical record; its duplicates are counted (at-least-once:
   what a member handled after its last commit is handed again when its coordinator or partition moves).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tools.chaos.campaign import LEGS, MARKET_END, MARKET_START, Run, group_output
from tools.checker import bars as barcheck
from tools.checker import readback, truth, verdict
from tools.checker.protocol import Contract
from txf_kit import calendar

QUOTE_TOPICS = {"txf-tick": "txf.v1.Tick", "txf-bidask": "txf.v1.BidAsk"}
ARCHIVED = {**QUOTE_TOPICS, "txf-gaps": "txf.v1.Gap", "txf-bars-1m": "txf.v1.Bar"}
KIND_DIR = {"txf.v1.Tick": "tick", "txf.v1.BidAsk": "bidask", "txf.v1.Gap": "gap", "txf.v1.Bar": "bar"}


def judge(run: Run, kafka: dict[str, Any]) -> dict[str, Any]:
    contract = Contract.from_proto()
    pre = run.prefix
    legs = [truth.Leg(name, seed, run.profile.leg_drop if name == "a" else 0.0) for name, seed in LEGS.items()]
    start, end = calendar.to_ns(MARKET_START), calendar.to_ns(MARKET_END)
    market = truth.truth(contract, run.seed, start, end, legs, run.profile.intensity)
    records = {t: readback.read_topic(kafka, pre + t) for t in ARCHIVED}
    decoded = {t: [contract.decode(ARCHIVED[t], r.value) for r in rs] for t, rs in records.items()}
    legs_ids: dict[str, list[bytes]] = {}
    captured_ns: list[int] = []
    redelivered = 0  # a leg record its topic holds twice (same run, stream, sequence): one capture
    for name in LEGS:
        ids = []
        seen: set[tuple[int, str, int]] = set()
        for topic, message in QUOTE_TOPICS.items():
            for r in readback.read_topic(kafka, f"{pre}leg-{name}.{topic}"):
                msg = contract.decode(message, r.value)
                record = (int(msg.producer_run_id), topic, int(msg.sequence))
                if record in seen:
                    redelivered += 1
                    continue
                seen.add(record)
                ids.append(contract.identity(msg))
                captured_ns.append(int(msg.exchange_time_us) * 1000)
        legs_ids[name] = ids
    canonical = [contract.identity(m) for t in QUOTE_TOPICS for m in decoded[t]]
    gaps = [(int(g.start_ns), int(g.end_ns)) for g in decoded["txf-gaps"]]
    once = verdict.judge(market.quotes, legs_ids, canonical, gaps)
    holes = _holes(once, market.quotes, legs_ids, canonical, captured_ns, gaps, run.profile.gap_floor_s)
    return {
        "exactly_once": {
            k: v for k, v in once.summary().items() if k not in ("holes_without_a_gap", "holes_inside_a_gap")
        }
        | {
            "leg_records_held_twice": redelivered,
            "violations": len(once.missing_captured) + len(once.duplicated) + len(once.not_captured),
        },
        "holes": holes,
        "archive_equals_topics": _archive(run.work / "archive", pre, records, decoded),
        "bars": _bars(decoded, run.profile.grace_s),
        "consumer_group": _group(run, records),
    }


def _holes(
    once: verdict.Verdict,
    quotes: list[truth.Quote],
    legs: dict[str, list[bytes]],
    canonical: list[bytes],
    captured_ns: list[int],
    gaps: list[tuple[int, int]],
    floor_s: float,
) -> dict[str, Any]:
    """Quotes no leg captured: inside a Gap, or a miss in a silence shorter than the plausible quiet."""
    import bisect

    best: Counter[bytes] = Counter()
    for ids in legs.values():
        best |= Counter(ids)
    market = Counter(q.identity for q in quotes)
    times = sorted(set(captured_ns))
    cal = calendar.TradingCalendar()
    in_gap = single = 0
    silent: list[str] = []
    seen: set[bytes] = set()
    for q in quotes:
        if q.identity in seen or market[q.identity] <= best[q.identity]:
            continue
        seen.add(q.identity)
        t = q.exchange_ns
        if any(a <= t <= b for a, b in gaps):
            in_gap += market[q.identity] - best[q.identity]
            continue
        i = bisect.bisect_left(times, t)
        before, after = (times[i - 1] if i else None), (times[i] if i < len(times) else None)
        if before is not None and after is not None:
            quiet = (after - before) / 1e9
            if quiet <= cal.plausible_silence_s(before, floor_s):
                single += market[q.identity] - best[q.identity]
                continue
        silent.append(f"{calendar.taipei(t):%H:%M:%S.%f}: no leg captured it, no Gap covers it")
    return {
        "uncaptured_inside_a_gap": in_gap,
        "single_misses_below_the_plausible_quiet": single,
        "violations": len(silent),
        "examples": silent[:10],
    }


def _archive(
    root: Path, pre: str, records: dict[str, list[readback.Record]], decoded: dict[str, list[Any]]
) -> dict[str, Any]:
    """Every archived row of each topic against the topic: the same offsets once, the same fields."""
    problems: list[str] = []
    rows = 0
    for topic, message in ARCHIVED.items():
        files = sorted((root / KIND_DIR[message]).rglob("*.parquet"))
        tables = [pq.read_table(f) for f in files]
        table = pa.concat_tables(tables, promote_options="default") if tables else None
        if table is not None:
            table = table.filter(pa.compute.equal(table.column("kafka_topic"), pre + topic))
        got = table.column("kafka_offset").to_pylist() if table is not None else []
        want = [r.offset for r in records[topic]]
        dup = [o for o, n in Counter(got).items() if n > 1]
        if dup:
            problems.append(f"{topic}: {len(dup)} offsets archived twice, e.g. {dup[:3]}")
        if set(got) != set(want):
            problems.append(f"{topic}: archive has {len(set(got))} offsets, the topic {len(want)}")
        if table is None or not want:
            continue
        by_offset = {o: i for i, o in enumerate(got)}
        columns = set(table.column_names)
        for r, msg in zip(records[topic], decoded[topic], strict=True):
            i = by_offset.get(r.offset)
            if i is None:
                continue
            rows += 1
            for f in msg.DESCRIPTOR.fields:
                if f.name in columns:
                    value = table.column(f.name)[i].as_py()
                    mine = list(getattr(msg, f.name)) if f.is_repeated else getattr(msg, f.name)
                    if value is None and not mine:
                        continue
                    if value != mine and not (isinstance(value, bool) and value == bool(mine)):
                        problems.append(f"{topic}@{r.offset}: {f.name} archived {value!r}, the record says {mine!r}")
                        break
            if len(problems) > 20:
                break
    return {"rows_compared": rows, "violations": len(problems), "examples": problems[:10]}


def _bars(decoded: dict[str, list[Any]], grace_s: float) -> dict[str, Any]:
    """The published bars against bars recomputed from the canonical ticks (final ones only)."""
    ticks = decoded["txf-tick"]
    recomputed = barcheck.bars(
        (t.code, int(t.exchange_time_us) * 1000, int(t.close), int(t.volume), bool(t.simtrade)) for t in ticks
    )
    newest = max((int(t.exchange_time_us) * 1000 for t in ticks), default=0)
    final_until = newest - int(grace_s * 1e9)
    published = Counter((b.code, int(b.end_time_ms) * 1_000_000) for b in decoded["txf-bars-1m"])
    problems = [f"bar {c} {calendar.taipei(e):%H:%M} published {n} times" for (c, e), n in published.items() if n > 1]
    by_key = {(b.code, int(b.end_time_ms) * 1_000_000): b for b in decoded["txf-bars-1m"]}
    checked = open_at_end = 0
    for key, want in recomputed.items():
        if key[1] > final_until:
            open_at_end += 1
            continue
        got = by_key.get(key)
        if got is None:
            problems.append(f"bar {key[0]} {calendar.taipei(key[1]):%H:%M}: recomputed, never published")
            continue
        checked += 1
        mine = (got.open, got.high, got.low, got.close, got.volume, got.tick_count, got.value)
        theirs = (want.open, want.high, want.low, want.close, want.volume, want.count, want.value)
        if mine != theirs:
            problems.append(f"bar {key[0]} {calendar.taipei(key[1]):%H:%M}: published {mine}, recomputed {theirs}")
    extra = [k for k in by_key if k not in recomputed]
    problems += [f"bar {c} {calendar.taipei(e):%H:%M}: published, no trade of it in the ticks" for c, e in extra]
    return {
        "bars_checked": checked,
        "open_at_the_end": open_at_end,
        "violations": len(problems),
        "examples": problems[:10],
    }


def _group(run: Run, records: dict[str, list[readback.Record]]) -> dict[str, Any]:
    """The consumer group's output: every canonical record handed over; duplicates counted."""
    seen = group_output(run.work / "logs", ("consumer-1", "consumer-2"))
    problems = []
    duplicates = 0
    for topic in QUOTE_TOPICS:
        want = {(r.partition, r.offset) for r in records[topic]}
        got = Counter(seen.get(run.prefix + topic, []))
        missing = want - set(got)
        if missing:
            problems.append(f"{topic}: {len(missing)} records never handed over, e.g. {sorted(missing)[:3]}")
        duplicates += sum(n - 1 for n in got.values() if n > 1)
    handed = sum(len(v) for v in seen.values())
    return {"handed_over": handed, "duplicates": duplicates, "violations": len(problems), "examples": problems}
