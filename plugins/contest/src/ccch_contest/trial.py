"""A trial copy of a contest definition whose rounds start now, to try the participant flow.

The example contest (``examples/duc-tho-2024/contest.toml``) keeps the dates an organiser would
write (June 2024), so its rounds are all closed today. For a demo or a trial run, this writes a copy
with every round moved by the same whole number of days, so that one round (the first by default)
is open now; the rounds keep their lengths, gaps and times of day (07:00 to 23:59:59). The source
file is never changed::

    python -m ccch_contest.trial examples/duc-tho-2024/contest.toml -o instance/contest-trial.toml
    ccch -c instance/ccch.toml contest load instance/contest-trial.toml

``--open-round 2`` leaves round 1 closed (yesterday or earlier), to try the review of answers, the
true figure of the prediction question and the prize lists as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import attrs

from ccch_core.periods import VN_TZ, utc_now

from .definition import (
    ContestDefinition,
    DefinitionError,
    definition_to_toml,
    load_definition,
)


def shifted_to_now(d: ContestDefinition, now: dt.datetime | None = None, open_round: int | None = None
                   ) -> ContestDefinition:
    """``d`` with its rounds moved so that round ``open_round`` (default: the first) is open at
    ``now``: by whole days when that keeps the round open at ``now`` (times of day unchanged),
    otherwise so that it opens at ``now``'s minute. Raises KeyError for an unknown round."""
    now = (now or utc_now()).astimezone(VN_TZ)
    target = d.round(open_round) if open_round is not None else d.rounds[0]
    days = (now.date() - target.opens.date()).days
    offset = dt.timedelta(days=days)
    if target.opens + offset > now:  # opens later in the day than now: start a day earlier
        offset -= dt.timedelta(days=1)
    if not target.opens + offset <= now < target.ends + offset:  # a round shorter than a day
        offset = now.replace(second=0, microsecond=0) - target.opens
    rounds = tuple(attrs.evolve(r, opens=r.opens + offset, closes=r.closes + offset) for r in d.rounds)
    return attrs.evolve(d, rounds=rounds)


def trial_toml(source: Path, now: dt.datetime | None = None, open_round: int | None = None) -> str:
    """The trial copy of the definition file ``source`` as TOML, with a note of where it came from."""
    shifted = shifted_to_now(load_definition(source, None), now, open_round)
    stamp = (now or utc_now()).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
    note = (f"# Bản chạy thử của {source.name}: các vòng thi được dời cùng một số ngày để vòng "
            f"{open_round or shifted.rounds[0].number} đang mở lúc {stamp} (giờ Việt Nam).\n"
            "# Trial copy made by `python -m ccch_contest.trial`; the source file is unchanged.\n")
    return note + definition_to_toml(shifted)


def main(argv: list[str] | None = None) -> int:
    """``python -m ccch_contest.trial SOURCE [-o OUTPUT] [--open-round N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m ccch_contest.trial",
        description="Write a trial copy of a contest definition with its rounds moved so that one is open now.")
    parser.add_argument("source", type=Path, help="the contest definition (TOML); it is not changed")
    parser.add_argument("-o", "--output", type=Path, help="where to write the copy (default: print it)")
    parser.add_argument("--open-round", type=int, help="the round to open now (default: the first)")
    args = parser.parse_args(argv)
    if args.output is not None and args.output.resolve() == args.source.resolve():
        parser.error(f"{args.output}: the trial copy must not overwrite its source")
    try:
        text = trial_toml(args.source, open_round=args.open_round)
    except DefinitionError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyError:
        print(f"{args.source}: there is no round {args.open_round}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        which = f"round {args.open_round}" if args.open_round else "the first round"
        print(f"Wrote {args.output}: the rounds moved so that {which} is open now")
    return 0


if __name__ == "__main__":
    sys.exit(main())
