"""The HTTP/1.1 protocol recnet is served with: uvicorn's (httptools), made tolerant of a request
line carrying raw UTF-8, and answering what it still cannot parse in problem+json.

``curl 'http://host/v1/practices?q=классы'`` sends the Cyrillic letters as raw bytes, not
percent-encoded. The parser refuses any byte above 0x7F in a request target, and uvicorn then
answers a bare ``400 text/plain`` before the application sees anything. Such bytes can only
stand for themselves, so here they are percent-encoded in the request line before it is parsed:
the request reaches the application exactly as if the client had encoded it (``%D0%BA...``).
Header values and bodies are passed on untouched.

Whatever the parser still refuses is answered 400 in ``application/problem+json``, like every
other error of the service.
"""

from __future__ import annotations

import json
import re
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from recnet.errors import PROBLEM_MEDIA_TYPE, TYPE_PREFIX

# A request line begins with a method token and a space.
_REQUEST_LINE_START = re.compile(rb"^[A-Z]{3,10} ")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def encode_request_line(line: bytes) -> bytes:
    """A request line with every byte above 0x7F percent-encoded (RFC 3986 2.1)."""
    return _HIGH_BYTE.sub(lambda m: b"%%%02X" % m.group()[0], line)


class Utf8RequestLineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, taking raw UTF-8 in the request line (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._expect_line = True  # the next bytes should begin a request
        self._line_open = False  # a request line has begun and not ended yet

    def data_received(self, data: bytes) -> None:
        if self._line_open or (self._expect_line and _REQUEST_LINE_START.match(data)):
            end = data.find(b"\n")
            if end < 0:
                data, self._line_open = encode_request_line(data), True
            else:
                data, self._line_open = encode_request_line(data[:end]) + data[end:], False
            self._expect_line = False
        elif b"\n" in data:
            self._expect_line = False
        super().data_received(data)

    def on_message_begin(self) -> None:
        # The parser has started a message: until it completes, every byte (request line rest,
        # headers, body) is that message's and is never rewritten. The parser, not where a TCP
        # chunk happens to start, says where a request line can begin; a body that arrives in
        # its own chunk, and looks like a request line, stays as it was sent.
        super().on_message_begin()
        self._expect_line = False

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The parser stands between messages: a chunk that starts here starts a request line.
        self._expect_line = True

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(
            {
                "type": TYPE_PREFIX + "bad-request",
                "title": "Bad request",
                "status": 400,
                "detail": "The request is not valid HTTP/1.1; it was not read.",
            }
        ).encode()
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head += [
            b"content-type: " + PROBLEM_MEDIA_TYPE.encode() + b"\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


__all__ = ["Utf8RequestLineProtocol", "encode_request_line"]
