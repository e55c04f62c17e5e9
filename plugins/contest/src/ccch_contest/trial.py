"""A trial of a contest whose rounds start now, to try the participant flow.

The example contest (``examples/duc-tho-2024/contest.toml``) keeps the dates an organiser would
write (June 2024), so its rounds are all closed today. For a demo or a rehearsal,
``ccch contest load FILE --trial`` loads it with every round moved by the same whole number of
days, so that one round (the first by default) is open now; the rounds keep their lengths, gaps
and times of day (07:00 to 23:59:59). The file is never changed. ``--open-round 2`` leaves round 1
closed (yesterday or earlier), to try the review of answers, the true figure of the prediction
question and the prize lists as well.
"""

from __future__ import annotations

import datetime as dt

import attrs

from ccch_core.periods import VN_TZ, utc_now

from .definition import ContestDefinition


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
