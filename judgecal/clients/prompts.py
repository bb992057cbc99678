"""Prompt templates filled from an item's fields (``str.format`` syntax, strict).

A :class:`PromptTemplate` holds a user message and an optional system message,
each a :meth:`str.format` template with named fields: ``"Rate this answer
from 1 to 5.\\n\\nQuestion: {question}\\nAnswer: {answer}"``. An item fills
them from

- its keys, when it is a mapping (a dict, a pandas row as a dict);
- its attributes otherwise (a dataclass, a pydantic model, any object);
- ``{item}`` always names the whole item (unless a mapping has a key ``item``),
  so a template of one field can judge plain strings.

Field paths work as in :meth:`str.format` (``{meta[lang]}``, ``{user.name}``),
and so do format specs (``{score:.2f}``). Nothing is guessed: a template with
a positional field (``{}`` or ``{0}``) or unbalanced braces is an
:class:`~judgecal.InputError` when the template is made, and an item without
a field the template names is an :class:`~judgecal.InputError` when it is
rendered, naming the missing field and the fields the item has. Inside a
judge run that error ends the item as ``error``, with that message.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from judgecal._exceptions import InputError, InputTypeError

__all__ = ["PromptTemplate"]

_FORMATTER = string.Formatter()


def _fields_of(text: str, name: str) -> tuple[str, ...]:
    """The top-level field names of a ``str.format`` template, in order of first use."""
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise InputError(
            name, "a str.format template (literal braces doubled: '{{' and '}}')", text
        ) from exc
    found: list[str] = []
    for _, field_name, spec, _ in parts:
        if field_name is None:
            continue
        head = field_name.split(".", 1)[0].split("[", 1)[0]
        if not head or head.isdigit():
            raise InputError(
                name, "named fields only, such as {question}, not {} or {0}", field_name
            )
        if spec and "{" in spec:
            raise InputError(name, "format specs without nested fields", spec)
        if head not in found:
            found.append(head)
    return tuple(found)


def _available(item: Any) -> list[str]:
    if isinstance(item, Mapping):
        return sorted(str(k) for k in item)
    names = getattr(item, "__dataclass_fields__", None) or getattr(item, "model_fields", None)
    if names is None:
        names = getattr(item, "__dict__", {})
    return sorted(str(k) for k in names)


@dataclass(frozen=True)
class PromptTemplate:
    """A chat prompt (system and user messages) filled from each item's fields.

    Parameters
    ----------
    user : str
        The user message, a :meth:`str.format` template with named fields.
    system : str, optional
        The system message, a template too (often without fields).

    Examples
    --------
    >>> t = PromptTemplate("Q: {question}\\nA: {answer}\\nScore 1-5:", system="You grade answers.")
    >>> t.fields
    ('question', 'answer')
    >>> [m["role"] for m in t.messages({"question": "2+2?", "answer": "4"})]
    ['system', 'user']
    >>> t.render({"question": "2+2?", "answer": "4"})
    'Q: 2+2?\\nA: 4\\nScore 1-5:'
    >>> PromptTemplate("Rate: {item}").render("a short story")
    'Rate: a short story'
    >>> t.render({"question": "2+2?"})
    Traceback (most recent call last):
    ...
    judgecal._exceptions.InputError: The 'item' parameter of PromptTemplate.render must be ...
    """

    user: str
    """The user-message template."""
    system: str | None = None
    """The system-message template, if any."""
    fields: tuple[str, ...] = field(init=False)
    """The field names the templates use (system first), each once."""

    def __post_init__(self) -> None:
        if not isinstance(self.user, str) or not self.user.strip():
            raise InputTypeError("user", "a non-empty template string", self.user)
        if self.system is not None and not isinstance(self.system, str):
            raise InputTypeError("system", "a template string or None", self.system)
        names = list(_fields_of(self.system or "", "system"))
        names += [n for n in _fields_of(self.user, "user") if n not in names]
        object.__setattr__(self, "fields", tuple(names))

    @classmethod
    def of(cls, prompt: PromptTemplate | str, *, system: str | None = None) -> PromptTemplate:
        """``prompt`` as a template: a template as it is, a string as the user message."""
        if isinstance(prompt, PromptTemplate):
            if system is not None:
                raise InputError(
                    "system", "None when prompt is a PromptTemplate (it has its own)", system
                )
            return prompt
        return cls(prompt, system=system)

    @property
    def key(self) -> str:
        """The template text (system and user), for cache fingerprints."""
        return f"system:{self.system or ''}\nuser:{self.user}"

    def _values(self, item: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.fields:
            if isinstance(item, Mapping) and name in item:
                values[name] = item[name]
            elif name == "item":
                values[name] = item
            elif not isinstance(item, Mapping) and hasattr(item, name):
                values[name] = getattr(item, name)
            else:
                has = _available(item)
                raise InputError(
                    "item",
                    f"a mapping or object with the field {name!r} the prompt template uses "
                    f"(it uses {list(self.fields)})",
                    f"{type(item).__name__} with fields {has}",
                    where="PromptTemplate.render",
                )
        return values

    def _fill(self, text: str, values: Mapping[str, Any]) -> str:
        try:
            return text.format_map(values)
        except (KeyError, IndexError, AttributeError, ValueError, TypeError) as exc:
            raise InputError(
                "item",
                "values that fill the template's field paths and format specs",
                f"{type(exc).__name__}: {exc}",
                where="PromptTemplate.render",
            ) from exc

    def render(self, item: Any) -> str:
        """The user message for ``item``."""
        return self._fill(self.user, self._values(item))

    def messages(self, item: Any) -> list[dict[str, str]]:
        """The chat messages for ``item``: ``[{"role": "system", ...}, {"role": "user", ...}]``."""
        values = self._values(item)
        out: list[dict[str, str]] = []
        if self.system is not None:
            out.append({"role": "system", "content": self._fill(self.system, values)})
        out.append({"role": "user", "content": self._fill(self.user, values)})
        return out
