"""A real chat-completions HTTP server on 127.0.0.1 for the client tests (not a mock).

The server speaks the OpenAI chat-completions protocol over HTTP on a loopback
port chosen by the OS. What it answers is decided by the last user message,
a *behaviour* word with an optional argument after ``|`` (and an optional
``#tag`` at the end, ignored, to make a text unique per test):

============================  ==============================================================
``score|4``                   200, content "Score: 4"
``dist|.1,.1,.2,.5,.1``       200, content "Score: <argmax>", logprobs over " 1".." 5"
                              (the ``top_logprobs`` most likely), when the request asks;
                              ``dist|.1,.1,.2,.5,.1@2`` writes "Score: 2" (a sampled level)
``nolp|4``                    200, content "Score: 4", never any logprobs
``garbage``                   200, content "The answer has merits."
``refuse``                    200, content "I'm sorry, but I can't evaluate this."
``refusal_field``             200, content null, ``message.refusal`` set
``filtered``                  200, content "", finish_reason "content_filter"
``length``                    200, content "Let me think step by", finish_reason "length"
``empty``                     200, ``choices: []``
``truncated``                 200, the JSON body cut in the middle
``429``                       429 with ``Retry-After: <arg or 0>`` (every time)
``429once|k``                 429 with ``Retry-After: <server.retry_after>`` for the first
                              k requests of this text, then as ``score|4``
``500``                       500 (every time); ``500once|k``: k times, then ``score|4``
``slow|s``                    sleeps s seconds, then as ``score|4``
``auth``                      401
============================  ==============================================================

Every request is recorded (``server.requests``: the parsed JSON bodies), and
counted per text; ``max_requests`` bounds the total (beyond it: 503), so a
test that loops cannot hammer the machine. Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}


def completion(
    content: str | None,
    *,
    finish_reason: str = "stop",
    refusal: str | None = None,
    logprobs: list[dict[str, Any]] | None = None,
    model: str = "local-judge",
) -> dict[str, Any]:
    """One chat-completion body with one choice."""
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": content, "refusal": refusal},
        "finish_reason": finish_reason,
        "logprobs": None if logprobs is None else {"content": logprobs, "refusal": None},
    }
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [choice],
        "usage": dict(USAGE),
    }


def score_logprobs(
    probs: list[float], top: int, written: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """The written level (default: the argmax, 1-based) and the tokens "Score", ":", " <level>".

    The score token carries the ``top`` most likely levels as alternatives.
    """
    best = written or max(range(len(probs)), key=lambda k: probs[k]) + 1
    ranked = sorted(range(len(probs)), key=lambda k: -probs[k])[:top]
    alternatives = [
        {"token": f" {k + 1}", "logprob": math.log(probs[k]), "bytes": None}
        for k in ranked
        if probs[k] > 0
    ]
    sure = {"logprob": 0.0, "bytes": None, "top_logprobs": []}
    tokens = [
        {"token": "Score", **sure},
        {"token": ":", **sure},
        {
            "token": f" {best}",
            "logprob": math.log(probs[best - 1]),
            "bytes": None,
            "top_logprobs": alternatives,
        },
    ]
    return best, tokens


class ChatServer:
    """Serve chat completions on 127.0.0.1 in a daemon thread; a context manager.

    Examples
    --------
    >>> with ChatServer() as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, *, max_requests: int = 500) -> None:
        self.max_requests = max_requests
        self.retry_after = "0"
        self.requests: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # wakes slow handlers
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def count(self, text: str) -> int:
        """Requests seen whose last user message was ``text``."""
        with self.lock:
            return self.counts[text]

    # -- what to answer ----------------------------------------------------------------------
    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one request."""
        text = str(body["messages"][-1]["content"])
        with self.lock:
            self.requests.append(body)
            self.counts[text] += 1
            seen = self.counts[text]
            total = len(self.requests)
        if total > self.max_requests:
            return _error(503, "request budget of the test server exhausted")
        core = text.partition("#")[0]  # "#tag" makes a text unique without changing it
        behaviour, _, arg = core.partition("|")
        return self._reply(behaviour, arg, seen, body)

    def _reply(
        self, behaviour: str, arg: str, seen: int, body: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        if behaviour == "429" or (behaviour == "429once" and seen <= int(arg or 1)):
            status, headers, payload = _error(429, "rate limited")
            headers["Retry-After"] = arg if behaviour == "429" and arg else self.retry_after
            return status, headers, payload
        if behaviour == "500" or (behaviour == "500once" and seen <= int(arg or 1)):
            return _error(500, "internal error")
        if behaviour == "auth":
            return _error(401, "invalid api key")
        if behaviour == "slow":
            self.stopping.wait(float(arg or 2.0))
        content = _json_reply(behaviour, arg, body)
        if behaviour == "truncated":
            full = json.dumps(completion("Score: 4")).encode()
            return 200, {}, full[: len(full) // 2]
        return 200, {}, json.dumps(content).encode()


def _json_reply(behaviour: str, arg: str, body: dict[str, Any]) -> dict[str, Any]:
    asked = bool(body.get("logprobs"))
    top = int(body.get("top_logprobs") or 1)
    if behaviour == "dist":
        listed, _, written = arg.partition("@")
        probs = [float(x) for x in listed.split(",")]
        best, tokens = score_logprobs(probs, top, int(written) if written else None)
        return completion(f"Score: {best}", logprobs=tokens if asked else None)
    fixed = {
        "garbage": completion("The answer has merits."),
        "refuse": completion("I'm sorry, but I can't evaluate this."),
        "refusal_field": completion(None, refusal="This request was declined."),
        "filtered": completion("", finish_reason="content_filter"),
        "length": completion("Let me think step by", finish_reason="length"),
    }
    if behaviour in fixed:
        return fixed[behaviour]
    if behaviour == "empty":
        out = completion("Score: 4")
        out["choices"] = []
        return out
    level = arg if behaviour in ("score", "nolp") and arg else "4"
    return completion(f"Score: {level}")  # score, nolp, slow, 429once, 500once


def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    payload = {"error": {"message": message, "type": "test_server", "code": status}}
    return status, {}, json.dumps(payload).encode()


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(*_error(404, f"only chat completions here, not {self.path}"))
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(*_error(400, "the body is not JSON"))
                return
            self._send(*server.answer(body))

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                pass

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler
