"""The name index's two per-row tables, kept as columns: entities and every name's tokens.

A cached engine is loaded by every command and every worker process. With a million names
its index held one ``EntityRef`` per entity (956k) and one tuple of ``Analysed`` per name
(1.16M, over 294k distinct tokens), and unpickling rebuilt every one of those objects: 1.4 s
for the entities and 2.7 s for the name tokens of a 4.2 s load (each timed on its own).
Stored as columns (one list per field, token numbers in an ``array``), the same data loads
in about a tenth of that, and a row is built the first time the matcher reads it: one
article reads a few hundred names of the million, a long-running worker a few thousand.

Rows are built once per process and kept, so the matcher sees one object per row and one
``Analysed`` per stored token (the builder stores one per distinct value). Both tables are
appended to while the index is built and read-only afterwards; reading is safe from several
threads (two threads building one row at once build equal rows).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any, NamedTuple

from sanctionwatch.matching.normalize import Analysed, astuple

__all__ = ["EntityRef", "EntityTable", "NameTokens", "pack_strings", "unpack_strings"]


class EntityRef(NamedTuple):
    """What the matcher keeps of a watchlist entry."""

    id: str
    name: str
    list: str
    type: str
    tags: tuple[str, ...]
    strict: bool
    programs: tuple[str, ...] = ()
    curated: bool = True


_FIELDS = len(EntityRef._fields)
_TOKEN_FIELDS = 9  # ``normalize.astuple``
# Token numbers: 4 bytes each where "I" is that wide (everywhere in practice), else "L".
_NUMBERS = "I" if array("I").itemsize >= 4 else "L"


# Joins a column of strings for pickling (see ``pack_strings``).
_SEP = "\x00"


def pack_strings(strings: list[str]) -> str | list[str]:
    """A column of strings as one string when none contains the separator (else the list).

    Pickle memoises every object it writes: a million names' aliases, entity ids and names
    were 3M memo entries (saving peaked 76 MB higher), and 3M objects to build when
    loading; one joined string is one object, split again in a few milliseconds."""
    if not strings:
        return strings
    joined = _SEP.join(strings)
    return joined if joined.count(_SEP) == len(strings) - 1 else strings


def unpack_strings(packed: str | list[str]) -> list[str]:
    return packed.split(_SEP) if isinstance(packed, str) else packed


class EntityTable:
    """``EntityRef`` rows by entity number, stored as one list per field.

    The fields are also read directly where the matcher needs one of them per candidate
    (``ids``, ``strict``, ``curated``): no row is built for that."""

    __slots__ = ("_cols", "_rows", "_shared", "curated", "ids", "strict")

    def __init__(self) -> None:
        self._cols: tuple[list[Any], ...] = tuple([] for _ in range(_FIELDS))
        self._rows: dict[int, EntityRef] = {}
        # list names, types, tags and programs repeat across entities: one object each,
        # which pickle then writes once (built again after loading if anything is appended)
        self._shared: dict[object, object] = {}
        # the columns themselves, read per candidate (no row built, no method call)
        self.ids: list[str] = self._cols[0]
        self.strict: list[bool] = self._cols[5]
        self.curated: list[bool] = self._cols[7]

    def append(self, ref: EntityRef) -> None:
        ids, names, lists, types, tags, strict, programs, curated = self._cols
        share = self._shared.setdefault
        ids.append(ref.id)
        names.append(ref.name)
        lists.append(share(ref.list, ref.list))
        types.append(share(ref.type, ref.type))
        tags.append(share(ref.tags, ref.tags))
        strict.append(ref.strict)
        programs.append(share(ref.programs, ref.programs))
        curated.append(ref.curated)

    def seal(self) -> None:
        """The table is complete: drop what only appending needs."""
        self._shared = {}

    def __len__(self) -> int:
        return len(self._cols[0])

    def __getitem__(self, ent: int) -> EntityRef:
        row = self._rows.get(ent)
        if row is None:
            if not 0 <= ent < len(self):
                raise IndexError(f"entity {ent} of {len(self)}")
            row = EntityRef._make(col[ent] for col in self._cols)
            self._rows[ent] = row
        return row

    def __iter__(self) -> Iterator[EntityRef]:
        return (self[ent] for ent in range(len(self)))

    def __getstate__(self) -> tuple[object, ...]:
        ids, names, *rest = self._cols
        return (pack_strings(ids), pack_strings(names), *rest)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        ids, names, *rest = state
        self._cols = (unpack_strings(ids), unpack_strings(names), *rest)
        self._rows = {}
        self._shared = {}
        self.ids, self.strict, self.curated = self._cols[0], self._cols[5], self._cols[7]


class NameTokens:
    """Each name's analysed tokens, by name id: the distinct token values once (one list
    per ``Analysed`` field), and each name as a run of token numbers in ``flat``."""

    __slots__ = ("_cols", "_flat", "_ends", "_made", "_number", "rows", "sizes")

    def __init__(self) -> None:
        self._cols: tuple[list[Any], ...] = tuple([] for _ in range(_TOKEN_FIELDS))
        self._flat = array(_NUMBERS)  # token numbers of every name, one after the other
        self._ends = array(_NUMBERS)  # name i is flat[ends[i - 1]:ends[i]] (from 0 for name 0)
        # token number → its object; the objects given while building are kept, so the
        # building process reads the same objects it filed
        self._made: list[Analysed | None] = []
        # token object → number; the builder gives one object per token value
        self._number: dict[Analysed, int] | None = {}
        # Read directly where the matcher needs them per candidate: each name's token count,
        # and its row once built (None before: ``rows[i] or tokens[i]``). Calls through the
        # tables there made warm matching 7 % dearer in instructions than the old lists;
        # with these and the entity columns read directly, 3.6 % (callgrind, 35k names).
        self.sizes = array(_NUMBERS)
        self.rows: list[tuple[Analysed, ...] | None] = []

    def append(self, toks: tuple[Analysed, ...]) -> None:
        """File one name's tokens. A token object met before is stored once: give one
        object per token value (``analyse_word`` does; ``NameIndex.build`` interns)."""
        if self._number is None:  # loaded (or sealed), then appended to
            self._number = {self._token(n): n for n in range(len(self._made))}
        number = self._number
        for a in toks:
            n = number.get(a)
            if n is None:
                n = number[a] = len(self._made)
                for col, field in zip(self._cols, astuple(a), strict=True):
                    col.append(field)
                self._made.append(a)
            self._flat.append(n)
        self._ends.append(len(self._flat))
        self.sizes.append(len(toks))
        self.rows.append(None)

    def seal(self) -> None:
        """The table is complete: drop the token → number table only appending needs;
        appending afterwards numbers the tokens again."""
        self._number = None

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, name_id: int) -> tuple[Analysed, ...]:
        if not 0 <= name_id < len(self._ends):
            raise IndexError(f"name {name_id} of {len(self._ends)}")
        row = self.rows[name_id]
        if row is None:
            start = self._ends[name_id - 1] if name_id else 0
            row = tuple(self._token(n) for n in self._flat[start : self._ends[name_id]])
            self.rows[name_id] = row
        return row

    def _token(self, n: int) -> Analysed:
        a = self._made[n]
        if a is None:
            a = self._made[n] = Analysed(*(col[n] for col in self._cols))
        return a

    def __iter__(self) -> Iterator[tuple[Analysed, ...]]:
        return (self[name_id] for name_id in range(len(self)))

    def __getstate__(
        self,
    ) -> tuple[tuple[list[Any], ...], array[int], array[int], array[int]]:
        return self._cols, self._flat, self._ends, self.sizes

    def __setstate__(
        self, state: tuple[tuple[list[Any], ...], array[int], array[int], array[int]]
    ) -> None:
        self._cols, self._flat, self._ends, self.sizes = state
        self._made = [None] * len(self._cols[0])
        self._number = None
        self.rows = [None] * len(self._ends)
