"""Save and load fitted calibrators as versioned JSON (never pickle).

The document is::

    {"format": "judgecal.calibrator", "schema_version": 1,
     "judgecal_version": "...", "class": "IsotonicCalibrator",
     "params": {...}, "state": {...}, "sha256": "..."}

``sha256`` is the hash of the canonical JSON of ``class``, ``params`` and
``state``: a file edited by hand or corrupted in transit is rejected, and so is
an unknown ``format``, ``schema_version`` or class. Floats are written with
``repr`` precision, so a round trip predicts bit-identically. A distributed
engine can broadcast the (small) document to workers and call :func:`loads`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, PersistenceError
from judgecal._version import __version__

__all__ = ["dumps", "load", "loads", "register", "registered_class", "save"]

FORMAT = "judgecal.calibrator"
SCHEMA_VERSION = 1
_REGISTRY: dict[str, type[Any]] = {}


def register(cls: type[Any]) -> type[Any]:
    """Class decorator: make a calibrator class loadable by name.

    The class needs ``get_params``, ``_get_state() -> dict`` and ``_set_state(dict)``.
    """
    _REGISTRY[cls.__name__] = cls
    return cls


#: Built-in calibrator classes and the modules that define them. Only the module a
#: file needs is imported, so loading a BayesianCalibrator does not import
#: scikit-learn (~2 s) and loading nothing imports PyMC.
_BUILTIN = {
    "IsotonicCalibrator": "judgecal.calibration.stagewise",
    "LogisticCalibrator": "judgecal.calibration.stagewise",
    "BayesianCalibrator": "judgecal.calibration.bayes.calibrator",
    "FeatureAdjustedCalibrator": "judgecal.calibration.feature_adjusted",
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
        return obj.item()
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


def _digest(cls_name: str, params: Any, state: Any) -> str:
    canon = json.dumps(
        [cls_name, params, state], sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(canon.encode()).hexdigest()


def dumps(estimator: Any) -> str:
    """The JSON document of a fitted calibrator.

    Examples
    --------
    >>> from judgecal import IsotonicCalibrator
    >>> cal = IsotonicCalibrator().fit([1, 2, 3, 4], [0, 0, 1, 1])
    >>> again = loads(dumps(cal))
    >>> bool((again.predict_proba([1.5, 3.2]) == cal.predict_proba([1.5, 3.2])).all())
    True
    """
    name = type(estimator).__name__
    if registered_class(name) is not type(estimator) or not hasattr(estimator, "_get_state"):
        raise InputError("estimator", f"a judgecal calibrator {_known()}", name, where="save")
    params = _jsonable(estimator.get_params(deep=False))
    state = _jsonable(estimator._get_state())
    doc = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "judgecal_version": __version__,
        "class": name,
        "params": params,
        "state": state,
        "sha256": _digest(name, params, state),
    }
    return json.dumps(doc, allow_nan=False)


def save(estimator: Any, path: str | os.PathLike[str]) -> Path:
    """Write a fitted calibrator to ``path`` as JSON; returns the path."""
    if not isinstance(path, str | os.PathLike):
        raise InputError("path", "a file path", path, where="save")
    text = dumps(estimator)
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
    return p


def loads(text: str | bytes) -> Any:
    """Rebuild a calibrator from :func:`dumps` output (checks format, version and hash)."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
        raise PersistenceError(
            f"Not a judgecal calibrator: the file is not valid JSON ({exc})."
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise PersistenceError(
            f"Not a judgecal calibrator: 'format' must be {FORMAT!r}, got {got!r}."
        )
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise PersistenceError(
            f"Unsupported schema_version {version!r}: this judgecal ({__version__}) reads version "
            f"{SCHEMA_VERSION}. Re-save the calibrator with a matching judgecal version."
        )
    missing = [k for k in ("class", "params", "state", "sha256") if k not in doc]
    if missing:
        raise PersistenceError(f"Corrupt calibrator file: missing field(s) {missing}.")
    name, params, state = doc["class"], doc["params"], doc["state"]
    if _digest(name, params, state) != doc["sha256"]:
        raise PersistenceError(
            "Calibrator file failed its integrity check (sha256 mismatch): it was edited or corrupted."
        )
    cls = registered_class(name) if isinstance(name, str) else None
    if cls is None:
        raise PersistenceError(f"Unknown calibrator class {name!r}; known: {_known()}.")
    try:
        est = cls(**_unjson(params))
        est._set_state(_unjson(state))
        if hasattr(est, "_check_params"):
            est._check_params()
    except (TypeError, KeyError, ValueError, AttributeError, OverflowError) as exc:
        raise PersistenceError(
            f"Corrupt calibrator file: cannot rebuild {name} ({exc!r})."
        ) from exc
    return est


def load(path: str | os.PathLike[str]) -> Any:
    """Read a calibrator saved with :func:`save`."""
    if not isinstance(path, str | os.PathLike):
        raise InputError("path", "a file path", path, where="load")
    p = Path(path)
    if not p.is_file():
        raise InputError("path", "an existing file", str(p), where="load")
    return loads(p.read_bytes())
