"""The loaders' fast path: whole columns through pyarrow, validated as arrays.

A table (read from CSV or Parquet, or converted from a pandas or polars frame)
is checked column by column with vectorized operations; the few distinct values
of a label, stage or verdict column go through the same Python parser as the
row path (so a value means the same on both paths). When any check fails, or
the mapping needs what only the row path does (long labels merging rows), the
fast path returns ``None`` and the caller reads the rows one by one, which
names every problem with its row number. So a clean file is loaded without a
Python loop over its rows, and a file with problems gets exactly the messages
it always got.

pyarrow is imported only here, and only when a loader runs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from judgecal._validation import has_control_characters
from judgecal.records._store import KINDS, Panel, Store
from judgecal.vocabulary import PAIRWISE_OUTCOMES, STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from judgecal.records.core import Scale
    from judgecal.records.io import _Columns


class _SlowPathError(Exception):
    """Internal: the fast path cannot vouch for this table; read it row by row."""


def pyarrow_or_none() -> Any:
    """The pyarrow module, or None when it is not installed."""
    try:
        import pyarrow
        import pyarrow.compute
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    return pyarrow


def store_from_table(
    table: Any, cols: _Columns, scale: Scale, parse_label: Callable[[Any], Any]
) -> Store | None:
    """Validated columns from a pyarrow table, or None when the row path must decide."""
    if cols.long is not None or any(has_control_characters(c) for c in cols.wide):
        return None
    try:
        return _build(_plain_strings(table), cols, scale, parse_label)
    except _SlowPathError:
        return None
    except (ValueError, TypeError, KeyError, NotImplementedError):  # arrow refused a cast
        return None


def _plain_strings(table: Any) -> Any:
    """Large and view strings (polars' kinds) as plain strings, which the checks read."""
    import pyarrow as pa

    for position, column_field in enumerate(table.schema):
        kind = column_field.type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            table = table.set_column(
                position, column_field.name, table.column(position).cast(pa.string())
            )
    return table


_THREADED_ROWS = 100_000


def _build(table: Any, cols: _Columns, scale: Scale, parse_label: Callable[[Any], Any]) -> Store:
    """The checked columns; a large table's item ids are checked in a second thread.

    Hashing and sorting the ids is the longest check, and numpy and pyarrow
    release the GIL while they work, so it overlaps the other columns' checks.
    """
    column = table.column(cols.item)
    if table.num_rows < _THREADED_ROWS:
        return _assemble(table, cols, scale, parse_label, lambda: _item_ids(column))
    with ThreadPoolExecutor(max_workers=1) as pool:
        ids = pool.submit(_item_ids, column)
        return _assemble(table, cols, scale, parse_label, ids.result)


def _assemble(
    table: Any,
    cols: _Columns,
    scale: Scale,
    parse_label: Callable[[Any], Any],
    item_ids: Callable[[], Any],
) -> Store:
    """The store of a table's columns, with its item ids from ``item_ids()``."""
    n = table.num_rows
    stage_codes, stage_names = _stages(table, cols, n)
    raw_scores = table.column(cols.score)
    scores, statuses = _scores(raw_scores, scale)
    if cols.swapped is not None:
        scores, statuses = _both_orders(
            (scores, statuses), _scores(table.column(cols.swapped), scale), scale, cols
        )
    panel = None
    if cols.judges:
        pairs = [_scores(table.column(column), scale) for _, column in cols.judges]
        panel = Panel(
            tuple(name for name, _ in cols.judges),
            np.column_stack([p[0] for p in pairs]),
            np.column_stack([p[1] for p in pairs]),
        )
    offsets, rating_values, rater_codes = _ragged(*_wide_ratings(table, cols, parse_label))
    kind = KINDS.index(cols.label_kind) if cols.has_labels else 0
    return Store(
        ids=item_ids(),
        stage_codes=stage_codes,
        stage_names=stage_names,
        scores=scores,
        status_codes=statuses,
        kind_codes=np.full(n, kind, dtype=np.int8),
        offsets=offsets,
        rating_values=rating_values,
        rater_codes=rater_codes,
        rater_names=cols.wide,
        outputs=_outputs(raw_scores, statuses),
        panel=panel,
        features={c: _feature(table.column(c).combine_chunks()) for c in cols.features},
        texts={c: _texts(table.column(c).combine_chunks()) for c in cols.texts},
        meta={c: _meta(table.column(c).combine_chunks()) for c in cols.meta},
    )


def _ragged(
    values: NDArray[np.integer[Any]], raters: NDArray[np.integer[Any]]
) -> tuple[NDArray[np.int64], NDArray[np.integer[Any]], NDArray[np.integer[Any]]]:
    """Item offsets, rating values and rater codes from an (n, k) matrix (-1: not rated)."""
    n, k = values.shape
    mask = values >= 0
    if mask.all():  # every rater rated every item: no gaps to squeeze out
        offsets = np.arange(0, n * k + 1, max(k, 1), dtype=np.int64) if k else np.zeros(n + 1)
        return offsets.astype(np.int64, copy=False), values.ravel(), np.tile(raters, n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(mask.sum(axis=1), out=offsets[1:])
    return offsets, values[mask], np.broadcast_to(raters, values.shape)[mask]


def _outputs(raw: Any, statuses: NDArray[np.int8]) -> Any:
    """The judge's raw cells (None where blank), kept as a pyarrow array when they are text."""
    import pyarrow as pa

    blank = statuses != 0
    if pa.types.is_string(raw.type) and not blank.any():
        return raw
    out = _objects(raw)
    if blank.any():
        out[blank] = None
    return out


def _objects(column: Any) -> NDArray[Any]:
    out = np.empty(len(column), dtype=object)
    out[:] = column.to_pylist()
    return out


def _require(ok: Any) -> None:
    if not bool(ok):
        raise _SlowPathError


def _strings(column: Any) -> Any:
    """A string column, stripped as the row path strips (no nulls, no control characters)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
        column = column.cast(pa.string())
    _require(pa.types.is_string(column.type) and column.null_count == 0)
    data, starts, ends = _utf8_bytes(column)
    _require(not _has_control_bytes(data))
    _require(bool((ends > starts).all()))
    edges = np.concatenate([data[starts], data[ends - 1]]) if starts.size else data[:0]
    if bool(((edges <= 0x20) | (edges >= 0x80)).any()):  # maybe whitespace at an edge
        column = pc.utf8_trim_whitespace(column)
        _require(not pc.any(pc.equal(column, "")).as_py())
    return column


def _utf8_bytes(column: Any) -> tuple[NDArray[np.uint8], NDArray[np.int64], NDArray[np.int64]]:
    """The UTF-8 bytes of a string array and each value's start and end in them."""
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[
        column.offset : column.offset + len(column) + 1
    ].astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else None
    if data is None or not offsets.size:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint8), empty, empty
    base = int(offsets[0])
    return data[base : int(offsets[-1])], offsets[:-1] - base, offsets[1:] - base


def _has_control_bytes(data: NDArray[np.uint8]) -> bool:
    """C0 controls and DEL as bytes; C1 controls (U+0080..U+009F) as 0xC2 0x80..0x9F."""
    if not data.size or (int(data.min()) >= 0x20 and int(data.max()) < 0x7F):
        return False  # printable ASCII only: two quick reductions instead of the masks
    if bool(((data < 0x20) | (data == 0x7F)).any()):
        return True
    lead = np.flatnonzero(data[:-1] == 0xC2)
    return bool(((data[lead + 1] >= 0x80) & (data[lead + 1] <= 0x9F)).any())


def _item_ids(column: Any) -> Any:
    """Item ids as a (chunked) string array: stripped, no control characters, all distinct."""
    import pyarrow as pa

    chunks = column.chunks if hasattr(column, "chunks") else [column]
    cleaned = []
    for chunk in chunks:
        if pa.types.is_integer(chunk.type):
            _require(chunk.null_count == 0)
            chunk = chunk.cast(pa.string())
        cleaned.append(_strings(chunk))
    ids = pa.chunked_array(cleaned, type=pa.string())
    _require(_all_distinct(ids))
    return ids


_HASH_BASE = np.uint64(0x100000001B3)
_BLOCK = 1 << 17


def _all_distinct(strings: Any) -> bool:
    """Whether no string repeats: a 64-bit hash of each, exact comparison on equal hashes."""
    chunks = [chunk for chunk in getattr(strings, "chunks", [strings]) if len(chunk)]
    if not chunks:
        return True
    longest = max(_longest(chunk) for chunk in chunks)
    hashes = _short_hashes if longest <= 16 else _polynomial_hashes

    def hashed() -> NDArray[np.uint64]:  # chunk by chunk: one chunk's temporaries at a time
        return np.concatenate([hashes(*_utf8_bytes(chunk)) for chunk in chunks])

    ordered = hashed()
    ordered.sort()
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not repeated.size:
        return True
    del ordered  # rare: hash again, in the strings' order, to find the suspects
    suspects = strings.take(np.flatnonzero(np.isin(hashed(), repeated))).to_pylist()
    return len(set(suspects)) == len(suspects)


def _longest(chunk: Any) -> int:
    """The most UTF-8 bytes in one string of a (non-empty) string array."""
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    return int(np.diff(offsets).max())


def _short_hashes(
    data: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64]
) -> NDArray[np.uint64]:
    """A hash of strings of at most 16 bytes: their first and last 8 bytes and length."""
    padded = np.zeros(data.size + 16, dtype=np.uint8)
    padded[8 : 8 + data.size] = data
    # every 8-byte window of the bytes, as one little-endian integer (a strided view)
    windows = np.ndarray((data.size + 9,), dtype="<u8", buffer=padded.data, strides=(1,))
    lengths = ends - starts
    shift = (8 * (8 - np.minimum(lengths, 8))).astype(np.uint64)
    head = (windows[starts + 8] << shift) >> shift
    tail = np.where(lengths > 8, windows[ends], np.uint64(0))
    mixed = head * np.uint64(0x9E3779B97F4A7C15) + tail * np.uint64(0xC2B2AE3D27D4EB4F)
    return np.asarray(mixed + lengths.astype(np.uint64), dtype=np.uint64)


