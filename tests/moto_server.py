"""moto in server mode: a real S3 endpoint on 127.0.0.1, as boto3 sees AWS, plus a fault-injecting proxy.

Import the fixtures explicitly in a test module (they are not in conftest.py):

    from moto_server import aws_credentials, moto_endpoint, moto_server_url  # noqa: F401

``moto_endpoint`` yields the endpoint URL with fake credentials set (and the developer's own AWS configuration
hidden) for the test; one server serves the whole session, so give each test its own bucket.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

import pytest
from moto.server import ThreadedMotoServer

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Anything that could point boto3 at a real account or another endpoint.
HIDDEN_SETTINGS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_moto() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1 for the duration of the block; yields its URL."""
    # werkzeug logs every request on stderr.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def fake_aws_environment(patch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_CREDENTIALS.items():
        patch.setenv(name, value)
    for name in HIDDEN_SETTINGS:
        patch.delenv(name, raising=False)
    patch.setenv("AWS_CONFIG_FILE", os.devnull)
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    # Never ask an instance metadata service for credentials.
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_server_url() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)


@pytest.fixture
def moto_endpoint(moto_server_url: str, aws_credentials: None) -> str:
    return moto_server_url


_S3_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
)
_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "ServiceUnavailable": "Service is unable to handle request.",
    "AccessDenied": "Access Denied",
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "upgrade"}


class FaultProxy:
    """An HTTP proxy in front of an S3 endpoint that misbehaves on purpose.

    - ``faults``: the first ``len(faults)`` requests (with method ``only``, if given) are answered with these
      ``(status, S3 error code)`` pairs instead of being forwarded (throttling and 5xx, which clients must retry);
    - ``deny``: requests whose path contains this string always get 403 AccessDenied (a failure no retry fixes);
    - ``delay``: seconds added to every forwarded request (so concurrency shows as overlapping requests);
    - ``corrupt_checksums``: the SHA-256 checksum S3 reports back is altered (checksum verification must fail).

    Records every request as ``(method, path, status)``; ``max_in_flight`` is the most requests seen at once.
    """

    def __init__(
        self,
        upstream: str,
        *,
        faults: Sequence[tuple[int, str]] = (),
        only: str | None = None,
        deny: str | None = None,
        delay: float = 0.0,
        corrupt_checksums: bool = False,
    ) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.faults = list(faults)
        self.only = only
        self.deny = deny
        self.delay = delay
        self.corrupt_checksums = corrupt_checksums
        self.requests: list[tuple[str, str, int]] = []
        self.injected = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, method: str, path_part: str = "") -> int:
        return sum(1 for m, path, _ in self.requests if m == method and path_part in path)

    def _next_fault(self, method: str, path: str) -> tuple[int, str] | None:
        with self._lock:
            if self.deny is not None and self.deny in path:
                return 403, "AccessDenied"
            if self.faults and self.only in {None, method}:
                self.injected += 1
                return self.faults.pop(0)
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy._in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy._in_flight)
                try:
                    fault = proxy._next_fault(self.command, self.path)
                    if fault is not None:
                        status, code = fault
                        payload = _S3_ERROR.format(code=code, message=_MESSAGES.get(code, code)).encode()
                        headers = [("Content-Type", "application/xml")]
                    else:
                        time.sleep(proxy.delay)
                        status, headers, payload = self._forward(body)
                finally:
                    with proxy._lock:
                        proxy._in_flight -= 1
                # Recorded before answering: once the client has its answer, the request is in the log.
                with proxy._lock:
                    proxy.requests.append((self.command, self.path, status))
                self._answer(status, headers, payload)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                finally:
                    connection.close()
                forwarded = []
                for name, value in response.getheaders():
                    if name.lower() in _HOP_BY_HOP or (name.lower() == "content-length" and self.command != "HEAD"):
                        continue
                    if proxy.corrupt_checksums and name.lower() == "x-amz-checksum-sha256":
                        forwarded.append((name, ("B" if value.startswith("A") else "A") + value[1:]))
                    else:
                        forwarded.append((name, value))
                return response.status, forwarded, payload

            def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            # http.server dispatches each request to do_<METHOD>.
            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay  # noqa: N815

        return Handler
