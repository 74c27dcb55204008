"""Small helpers shared by the pure ASGI layers: a header's value, a body read whole and handed
on again, and the note that the client went away."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope

CLIENT_GONE = "recnet.client_gone"


def client_gone(scope: Scope) -> None:
    """Note that the client disconnected before its request was answered (not an error)."""
    scope[CLIENT_GONE] = True


def header(scope: Scope, name: bytes) -> str | None:
    """The value of the first header called ``name`` (lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


async def read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None if the client went away first) and a receive that replays it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, replaying(body, receive)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app a body already read, then defers to the real one."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