def _polynomial_hashes(
    data: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64]
) -> NDArray[np.uint64]:
    """A polynomial hash of each string's bytes (mod 2**64), in blocks of strings."""
    hashes = np.empty(starts.size, dtype=np.uint64)
    longest = int((ends - starts).max(initial=0))
    powers = np.cumprod(np.full(max(longest, 1), _HASH_BASE, dtype=np.uint64))
    for first in range(0, starts.size, _BLOCK):
        lo, hi = starts[first : first + _BLOCK], ends[first : first + _BLOCK]
        block = data[int(lo[0]) : int(hi[-1])].astype(np.uint64)
        local = lo - lo[0]
        position = np.arange(block.size) - np.repeat(local, hi - lo)
        mixed = np.add.reduceat(block * powers[position], local)
        hashes[first : first + _BLOCK] = mixed ^ ((hi - lo).astype(np.uint64) << np.uint64(56))
    return hashes


def _stages(table: Any, cols: _Columns, n: int) -> tuple[NDArray[np.int32], tuple[str, ...]]:
    if cols.stage_col is None:
        return np.zeros(n, dtype=np.int32), (cols.stage,) if n else ()
    names: dict[str, int] = {}

    def code(value: Any) -> int:
        _require(isinstance(value, str) and value.strip() and not has_control_characters(value))
        stage = value.strip()
        _require(cols.allowed is None or stage in cols.allowed)
        return names.setdefault(stage, len(names))

    codes = _dictionary_codes(table.column(cols.stage_col), code)
    return codes.astype(np.int32, copy=False), tuple(names)


