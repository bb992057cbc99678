"""The real judge-versus-human datasets that ship with judgecal.

``load_hanna``
    HANNA (Chhun et al., COLING 2022; LLM ratings from Chhun, Suchanek and
    Clavel, TACL 2024): 1,056 generated stories, 6 criteria, three human
    Likert ratings (1-5) each, and LLM judge ratings (1-5, the mean of three
    sampled answers). MIT licence, see ``judgecal/data/HANNA_LICENSE``.
``load_pandalm``
    PandaLM test set (Wang et al., ICLR 2024): 999 pairwise comparisons of two
    responses with three human verdicts each (first, second or tie) and two
    LLM judges (GPT-3.5-turbo, PandaLM-7B). Apache-2.0, see
    ``judgecal/data/PANDALM_LICENSE``.

Both load from package data: nothing is fetched over the network.
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import check_choice
from judgecal.records.core import Judgment, JudgmentSet, Rating, Scale
from judgecal.vocabulary import PAIRWISE_CODES, PAIRWISE_OUTCOMES

__all__ = ["HANNA_CRITERIA", "HANNA_JUDGES", "PANDALM_JUDGES", "load_hanna", "load_pandalm"]

HANNA_CRITERIA = ("Relevance", "Coherence", "Empathy", "Surprise", "Engagement", "Complexity")
HANNA_JUDGES = tuple(
    f"{m}_p{k}" for m in ("ChatGPT", "Beluga-13B", "Mistral-7B", "Llama-13B") for k in range(1, 5)
)
PANDALM_JUDGES = {"gpt35": "gpt35_label", "pandalm7b": "pandalm7b_label"}


@lru_cache(maxsize=2)
def _hanna_rows() -> tuple[dict[str, str], ...]:
    with resources.files("judgecal").joinpath("data/hanna_long.csv").open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def load_hanna(
    judge: str = "ChatGPT_p1", *, criteria: tuple[str, ...] = HANNA_CRITERIA
) -> JudgmentSet:
    """Load HANNA: one judgment per story and criterion; the criterion is the stage.

    The judge score is the judge's mean rating on the 1-5 scale. The source codes
    unparseable judge answers as values below 1; those judgments get
    ``judge_status="unparseable"`` and no score (they are counted, not scored).
    Human labels are ordinal (5 levels), three ratings per item. The rater
    "slots" are not consistent workers, so raters are recorded as unknown.

    Parameters
    ----------
    judge : str
        One of ``HANNA_JUDGES`` (model and prompt, e.g. ``"Beluga-13B_p2"``).
    criteria : tuple of str
        Criteria to load (default: all six).

    Examples
    --------
    >>> js = load_hanna()
    >>> len(js), js.stage_names()[:2], js.status_counts()
    (6336, ['Relevance', 'Coherence'], {'ok': 6333, 'unparseable': 3})
    """
    check_choice(judge, "judge", HANNA_JUDGES, where="load_hanna")
    if isinstance(criteria, str) or not isinstance(criteria, tuple | list):
        raise InputTypeError(
            "criteria", f"a tuple of criteria from {HANNA_CRITERIA}", criteria, where="load_hanna"
        )
    for c in criteria:
        check_choice(c, "criteria", HANNA_CRITERIA, where="load_hanna")
    scale = Scale.likert(5)
    out = []
    for row in _hanna_rows():
        if row["criterion"] not in criteria:
            continue
        raw = float(row[judge])
        ok = raw >= 1.0
        out.append(
            Judgment(
                item_id=f"{row['story_id']}/{row['criterion']}",
                stage=row["criterion"],
                score=min(raw, 5.0) if ok else None,
                judge_status="ok" if ok else "unparseable",
                judge_output=raw,
                label_kind="ordinal",
                levels=5,
                ratings=tuple(Rating(value=int(row[f"human_{k}"])) for k in (1, 2, 3)),
                features={"text_length": float(row["text_length"])},
                meta={
                    "story_id": row["story_id"],
                    "system": row["system"],
                    "prompt_idx": row["prompt_idx"],
                },
            )
        )
    return JudgmentSet(out, scale=scale)


@lru_cache(maxsize=1)
def _pandalm_rows() -> tuple[tuple[dict[str, Any], ...], dict[int, dict[str, Any]]]:
    base = resources.files("judgecal").joinpath("data")
    with base.joinpath("pandalm_compact.jsonl").open(encoding="utf-8") as fh:
        compact = tuple(json.loads(line) for line in fh if line.strip())
    with base.joinpath("pandalm_testset-v1.json").open(encoding="utf-8") as fh:
        full = {int(r["idx"]): r for r in json.load(fh)}
    return compact, full


def load_pandalm(judge: str = "gpt35", *, with_texts: bool = True) -> JudgmentSet:
    """Load PandaLM: pairwise verdicts with ties; the model pairing (``cmp_key``) is the stage.

    The judge's verdict is on the scale of
    :data:`judgecal.vocabulary.PAIRWISE_OUTCOMES`, ``("second", "tie", "first")``
    (coded 0, 1, 2), so a higher score favours the first response. GPT-3.5's
    unparseable answers ("garbage") get ``judge_status="unparseable"``. Human
    labels are pairwise, three raters per item (``annotator1..3``).

    Parameters
    ----------
    judge : {"gpt35", "pandalm7b"}
        Which LLM judge's verdicts to use.
    with_texts : bool
        Attach instruction, input and both responses as ``texts``.

    Examples
    --------
    >>> js = load_pandalm()
    >>> len(js), js.status_counts(), js.scale.verdicts
    (999, {'ok': 974, 'unparseable': 25}, ('second', 'tie', 'first'))
    """
    check_choice(judge, "judge", tuple(PANDALM_JUDGES), where="load_pandalm")
    check_choice(with_texts, "with_texts", (True, False), where="load_pandalm")
    compact, full = _pandalm_rows()
    code = {1: "first", 2: "second", 0: "tie"}  # PandaLM's own coding of its labels
    out = []
    for row in compact:
        verdict = row[PANDALM_JUDGES[judge]]
        src = full.get(int(row["idx"]))
        if src is None:  # pragma: no cover - shipped files are consistent
            raise InputError("idx", "an index present in the PandaLM test set", row["idx"])
        texts = {}
        if with_texts:
            texts = {k: str(src[k]) for k in ("instruction", "input", "response1", "response2")}
        out.append(
            Judgment(
                item_id=str(row["idx"]),
                stage=row["cmp_key"],
                score=None if verdict is None else float(PAIRWISE_CODES[code[int(verdict)]]),
                judge_status="ok" if verdict is not None else "unparseable",
                judge_output=None if verdict is None else code[int(verdict)],
                label_kind="pairwise",
                ratings=tuple(
                    Rating(value=code[int(row[f"human_{k}"])], rater=f"annotator{k}")
                    for k in (1, 2, 3)
                ),
                features={
                    "len_response1": float(row["len_response1"]),
                    "len_response2": float(row["len_response2"]),
                },
                texts=texts,
                meta={"cmp_key": row["cmp_key"], "motivation_app": row["motivation_app"]},
            )
        )
    return JudgmentSet(out, scale=Scale.verdict(*PAIRWISE_OUTCOMES))
