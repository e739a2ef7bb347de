"""Running an application-layer call (service/, synchronous: it talks to the store)
off the event loop, with its expected refusals turned into the admin API's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
import orjson
from starlette.responses import Response

from tokensmith.admin.problems import AdminError, AdminProblem
from tokensmith.http.errors import NO_STORE
from tokensmith.service.clients import ClientAlreadyExists, ClientNotFound, StaleRevision
from tokensmith.service.trusts import TrustAlreadyExists, TrustInUse, TrustNotFound

T = TypeVar("T")


async def run(call: Callable[..., T], *args: Any) -> T:
    try:
        return await anyio.to_thread.run_sync(call, *args)
    except ClientNotFound as exc:
        raise AdminError(AdminProblem.NOT_FOUND, f"no client {exc.client_id!r}") from None
    except ClientAlreadyExists as exc:
        raise AdminError(AdminProblem.CONFLICT, f"a client {str(exc)!r} already exists") from None
    except StaleRevision as exc:
        raise AdminError(AdminProblem.PRECONDITION_FAILED, str(exc)) from None
    except TrustNotFound as exc:
        raise AdminError(AdminProblem.NOT_FOUND, f"no trust {exc.name!r}") from None
    except TrustAlreadyExists as exc:
        raise AdminError(AdminProblem.CONFLICT, f"a trust {str(exc)!r} already exists") from None
    except TrustInUse as exc:  # a ValueError, but the state of the store, not the request, is in the way
        raise AdminError(AdminProblem.CONFLICT, f"{exc}: remove them first, or delete with ?force=true to remove them with it") from None
    except ValueError as exc:  # the domain's refusal of a value, in its own words
        raise AdminError(AdminProblem.REFUSED, str(exc)) from None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, {**NO_STORE, **(headers or {})}, media_type="application/json")