def _dictionary_codes(column: Any, code: Callable[[Any], int]) -> NDArray[np.integer[Any]]:
    """Each distinct value of a (chunked) column through ``code``; nulls through ``code(None)``."""
    import pyarrow as pa

    chunks = column.chunks if hasattr(column, "chunks") else [column]
    lookups, encoded = [], []
    for chunk in chunks:
        if pa.types.is_int8(chunk.type):
            lookup, positions = _int8_codes(chunk, code)
            lookups.append(lookup)
            encoded.append(positions)
            continue
        if pa.types.is_string(chunk.type) and chunk.null_count == 0:
            single = _single_bytes(chunk)
            if single is not None:  # cells of at most one byte: the byte is its own code
                present = np.flatnonzero(np.bincount(single, minlength=257))
                lookup = [0] * 257
                for byte in present.tolist():
                    lookup[byte] = code("" if byte == 256 else chr(byte))
                lookups.append(lookup)
                encoded.append(single)
                continue
        if not pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_encode()
        lookup = [code(v) for v in chunk.dictionary.to_pylist()]
        indices = chunk.indices
        if indices.null_count:
            lookup.append(code(None))
            indices = indices.fill_null(len(lookup) - 1)
        lookups.append(lookup)
        encoded.append(indices)
    if all(lookup is None for lookup in lookups):  # every value is its own code
        return np.concatenate(encoded) if len(encoded) != 1 else encoded[0]
    small = all(-128 <= v <= 127 for lookup in lookups if lookup for v in lookup)
    out: NDArray[np.integer[Any]] = np.empty(
        sum(len(c) for c in encoded), dtype=np.int8 if small else np.int64
    )
    start = 0
    for lookup, indices in zip(lookups, encoded, strict=True):
        positions = indices if isinstance(indices, np.ndarray) else indices.to_numpy()
        if lookup is None:
            out[start : start + len(indices)] = positions
        else:
            out[start : start + len(indices)] = np.asarray(lookup, dtype=out.dtype)[positions]
        start += len(indices)
    return out


