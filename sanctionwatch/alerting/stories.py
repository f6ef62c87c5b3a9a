"""Stories: items within a window that tell the same story are grouped, so a channel gets one
top-level message per story and the other outlets' copies go into its thread.

Two signals decide, and both are things the pipeline already has or can cheaply compute:

* **Canonical entities.** The matcher maps "Kim Jong-un", "Ким Чен Ын" and "김정은" to one
  entity id, so an item's entity set is the same in every language.
* **Text similarity.** MinHash over word shingles of the normalised title and text estimates
  the Jaccard similarity of two texts in constant space: the same wire text under other links
  and headlines scores high, two texts that merely name the same actors low. It is computed
  here with numpy (``MinHashSignature``): ``datasketch`` does the same, but importing it pulls
  in scipy and costs two seconds on every ``run --once``.

An item joins a story only when the same rules fire (another rule is a new development: the
step from talks to deliveries fires a different rule) and either

1. its text is the story's text (MinHash ≥ ``SAME_TEXT_MIN_SIMILARITY``) and it names no
   actor the story did not (other actors are a new development), or
2. it names exactly the story's entities, at least ``MIN_ENTITIES_FOR_REWRITE`` of them: a
   translation or rewrite of one event, which no text measure can see across languages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlite_utils

from sanctionwatch.clock import iso
from sanctionwatch.models import Item, Match

log = logging.getLogger(__name__)

# 128 permutations: the Jaccard estimate's standard error is about 1/sqrt(128) ≈ 0.09, fine for
# a threshold at 0.5; each signature costs 1 kB in the stories table.
NUM_PERM = 128
SEED = 1  # fixed: signatures stored in the database must stay comparable across runs
# Universal hashing h(x) = (a·x + b) mod p over 32-bit shingle hashes: p is the smallest prime
# above 2**32, so every product a·x (a, x < 2**32) fits in uint64 without overflow.
PRIME = 4_294_967_311
_RNG = np.random.RandomState(SEED)
_A = _RNG.randint(1, 2**32 - 1, size=NUM_PERM, dtype=np.uint64)
_B = _RNG.randint(0, 2**32 - 1, size=NUM_PERM, dtype=np.uint64)
# Word 4-shingles: long enough that two texts about the same actors ("Kim Jong Un", "North
# Korea") do not share shingles by their names alone, short enough that an outlet's edits
# (a changed word every sentence or so) leave most shingles intact.
SHINGLE_WORDS = 4
# Wire copies measured on the test corpus: the same agency text under another headline and
# with an outlet's boilerplate scores 0.6–0.95; different texts on the same actors, below
# 0.15. 0.5 sits between with room for the estimate's error on both sides.
SAME_TEXT_MIN_SIMILARITY = 0.5
# A translation shares no words; only the entity set can join it. Two or fewer entities
# ("Russia", "North Korea") describe a whole beat, not an event, so at least three.
MIN_ENTITIES_FOR_REWRITE = 3
# Entity types that count as actors: a new one makes a new development. Keywords (activity
# words) and weapons vary with an outlet's wording and do not.
ACTOR_TYPES = frozenset({"person", "organisation", "country", "vessel"})
# Matches below this score do not count (the rules' default min_score).
MIN_STORY_SCORE = 88.0
LOOKALIKE_TAG = "lookalike"
_WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class MinHash:
    """A MinHash signature: per permutation, the least hash of any shingle."""

    hashvalues: np.ndarray  # uint64, NUM_PERM values

    def jaccard(self, other: MinHash) -> float:
        """Estimated Jaccard similarity of the two shingle sets (share of equal minima)."""
        return float(np.mean(self.hashvalues == other.hashvalues))


@dataclass(frozen=True)
class Signature:
    rules_key: str  # sorted names of every rule that fired on the item
    entities: frozenset[str]  # canonical entity ids
    actors: frozenset[str]  # the subset that are actors (ACTOR_TYPES)
    minhash: MinHash


@dataclass(frozen=True)
class Decision:
    story_id: int
    joined: bool  # False: this item started the story
    reason: str
    text_similarity: float | None = None
    entity_similarity: float | None = None


def counted(matches: Sequence[Match]) -> list[Match]:
    """The matches that name an entity of the story: confident, and no look-alike."""
    return [m for m in matches if m.score >= MIN_STORY_SCORE and LOOKALIKE_TAG not in m.tags]


def shingles(text: str) -> set[bytes]:
    words = [w.casefold() for w in _WORD_RE.findall(text)]
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {
        " ".join(words[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def minhash_of(text: str) -> MinHash:
    found = shingles(text)
    if not found:
        return MinHash(np.full(NUM_PERM, PRIME, dtype=np.uint64))
    xs = np.array(
        [int.from_bytes(hashlib.blake2b(s, digest_size=4).digest(), "little") for s in found],
        dtype=np.uint64,
    )
    values = ((_A[:, None] * xs[None, :]) % PRIME + _B[:, None]) % PRIME
    return MinHash(values.min(axis=1))


def signature(item: Item, matches: Sequence[Match], rules: Sequence[str]) -> Signature:
    kept = counted(matches)
    return Signature(
        rules_key=",".join(sorted(set(rules))),
        entities=frozenset(m.entity_id for m in kept),
        actors=frozenset(m.entity_id for m in kept if m.type in ACTOR_TYPES),
        minhash=minhash_of(f"{item.title}\n{item.text}"),
    )


def _load_minhash(blob: bytes | None) -> MinHash | None:
    if not blob:
        return None
    values = np.frombuffer(blob, dtype=np.uint64)
    if len(values) != NUM_PERM:
        return None
    return MinHash(values.copy())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def judge(
    sig: Signature,
    story_entities: frozenset[str],
    story_actors: frozenset[str],
    story_hash: MinHash | None,
) -> tuple[bool, str, float | None, float]:
    """Whether an item with ``sig`` tells the story; (joined, why, text sim, entity sim)."""
    ent = jaccard(sig.entities, story_entities)
    text = sig.minhash.jaccard(story_hash) if story_hash is not None else None
    new_actors = sig.actors - story_actors
    if text is not None and text >= SAME_TEXT_MIN_SIMILARITY:
        if new_actors:
            return False, f"same text ({text:.2f}) but new actors: a new development", text, ent
        return (
            True,
            f"same text: MinHash similarity {text:.2f} ≥ {SAME_TEXT_MIN_SIMILARITY}",
            text,
            ent,
        )
    if sig.entities == story_entities and len(sig.entities) >= MIN_ENTITIES_FOR_REWRITE:
        return (
            True,
            (
                f"same {len(sig.entities)} entities (a translation or rewrite); text similarity "
                f"{(text or 0):.2f}"
            ),
            text,
            ent,
        )
    return (
        False,
        (
            f"text similarity {(text or 0):.2f} < {SAME_TEXT_MIN_SIMILARITY} and entities differ "
            f"(overlap {ent:.2f})"
        ),
        text,
        ent,
    )


def _entities(row_value: str) -> tuple[frozenset[str], frozenset[str]]:
    data = json.loads(row_value or "{}")
    return frozenset(data.get("entities", ())), frozenset(data.get("actors", ()))


def assign(
    db: sqlite_utils.Database, item: Item, sig: Signature, now: datetime, window: timedelta
) -> Decision:
    """Join the item to the best story in the window, or start a new one. Inside the
    recording transaction."""
    best: tuple[float, int, str, float | None, float] | None = None
    rows = db.execute(
        "SELECT id, entities, minhash FROM stories WHERE rules_key = ? AND last_at >= ?"
        " ORDER BY id",
        [sig.rules_key, iso(now - window)],
    ).fetchall()
    for story_id, entities, blob in rows:
        ents, actors = _entities(entities)
        joined, why, text, ent = judge(sig, ents, actors, _load_minhash(blob))
        if joined:
            score = (text or 0.0) + ent
            if best is None or score > best[0]:
                best = (score, int(story_id), why, text, ent)
    if best is not None:
        _, story_id, why, text, ent = best
        db.execute("UPDATE stories SET last_at = ? WHERE id = ?", [iso(now), story_id])
        _remember(db, item.item_id, story_id, now, why, text, ent)
        log.info("item joins story story=%d item=%s why=%r", story_id, item.item_id, why)
        return Decision(story_id, True, why, text, ent)
    cur = db.execute(
        "INSERT INTO stories (first_item_id, rules_key, entities, minhash, title, created_at,"
        " last_at) VALUES (?,?,?,?,?,?,?)",
        [
            item.item_id,
            sig.rules_key,
            json.dumps({"entities": sorted(sig.entities), "actors": sorted(sig.actors)}),
            np.asarray(sig.minhash.hashvalues, dtype=np.uint64).tobytes(),
            item.title[:500],
            iso(now),
            iso(now),
        ],
    )
    assert cur.lastrowid is not None
    story_id = int(cur.lastrowid)
    _remember(db, item.item_id, story_id, now, "first item of the story", None, None)
    return Decision(story_id, False, "first item of the story")


def _remember(
    db: sqlite_utils.Database,
    item_id: str,
    story_id: int,
    now: datetime,
    reason: str,
    text: float | None,
    ent: float | None,
) -> None:
    db.execute(
        "INSERT OR REPLACE INTO story_items (item_id, story_id, joined_at, reason,"
        " text_similarity, entity_similarity) VALUES (?,?,?,?,?,?)",
        [item_id, story_id, iso(now), reason, text, ent],
    )
