"""Judge clients: OpenAI-compatible chat-completions servers as judges (the ``[openai]`` extra).

=====================================  ==================================================
:class:`OpenAIJudge`                   a sync judge calling ``/chat/completions``
:class:`AsyncOpenAIJudge`              the same, ``async``
:class:`PromptTemplate`                chat messages filled from an item's fields
:data:`RETRYABLE`                      the runner's ``retry_on`` for client failures
:func:`distribution_features`          expected score and P(score >= k) from logprobs
=====================================  ==================================================

Importing this package does not import ``openai``; making a judge does, and
says what to install when it is missing. See ``docs/clients.md``.
"""

from __future__ import annotations

from judgecal.clients.errors import (
    RETRYABLE,
    ClientError,
    ConnectionFailedError,
    MalformedResponseError,
    RateLimitedError,
    RequestRejectedError,
    RequestTimeoutError,
    ServerError,
)
from judgecal.clients.logprobs import (
    ScoreDistribution,
    distribution_features,
    feature_names,
    level_tokens,
    score_distribution,
)
from judgecal.clients.openai_compat import (
    AsyncOpenAIJudge,
    ChatAnswer,
    OpenAIJudge,
    answer_parser,
)
from judgecal.clients.prompts import PromptTemplate

__all__ = [
    "RETRYABLE",
    "AsyncOpenAIJudge",
    "ChatAnswer",
    "ClientError",
    "ConnectionFailedError",
    "MalformedResponseError",
    "OpenAIJudge",
    "PromptTemplate",
    "RateLimitedError",
    "RequestRejectedError",
    "RequestTimeoutError",
    "ScoreDistribution",
    "ServerError",
    "answer_parser",
    "distribution_features",
    "feature_names",
    "level_tokens",
    "score_distribution",
]
