"""Save and load fitted calibrators as versioned JSON (never pickle).

The document is::

    {"format": "judgecal.calibrator", "schema_version": 2,
     "judgecal_version": "...", "class": "IsotonicCalibrator",
     "params": {...}, "state": {...}, "sha256": "...", "hmac_sha256": "..."}

What the checksum guarantees, and what it does not
--------------------------------------------------
``sha256`` is the SHA-256 of the canonical JSON (sorted keys, no spaces) of every
field except ``sha256`` and ``hmac_sha256``: the format, the schema version, the
library version that wrote it, the class, the parameters and the fitted state.
It detects **accidental** damage: a truncated download, a flipped bit, a
careless hand edit. It is **not** a signature and gives no protection against
**tampering**: anyone who can edit the file can recompute the hash. Files saved
by judgecal 0.1.0 (``schema_version`` 1) hash ``[class, params, state]`` only;
they still load.

For tamper evidence, pass a secret ``key`` (bytes) to :func:`save` and
:func:`load`: the file then carries ``hmac_sha256``, an HMAC-SHA256 of the same
canonical content, which only holders of the key can produce. ``load(path,
key=...)`` refuses a file whose HMAC does not match, or that has none;
``load(path)`` without a key ignores the HMAC (the checksum is still checked).

Whatever the checksum says, loading never runs code from the file: only
judgecal's registered classes are built, every parameter goes through the
class's constructor, every fitted state through its own validation (finite
values, matching shapes, ordered thresholds), and a cheap prediction must give
finite probabilities in [0, 1]. A file that fails any of this raises
:class:`~judgecal.PersistenceError`, as does malformed JSON (NaN or Infinity
literals, numbers too large for a float, nesting too deep).

Floats are written with ``repr`` precision, so a round trip predicts
bit-identically. Files are written atomically (see :mod:`judgecal._files`). A
distributed engine can broadcast the (small) document to workers and call
:func:`loads`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError, JudgecalError, PersistenceError
from judgecal._files import atomic_write_text
from judgecal._version import __version__

__all__ = ["dumps", "load", "loads", "register", "registered_class", "save"]

FORMAT = "judgecal.calibrator"
SCHEMA_VERSION = 2
#: Schema versions this judgecal reads: 1 (judgecal 0.1.0) and 2.
READABLE_SCHEMAS = (1, 2)
_INTEGRITY_FIELDS = ("sha256", "hmac_sha256")
_REQUIRED = ("judgecal_version", "class", "params", "state", "sha256")
_REGISTRY: dict[str, type[Any]] = {}


def register(cls: type[Any]) -> type[Any]:
    """Class decorator: make a calibrator class loadable by name.

    The class needs ``get_params``, ``_get_state() -> dict`` and ``_set_state(dict)``;
    ``_set_state`` must raise (any exception) on a state ``fit`` could not have made.
    """
    _REGISTRY[cls.__name__] = cls
    return cls


#: Built-in calibrator classes and the modules that define them. Only the module a
#: file needs is imported, so loading a BayesianCalibrator does not import
#: scikit-learn (~2 s) and loading nothing imports PyMC.
_BUILTIN = {
    "IsotonicCalibrator": "judgecal.calibration.isotonic",
    "LogisticCalibrator": "judgecal.calibration.logistic",
    "BayesianCalibrator": "judgecal.calibration.bayes.calibrator",
    "FeatureAdjustedCalibrator": "judgecal.calibration.feature_adjusted",
    "ShrinkageCalibrator": "judgecal.calibration.default",
}


def registered_class(name: str) -> type[Any] | None:
    """The registered class called ``name``, importing its built-in module on demand."""
    if name not in _REGISTRY and name in _BUILTIN:
        import importlib

        mod = importlib.import_module(_BUILTIN[name])
        _REGISTRY.setdefault(name, getattr(mod, name))
    return _REGISTRY.get(name)


def _known() -> list[str]:
    return sorted(set(_REGISTRY) | set(_BUILTIN))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    return obj


def _unjson(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__float__"}:
            return float(obj["__float__"])
        return {k: _unjson(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unjson(v) for v in obj]
    return obj


# -- integrity ----------------------------------------------------------------------------
def _digest(cls_name: str, params: Any, state: Any) -> str:
    """The schema-1 (judgecal 0.1.0) checksum: class, params and state only."""
    canon = json.dumps(
        [cls_name, params, state], sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(canon.encode()).hexdigest()


def _canonical(doc: Mapping[str, Any]) -> bytes:
    """What the checksum and the HMAC cover: every field but the two integrity fields."""
    body = {k: v for k, v in doc.items() if k not in _INTEGRITY_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _checksum(doc: Mapping[str, Any]) -> str:
    """The ``sha256`` a document of its ``schema_version`` should carry.

    Anyone can call this: it is what makes the checksum a guard against
    accidents only (see the module docstring).
    """
    if doc.get("schema_version") == 1:
        return _digest(doc["class"], doc["params"], doc["state"])
    return hashlib.sha256(_canonical(doc)).hexdigest()


def _hmac(doc: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, _canonical(doc), hashlib.sha256).hexdigest()


def _check_key(key: Any, where: str) -> bytes | None:
    if key is None:
        return None
    if isinstance(key, str):
        raise InputTypeError(
            "key", "bytes (encode a text secret first, e.g. key.encode())", "a str", where=where
        )
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InputTypeError("key", "bytes or None", type(key).__name__, where=where)
    raw = bytes(key)
    if not raw:
        raise InputError("key", "a non-empty secret", raw, where=where)
    return raw


def _same(expected: str, given: Any) -> bool:
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


# -- writing ------------------------------------------------------------------------------
def dumps(
    estimator: Any, *, key: bytes | None = None, data_options: Mapping[str, str] | None = None
) -> str:
    """The JSON document of a fitted calibrator.

    Parameters
    ----------
    estimator : calibrator
        A fitted judgecal calibrator (a class registered with :func:`register`).
    key : bytes, optional
        A secret: adds ``hmac_sha256``, so :func:`loads` with the same key can
        tell the document was not altered by someone without the key.
    data_options : mapping of str to str, optional
        How the scores were read, e.g. ``{"scale": "verdict:first,second,tie"}``;
        ``judgecal apply`` reuses it.

    Examples
    --------
    >>> from judgecal import IsotonicCalibrator
    >>> cal = IsotonicCalibrator().fit([1, 2, 3, 4], [0, 0, 1, 1])
    >>> again = loads(dumps(cal))
    >>> bool((again.predict_proba([1.5, 3.2]) == cal.predict_proba([1.5, 3.2])).all())
    True
    >>> signed = dumps(cal, key=b"secret")
    >>> loads(signed, key=b"secret").predict_proba([3.2]).shape
    (1, 2)
    """
    secret = _check_key(key, "dumps")
    name = type(estimator).__name__
    if registered_class(name) is not type(estimator) or not hasattr(estimator, "_get_state"):
        raise InputError("estimator", f"a judgecal calibrator {_known()}", name, where="save")
    doc: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "judgecal_version": __version__,
        "class": name,
        "params": _jsonable(estimator.get_params(deep=False)),
        "state": _jsonable(estimator._get_state()),
    }
    if data_options:  # how the scores were read (the CLI's --scale), covered by the checksum
        doc["data_options"] = {str(k): str(v) for k, v in data_options.items()}
    doc["sha256"] = _checksum(doc)
    if secret is not None:
        doc["hmac_sha256"] = _hmac(doc, secret)
    return json.dumps(doc, allow_nan=False)


def save(estimator: Any, path: str | os.PathLike[str], *, key: bytes | None = None) -> Path:
    """Write a fitted calibrator to ``path`` as JSON, atomically; returns the path.

    Parameters
    ----------
    estimator : calibrator
        A fitted judgecal calibrator.
    path : str or os.PathLike
        The file. It must not exist or be a regular file: a symbolic link,
        directory, FIFO or device is refused (:class:`~judgecal.PersistenceError`).
        The file is written to a fresh temporary file in the same folder and
        moved into place, so a reader never sees half a file.
    key : bytes, optional
        A secret for tamper evidence: the file gets an HMAC-SHA256 that
        ``load(path, key=key)`` checks. Without it the file carries only a
        SHA-256 checksum, which catches accidental corruption but **not**
        deliberate edits (anyone can recompute it).

    Examples
    --------
    >>> import os, tempfile
    >>> from judgecal import IsotonicCalibrator
    >>> cal = IsotonicCalibrator().fit([1, 2, 3, 4], [0, 0, 1, 1])
    >>> path = save(cal, os.path.join(tempfile.mkdtemp(), "cal.json"), key=b"k")
    >>> load(path, key=b"k").predict_proba([2.5]).shape
    (1, 2)
    """
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise InputError("path", "a file path", path, where="save")
    text = dumps(estimator, key=key)
    return atomic_write_text(path, text, where="save")


# -- reading ------------------------------------------------------------------------------
def _no_constant(name: str) -> Any:
    raise ValueError(f"the literal {name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} does not fit in a float")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _parse(text: Any, source: str) -> dict[str, Any]:
    if not isinstance(text, str | bytes | bytearray):
        raise InputTypeError("text", "a str or bytes", type(text).__name__, where="loads")
    try:
        doc = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError as exc:
        raise PersistenceError(
            f"Not a judgecal calibrator ({source}): the JSON is nested too deeply."
        ) from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int too long, bad float
        raise PersistenceError(
            f"Not a judgecal calibrator ({source}): the file is not valid JSON ({exc})."
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
        raise PersistenceError(
            f"Not a judgecal calibrator ({source}): 'format' must be {FORMAT!r}, got {got!r}."
        )
    version = doc.get("schema_version")
    if type(version) is not int or version not in READABLE_SCHEMAS:
        raise PersistenceError(
            f"Unsupported schema_version {version!r} ({source}): this judgecal ({__version__}) "
            f"reads versions {list(READABLE_SCHEMAS)}. Re-save the calibrator with a matching "
            "judgecal version."
        )
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise PersistenceError(f"Corrupt calibrator file ({source}): missing field(s) {missing}.")
    return doc


def _verify(doc: dict[str, Any], secret: bytes | None, source: str) -> None:
    if secret is not None:
        if "hmac_sha256" not in doc:
            raise PersistenceError(
                f"Calibrator ({source}) has no HMAC but a key was given: it was saved without "
                "a key, or the HMAC was removed."
            )
        if not _same(_hmac(doc, secret), doc["hmac_sha256"]):
            raise PersistenceError(
                f"Calibrator ({source}) failed its HMAC check: it was altered, or saved with "
                "another key."
            )
    try:
        expected = _checksum(doc)
    except (TypeError, ValueError, RecursionError) as exc:
        raise PersistenceError(f"Corrupt calibrator file ({source}): {exc}.") from exc
    if not _same(expected, doc["sha256"]):
        raise PersistenceError(
            f"Calibrator file ({source}) failed its integrity check (sha256 mismatch): it was "
            "edited or corrupted."
        )


def _finite_arrays(obj: Any, path: str, depth: int = 0) -> str | None:
    """The first fitted array holding NaN or inf, as a path like ``pooled_['x']``."""
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and not np.isfinite(obj).all():
        return path
    if isinstance(obj, dict) and depth < 4:
        for k, v in obj.items():
            found = _finite_arrays(v, f"{path}[{k!r}]", depth + 1)
            if found:
                return found
    return None


def _probe(est: Any) -> str | None:
    """Predict at a few scores (each known stage and the pooled model); say what is wrong."""
    width = getattr(est, "n_features_in_", 1)
    width = width if isinstance(width, int) and 1 <= width <= 1000 else 1
    points = np.array([-1e9, -1.0, 0.0, 0.5, 1.0, 2.5, 5.0, 10.0, 1e9])
    known = getattr(est, "stage_counts_", None)
    names = [str(s) for s in known][:64] if isinstance(known, dict) else []
    for stages in [None, *([np.repeat(names, points.size)] if names else [])]:
        n = points.size if stages is None else stages.size
        x = np.resize(points, n)
        X = x if width == 1 else np.repeat(x[:, None], width, axis=1)
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(est.predict_proba(X, stages=stages), dtype=np.float64)
        except JudgecalError:
            continue  # a calling convention this probe does not know; the state checks stand
        except Exception as exc:
            return f"predicting raised {type(exc).__name__}: {exc}"
        if not (np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()):
            return "it predicts probabilities that are NaN, infinite or outside [0, 1]"
    return None


def _rebuild(doc: dict[str, Any], source: str) -> Any:
    name, params, state = doc["class"], doc["params"], doc["state"]
    cls = registered_class(name) if isinstance(name, str) else None
    if cls is None:
        raise PersistenceError(f"Unknown calibrator class {name!r} ({source}); known: {_known()}.")
    if not isinstance(params, dict) or not isinstance(state, dict):
        raise PersistenceError(
            f"Corrupt calibrator file ({source}): 'params' and 'state' must be JSON objects."
        )
    try:
        est = cls(**_unjson(params))
        if hasattr(est, "_check_params"):
            est._check_params()
    except Exception as exc:
        raise PersistenceError(
            f"Calibrator ({source}): parameters of {name} are invalid: {exc}"
        ) from exc
    try:
        est._set_state(_unjson(state))
    except Exception as exc:
        raise PersistenceError(f"Calibrator ({source}): state of {name} is invalid: {exc}") from exc
    bad = _finite_arrays(
        {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}, "state"
    )
    reason = f"{bad} holds NaN or infinite values" if bad else _probe(est)
    if reason:
        raise PersistenceError(f"Calibrator ({source}): state of {name} is invalid: {reason}.")
    return est


def _load_text(text: Any, key: Any, source: str, where: str) -> Any:
    secret = _check_key(key, where)
    doc = _parse(text, source)
    _verify(doc, secret, source)
    return _rebuild(doc, source)


def loads(text: str | bytes, *, key: bytes | None = None) -> Any:
    """Rebuild a calibrator from :func:`dumps` output.

    Checks the format, the schema version, the checksum (and the HMAC when
    ``key`` is given), then validates the parameters and the fitted state. See
    the module docstring for what the checksum does and does not guarantee.

    Raises
    ------
    PersistenceError
        Malformed JSON, another format or schema, a failed checksum or HMAC, an
        unknown class, or parameters or a state the class refuses.

    Examples
    --------
    >>> from judgecal import IsotonicCalibrator
    >>> text = dumps(IsotonicCalibrator().fit([1, 2, 3, 4], [0, 0, 1, 1]))
    >>> loads(text.replace('"y": [0.1', '"y": [0.2'))
    Traceback (most recent call last):
    ...
    judgecal._exceptions.PersistenceError: Calibrator file (the document) failed its integrity ...
    """
    return _load_text(text, key, "the document", "loads")


def load(path: str | os.PathLike[str], *, key: bytes | None = None) -> Any:
    """Read a calibrator saved with :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    key : bytes, optional
        The secret given to :func:`save`. With a key, a file whose HMAC does
        not match, or that has no HMAC, is refused. Without one, the HMAC is
        ignored and only the SHA-256 checksum is checked: that catches
        corruption, not tampering.

    Raises
    ------
    PersistenceError
        As :func:`loads`; the message names the file.

    Examples
    --------
    >>> import os, tempfile
    >>> from judgecal import IsotonicCalibrator
    >>> path = save(IsotonicCalibrator().fit([1, 2, 3, 4], [0, 0, 1, 1]),
    ...             os.path.join(tempfile.mkdtemp(), "cal.json"))
    >>> load(path).predict_proba([1.0, 4.0])[:, 1].round(3)
    array([0.167, 0.833])
    """
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise InputError("path", "a file path", path, where="load")
    file = Path(path)
    if not file.is_file():
        raise InputError("path", "an existing file", str(file), where="load")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise PersistenceError(f"Cannot read calibrator file {str(file)!r}: {exc}") from exc
    return _load_text(data, key, f"file {str(file)!r}", "load")
