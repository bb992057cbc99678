"""What a judge client raises, and which of it the runners should retry.

Every failure of a call to a chat-completions server becomes one of these
(the ``openai`` exception is chained as ``__cause__``), so a run can tell a
rate limit from a bad key without importing ``openai``::

    JudgeError
    └── ClientError                      any failure of a chat-completions call
        ├── RateLimitedError             429; .retry_after in seconds, from Retry-After
        ├── ServerError                  5xx, 408, 409: the server's trouble
        ├── ConnectionFailedError        no connection (also a ConnectionError)
        ├── RequestTimeoutError          the HTTP client timed out (also a TimeoutError)
        ├── MalformedResponseError       a body that is not a chat completion (cut JSON, no choices)
        └── RequestRejectedError         400, 401, 403, 404, 422: retrying will not help

:data:`RETRYABLE` is what to pass as a runner's ``retry_on``: every class
above but :class:`RequestRejectedError`, plus :class:`TimeoutError` so that
the runner's own timeouts are retried too.
"""

from __future__ import annotations

from judgecal._exceptions import JudgeError

__all__ = [
    "RETRYABLE",
    "ClientError",
    "ConnectionFailedError",
    "MalformedResponseError",
    "RateLimitedError",
    "RequestRejectedError",
    "RequestTimeoutError",
    "ServerError",
]


class ClientError(JudgeError):
    """A chat-completions call failed; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimitedError(ClientError):
    """The server answered 429; ``retry_after`` is its Retry-After in seconds (or ``None``).

    The runners wait at least ``retry_after`` (capped at ``max_backoff``)
    before the next attempt.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class ServerError(ClientError):
    """The server failed (5xx), timed out on its side (408) or was busy (409)."""


class ConnectionFailedError(ClientError, ConnectionError):
    """No connection to the server (refused, reset, name not resolved)."""


class RequestTimeoutError(ClientError, TimeoutError):
    """The HTTP request itself timed out (the client's backstop behind the runner's timeout)."""


class MalformedResponseError(ClientError):
    """The server answered 200 with something that is not a usable chat completion."""


class RequestRejectedError(ClientError):
    """The server rejected the request (bad key, unknown model, bad parameter): not retried."""


RETRYABLE: tuple[type[BaseException], ...] = (
    RateLimitedError,
    ServerError,
    ConnectionFailedError,
    RequestTimeoutError,
    MalformedResponseError,
    TimeoutError,
)
"""The exceptions a runner should retry for a client (its ``retry_on``)."""