def _int8_codes(
    chunk: Any, code: Callable[[Any], int]
) -> tuple[list[int] | None, NDArray[np.integer[Any]]]:
    """The codes of an int8 array: a lookup by the value's byte (256: null) and the positions.

    The lookup is None when every value is its own code and none is null: the
    values themselves are the codes, with no pass over them.
    """
    values = np.frombuffer(chunk.buffers()[1], dtype=np.int8)
    values = values[chunk.offset : chunk.offset + len(chunk)]
    valid = None  # the values under a null are whatever the buffer holds: not counted
    if chunk.null_count:
        valid = np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False))
    counted = values.view(np.uint8) if valid is None else values.view(np.uint8)[valid]
    present = np.flatnonzero(np.bincount(counted, minlength=256)).tolist()
    signed = [byte - 256 if byte > 127 else byte for byte in present]
    codes = [code(value) for value in signed]
    if not chunk.null_count and codes == signed:
        return None, values
    lookup = [0] * 257
    for byte, value_code in zip(present, codes, strict=True):
        lookup[byte] = value_code
    positions = values.view(np.uint8).astype(np.int16)
    if valid is not None:
        lookup[256] = code(None)
        positions[~valid] = 256
    return lookup, positions


def _single_bytes(chunk: Any) -> NDArray[np.int16] | None:
    """Each cell's one byte (256 for an empty cell), or None when a cell is longer."""
    data, starts, ends = _utf8_bytes(chunk)
    lengths = ends - starts
    if lengths.size and int(lengths.max()) > 1:
        return None
    out = np.full(lengths.size, 256, dtype=np.int16)
    filled = lengths == 1
    out[filled] = data[starts[filled]]
    return out


