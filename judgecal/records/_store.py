"""The columns behind a :class:`~judgecal.JudgmentSet`: one array per field.

Per item: id, stage code, score (NaN when the judge gave none), status code,
label-kind code, raw judge output (or none at all), features (NaN where an
item lacks one), texts and meta (``None`` where an item lacks one). Ratings are
ragged: one row per rating, grouped by item in item order, with ``offsets``
giving each item's slice, a value code (0/1, a level, or the pairwise code of
:mod:`judgecal.vocabulary`) and a rater code (-1 for an unknown rater).

Nothing here validates: the loaders and :class:`~judgecal.Judgment` do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from judgecal.vocabulary import PAIRWISE_OUTCOMES, STATUSES

#: Label kinds by code (0: no kind).
KINDS: tuple[str | None, ...] = (None, "binary", "ordinal", "pairwise")


@dataclass(frozen=True)
class Panel:
    """Several named judges' scores on the same items (one column per judge)."""

    names: tuple[str, ...]
    scores: NDArray[np.float64]  # (n, k), NaN where a judge gave no score
    statuses: NDArray[np.int8]  # (n, k), codes into STATUSES

    def take(self, idx: NDArray[np.int64]) -> Panel:
        return Panel(self.names, self.scores[idx], self.statuses[idx])


