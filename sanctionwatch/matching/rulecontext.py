"""A rule's context as the second signal of a held one-word official match.

``signals`` holds back a one-word official alias that is an ordinary word ("Justice") when
the item names nothing else of its entry. A rule can still ask for it: a rule whose
``min_score`` admits official one-word matches (at most ``OFFICIAL_SINGLE_WORD_SCORE``) and
whose other clauses the item meets (a vessel designated under IRAN beside "oil cargo"
and "transfer") is context enough. Such a held match is listed when one of those rules
fires with it; every other held match stays out of the item's matches, so it neither
crowds ``match`` output nor reaches a rule that did not ask.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from sanctionwatch.matching.evaluate import evaluate
from sanctionwatch.matching.signals import OFFICIAL_SINGLE_WORD_SCORE
from sanctionwatch.models import Match, Rule

log = logging.getLogger(__name__)

__all__ = ["asking_rules", "with_rule_context"]


def asking_rules(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """The rules that ask for official one-word matches (their min_score admits them)."""
    return tuple(r for r in rules if r.min_score <= OFFICIAL_SINGLE_WORD_SCORE)


def with_rule_context(
    rules: Sequence[Rule], listed: list[Match], held: Sequence[Match], fields: Sequence[str]
) -> list[Match]:
    """``listed`` plus each held match that makes an asking rule fire, in the order of
    ``fields`` (the item's field names, e.g. title, text), each by start offset."""
    asking = asking_rules(rules)
    if not asking or not held:
        return listed
    out = list(listed)
    for m in held:
        fired = [a.rule for a in evaluate(asking, [*listed, m], "") if m in a.matches]
        if fired:
            note = f"; ordinary word, listed on a rule's context: {', '.join(sorted(fired))}"
            out.append(replace(m, detail=m.detail + note))
            log.debug("held match listed on a rule entity=%s rules=%s", m.entity_id, fired)
    if len(out) == len(listed):
        return listed
    rank = {f: i for i, f in enumerate(fields)}
    return sorted(out, key=lambda m: (rank.get(m.field, len(rank)), m.start, m.end, m.entity_id))