def _scores(column: Any, scale: Scale) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """A judge's scores (NaN where none) and statuses (``missing`` for a blank cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if scale.kind == "verdict":
        words = [v.lower() for v in scale.verdicts]

        def verdict(value: Any) -> int:
            if value is None or not value.strip():
                return -1
            _require(isinstance(value, str) and value.strip().lower() in words)
            return words.index(value.strip().lower())

        codes = _dictionary_codes(column, verdict)
        return _with_missing(codes.astype(np.float64), codes < 0)
    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if pa.types.is_string(column.type):  # padded numbers fail the cast: the row path strips
        if _has_empty(column):
            column = pc.if_else(pc.equal(column, ""), None, column)
        column = pc.cast(column, pa.float64())
    _require(pa.types.is_integer(column.type) or pa.types.is_floating(column.type))
    scores = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    blank = np.isnan(scores)
    given = scores[~blank] if blank.any() else scores
    _require(np.isfinite(given).all() and (given >= scale.low).all())
    _require((given <= scale.high).all())
    return _with_missing(scores, blank)


def _has_empty(column: Any) -> bool:
    """Whether a string array has an empty cell (from its offsets alone)."""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)
    offsets = offsets[column.offset : column.offset + len(column) + 1]
    return bool((offsets[1:] == offsets[:-1]).any())


def _both_orders(
    shown: tuple[NDArray[np.float64], NDArray[np.int8]],
    swapped: tuple[NDArray[np.float64], NDArray[np.int8]],
    scale: Scale,
    cols: _Columns,
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """The row path's ``_combine_orders`` on whole columns."""
    scores, statuses = shown[0].copy(), shown[1].copy()
    back = scale.high - swapped[0]
    failed_swap = (statuses == 0) & (swapped[1] != 0)
    statuses[failed_swap] = swapped[1][failed_swap]
    changed = (statuses == 0) & (back != scores)
    if cols.order_policy == "tie":
        scores[changed] = scale.high / 2.0
    elif cols.order_policy == "drop":
        statuses[changed] = STATUSES.index("unparseable")
    scores[statuses != 0] = np.nan
    return scores, statuses


def _with_missing(
    scores: NDArray[np.float64], blank: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    statuses = np.zeros(scores.size, dtype=np.int8)
    if blank.any():
        statuses[blank] = STATUSES.index("missing")
        scores = np.where(blank, np.nan, scores)
    return scores, statuses


def _feature(column: Any) -> NDArray[np.float64]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(column.type):
        _require(column.null_count == 0)
        column = pc.cast(pc.utf8_trim_whitespace(column), pa.float64())
    _require(pa.types.is_integer(column.type) or pa.types.is_floating(column.type))
    _require(column.null_count == 0)
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    _require(np.isfinite(values).all())
    return values


def _texts(column: Any) -> NDArray[Any]:
    import pyarrow as pa

    _require(pa.types.is_string(column.type) or pa.types.is_large_string(column.type))
    _require(column.null_count == 0)  # the row path writes a missing text as it reads it
    return _objects(column)


def _meta(column: Any) -> NDArray[Any]:
    import pyarrow as pa

    _require(pa.types.is_string(column.type) and column.null_count == 0)
    _require(not _has_control_bytes(_utf8_bytes(column)[0]))
    return _objects(column)


def _wide_ratings(
    table: Any, cols: _Columns, parse_label: Callable[[Any], Any]
) -> tuple[NDArray[np.integer[Any]], NDArray[np.integer[Any]]]:
    """(n, k) label codes (-1 where a rater gave none) and each column's rater code."""
    columns = [
        _dictionary_codes(table.column(name), lambda v: _code(v, parse_label)) for name in cols.wide
    ]
    if not columns:
        return np.zeros((table.num_rows, 0), dtype=np.int8), np.zeros(0, dtype=np.int8)
    rater_dtype = np.int8 if len(columns) < 128 else np.int32
    values: NDArray[np.integer[Any]] = np.column_stack(columns)
    return values, np.arange(len(columns), dtype=rater_dtype)


def _code(value: Any, parse_label: Callable[[Any], Any]) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return -1
    if isinstance(value, float) and np.isnan(value):
        return -1
    try:
        label = parse_label(value)
    except ValueError:
        raise _SlowPathError from None
    return PAIRWISE_OUTCOMES.index(label) if isinstance(label, str) else int(label)