@dataclass(frozen=True)
class Store:
    """Column arrays of a record set (see the module docstring)."""

    ids: Any  # a 1-D numpy array of str/object, or a pyarrow string array
    stage_codes: NDArray[np.int32]
    stage_names: tuple[str, ...]
    scores: NDArray[np.float64]
    status_codes: NDArray[np.int8]
    kind_codes: NDArray[np.int8]
    offsets: NDArray[np.int64]  # n + 1
    rating_values: NDArray[np.integer[Any]]  # any integer dtype (int8 for small codes)
    rater_codes: NDArray[np.integer[Any]]  # -1 for an unknown rater
    rater_names: tuple[str, ...]
    outputs: Any = None  # a 1-D object array, a pyarrow array, or None (no raw outputs)
    features: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)
    texts: Mapping[str, NDArray[Any]] = field(default_factory=dict)
    meta: Mapping[str, NDArray[Any]] = field(default_factory=dict)
    panel: Panel | None = None

    def __len__(self) -> int:
        return int(self.scores.size)

    @property
    def rating_items(self) -> NDArray[np.int64]:
        """Item index of each rating."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offsets))

    def n_ratings(self) -> NDArray[np.int64]:
        return np.diff(self.offsets)

    def id_at(self, index: int) -> str:
        return str(cell(self.ids, index))

    def output_at(self, index: int) -> Any:
        return None if self.outputs is None else cell(self.outputs, index)

    def ids_as_str(self) -> NDArray[np.str_]:
        ids = self.ids
        if hasattr(ids, "to_numpy") and not isinstance(ids, np.ndarray):
            ids = ids.to_numpy(zero_copy_only=False)
        return np.asarray(ids, dtype=str)

    def take(self, idx: NDArray[np.int64]) -> Store:
        """The items at positions ``idx`` (any order, repeats allowed)."""
        counts = np.diff(self.offsets)[idx]
        starts = self.offsets[:-1][idx]
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        gather = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
        return replace(
            self,
            ids=take_column(self.ids, idx),
            stage_codes=self.stage_codes[idx],
            scores=self.scores[idx],
            status_codes=self.status_codes[idx],
            kind_codes=self.kind_codes[idx],
            offsets=offsets,
            rating_values=self.rating_values[gather],
            rater_codes=self.rater_codes[gather],
            outputs=None if self.outputs is None else take_column(self.outputs, idx),
            features={k: v[idx] for k, v in self.features.items()},
            texts={k: v[idx] for k, v in self.texts.items()},
            meta={k: v[idx] for k, v in self.meta.items()},
            panel=None if self.panel is None else self.panel.take(idx),
        )


def cell(column: Any, index: int) -> Any:
    """One value of a numpy or pyarrow column, as a Python object."""
    value = column[index]
    return value.as_py() if hasattr(value, "as_py") else value


def take_column(column: Any, idx: NDArray[np.int64]) -> Any:
    """Rows ``idx`` of a numpy or pyarrow column."""
    return column[idx] if isinstance(column, np.ndarray) else column.take(idx)


def panel_from_cells(
    names: tuple[str, ...], cells: Sequence[Sequence[tuple[str, float | None]]]
) -> Panel:
    """A panel from per-item ``(status, score)`` cells, one per judge."""
    status = {s: i for i, s in enumerate(STATUSES)}
    shape = (len(cells), len(names))
    scores = np.full(shape, np.nan)
    codes = np.zeros(shape, dtype=np.int8)
    for i, row in enumerate(cells):
        for k, (state, score) in enumerate(row):
            codes[i, k] = status[state]
            if score is not None:
                scores[i, k] = score
    return Panel(names, scores, codes)


def empty_store() -> Store:
    return store_from_items([])


def store_from_items(items: Sequence[Any]) -> Store:
    """Columns from validated :class:`~judgecal.Judgment` objects (one pass per field)."""
    n = len(items)
    stage_index: dict[str, int] = {}
    stage_codes = np.fromiter(
        (stage_index.setdefault(j.stage, len(stage_index)) for j in items), np.int32, n
    )
    scores = np.fromiter((np.nan if j.score is None else j.score for j in items), np.float64, n)
    status = {s: i for i, s in enumerate(STATUSES)}
    status_codes = np.fromiter((status[j.judge_status] for j in items), np.int8, n)
    kinds = {k: i for i, k in enumerate(KINDS)}
    kind_codes = np.fromiter((kinds[j.label_kind] for j in items), np.int8, n)
    counts = np.fromiter((len(j.ratings) for j in items), np.int64, n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    pair = {w: i for i, w in enumerate(PAIRWISE_OUTCOMES)}
    values = [
        pair[r.value] if isinstance(r.value, str) else r.value for j in items for r in j.ratings
    ]
    rater_index: dict[str, int] = {}
    raters = [
        -1 if r.rater is None else rater_index.setdefault(r.rater, len(rater_index))
        for j in items
        for r in j.ratings
    ]
    outputs = None
    if any(j.judge_output is not None for j in items):
        outputs = np.empty(n, dtype=object)
        outputs[:] = [j.judge_output for j in items]
    return Store(
        ids=np.asarray([j.item_id for j in items], dtype=object),
        stage_codes=stage_codes,
        stage_names=tuple(stage_index),
        scores=scores,
        status_codes=status_codes,
        kind_codes=kind_codes,
        offsets=offsets,
        rating_values=np.asarray(values, dtype=np.int64),
        rater_codes=np.asarray(raters, dtype=np.int32),
        rater_names=tuple(rater_index),
        outputs=outputs,
        features=_keyed(items, "features", np.float64, np.nan),
        texts=_keyed(items, "texts", object, None),
        meta=_keyed(items, "meta", object, None),
    )


def _keyed(items: Sequence[Any], attr: str, dtype: Any, fill: Any) -> dict[str, NDArray[Any]]:
    names: dict[str, None] = {}
    for j in items:
        names.update(dict.fromkeys(getattr(j, attr)))
    out: dict[str, NDArray[Any]] = {}
    for name in names:
        column = np.empty(len(items), dtype=dtype)
        column[:] = [getattr(j, attr).get(name, fill) for j in items]
        out[name] = column
    return out


def compact_stages(store: Store) -> Store:
    """Renumber stage codes so that names appear in order of first appearance."""
    if len(store) == 0:
        return replace(store, stage_codes=store.stage_codes, stage_names=())
    _, first = np.unique(store.stage_codes, return_index=True)
    used = store.stage_codes[np.sort(first)]
    if used.size == len(store.stage_names) and (used == np.arange(used.size)).all():
        return store
    remap = np.full(len(store.stage_names), -1, dtype=np.int32)
    remap[used] = np.arange(used.size, dtype=np.int32)
    names = tuple(store.stage_names[i] for i in used)
    return replace(store, stage_codes=remap[store.stage_codes], stage_names=names)
