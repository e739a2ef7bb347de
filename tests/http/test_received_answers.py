"""http/protocol.py answers a whole token request without an ASGI cycle when it can:
the answer is written inside `data_received`, in one write, and no task is started;
everything else (a cold client, a refusal, a body still on its way) goes to the ASGI
route. The protocol runs in process over a recording transport, with the real app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from tests.http.test_token_route import SEED, Harness, basic
from tests.support.transport import RecordingTransport
from tokensmith.http.protocol import BoundedHttpToolsProtocol


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("received"))
    yield harness
    harness.node.engine.dispose()


def seed_request(authorization: bytes, extra: bytes = b"") -> bytes:
    return b"POST " + SEED.encode() + b"?scope=edit HTTP/1.1\r\nhost: t\r\n" + authorization + b"\r\ncontent-length: 0\r\n" + extra + b"\r\n"


def answers(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The responses in what was written: (status, header fields, body)."""
    found = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines[1:])
        length = int(fields["content-length"])
        found.append((int(lines[0].split(" ")[1]), fields, rest[:length]))
        data = rest[length:]
    return found


class Connection:
    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app=app, log_config=None, access_log=False, server_header=False, proxy_headers=False)
        config.load()
        self.state = ServerState()
        self.protocol = BoundedHttpToolsProtocol(config=config, server_state=self.state, app_state={})
        self.transport = RecordingTransport()
        self.protocol.connection_made(self.transport)

    def send(self, data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
        """Feed `data`; what was answered before data_received returned."""
        before = len(self.transport.writes)
        self.protocol.data_received(data)
        return answers(b"".join(self.transport.writes[before:]))

    async def settle(self) -> list[tuple[int, dict[str, str], bytes]]:
        """Let started tasks finish; everything answered so far."""
        for _ in range(200):
            if not self.state.tasks:
                break
            await asyncio.sleep(0.01)
        assert not self.state.tasks
        return answers(b"".join(self.transport.writes))

    def close(self) -> None:
        self.protocol.connection_lost(None)


def run(harness: Harness, body: Any) -> None:
    async def main() -> None:
        connection = Connection(harness.app)
        try:
            await body(connection)
        finally:
            connection.close()

    asyncio.run(main())


async def warm(connection: Connection, authorization: bytes) -> None:
    """One answered request, so that the client is cached; the record is then cleared."""
    connection.send(seed_request(authorization))
    assert [status for status, _, _ in await connection.settle()] == [200]
    connection.transport.writes.clear()


def auth_field(client_id: str, secret: str) -> bytes:
    name, value = basic(client_id, secret)
    return name + b": " + value


def test_a_warm_clients_token_is_written_within_data_received(harness: Harness) -> None:
    ok = auth_field("route", harness.secret)

    async def body(connection: Connection) -> None:
        harness.node.client_cache.forget("route")
        assert connection.send(seed_request(ok)) == []  # cold: the ASGI route looks the client up
        assert len(connection.state.tasks) == 1
        [(status, _, _)] = await connection.settle()
        assert status == 200
        connection.transport.writes.clear()

        [(status, fields, content)] = connection.send(seed_request(ok, b"x-request-id: warm-1\r\n"))
        assert status == 200 and not connection.state.tasks
        assert len(connection.transport.writes) == 1  # head and body in one write
        assert fields == {
            "cache-control": "no-store", "pragma": "no-cache", "content-length": str(len(content)),
            "content-type": "application/json", "x-request-id": "warm-1",
        }  # fmt: skip
        assert list(json.loads(content)) == ["access_token", "expires_in", "token_type"]

    run(harness, body)


def test_pipelined_requests_are_answered_in_order_whichever_path_answers(harness: Harness) -> None:
    ok = auth_field("route", harness.secret)
    wrong = auth_field("route", harness.secret + "x")

    async def body(connection: Connection) -> None:
        await warm(connection, ok)
        early = connection.send(seed_request(ok) + seed_request(ok))
        assert [status for status, _, _ in early] == [200, 200]
        connection.transport.writes.clear()
        # A refusal goes to the ASGI route; the request behind it waits its turn.
        connection.send(seed_request(ok) + seed_request(wrong) + seed_request(ok))
        statuses = [status for status, _, _ in await connection.settle()]
        assert statuses == [200, 401, 200]

    run(harness, body)


def test_a_body_still_on_its_way_goes_to_the_asgi_route(harness: Harness) -> None:
    ok = auth_field("route", harness.secret)
    form = b"grant_type=client_credentials&scope=edit"
    head = (
        b"POST /oauth2/token HTTP/1.1\r\nhost: t\r\n" + ok + b"\r\ncontent-type: application/x-www-form-urlencoded\r\n"
        b"content-length: " + str(len(form)).encode() + b"\r\n\r\n"
    )

    async def body(connection: Connection) -> None:
        await warm(connection, ok)
        [(status, _, _)] = connection.send(head + form)
        assert status == 200  # whole: answered at once
        connection.transport.writes.clear()
        assert connection.send(head) == []
        assert len(connection.state.tasks) == 1  # the ASGI route waits for the body
        await asyncio.sleep(0.05)
        assert connection.send(form) == []
        [(status, _, content)] = await connection.settle()
        assert status == 200 and json.loads(content)["scope"] == "edit"

    run(harness, body)


def test_connection_close_is_honoured(harness: Harness) -> None:
    ok = auth_field("route", harness.secret)

    async def body(connection: Connection) -> None:
        await warm(connection, ok)
        [(status, fields, _)] = connection.send(seed_request(ok, b"connection: close\r\n"))
        assert status == 200 and fields["connection"] == "close"
        assert connection.transport.closed

    run(harness, body)

