"""`/admin/v1/clients/{client_id}/federations`: a federated client's federated
credentials (`tokensmith clients federate / unfederate`). Each matches tokens of one
trust (admin/trusts.py) with an exact `sub` and every CLAIM=PATTERN condition."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from tokensmith.admin.authorisation import CLIENTS_READ, CLIENTS_WRITE, authorise
from tokensmith.admin.bodies import Fields, invalid, json_object
from tokensmith.admin.calls import json_response, run
from tokensmith.admin.clients import ITEM, not_itself
from tokensmith.admin.problems import AdminError, AdminProblem
from tokensmith.domain.trusts import Federation
from tokensmith.service import clients as service
from tokensmith.service.changes import Changes
from tokensmith.service.descriptions import describe_federation
from tokensmith.service.trusts import TrustNotFound

COLLECTION = ITEM + "/federations"
FEDERATION = COLLECTION + "/{federation_id}"


async def list_federations(request: Request) -> Response:
    """The client's federated credentials, each with when it last authenticated it."""
    caller = await authorise(request, CLIENTS_READ)
    client = await run(service.existing, caller.changes, request.path_params["client_id"])
    uses = await run(service.credential_uses, caller.changes, client.client_id)
    items = [{**describe_federation(each), "last_used_at": uses.get(each.federation_id)} for each in client.federations]
    return json_response({"items": items})


def _federate(changes: Changes, client_id: str, trust: str, subject: str, conditions: tuple[str, ...], now: int) -> Federation:
    try:
        return service.federate(changes, client_id, trust, subject, conditions, now)
    except TrustNotFound as exc:  # a value of the body, not the resource addressed
        raise ValueError(f"{exc}: add it first (POST /admin/v1/trusts)") from None


async def add_federation(request: Request) -> Response:
    """`{"trust", "subject", "conditions": ["CLAIM=PATTERN", …]}`, checked as
    `clients federate` checks it: 201 with the credential."""
    caller = await authorise(request, CLIENTS_WRITE)
    fields = Fields(await json_object(request))
    trust, subject = fields.text("trust"), fields.text("subject")
    conditions = fields.texts("conditions") or ()
    fields.done()
    if trust is None or subject is None:
        invalid("trust and subject are required")
    client_id = request.path_params["client_id"]
    now = int(time.time())
    federation = await run(_federate, caller.changes, client_id, trust, subject, conditions, now)
    body = {"client_id": client_id, **describe_federation(federation)}
    return json_response(body, 201, {"location": f"{COLLECTION.format(client_id=client_id)}/{federation.federation_id}"})


async def remove_federation(request: Request) -> Response:
    caller = await authorise(request, CLIENTS_WRITE)
    client_id, federation_id = request.path_params["client_id"], request.path_params["federation_id"]
    not_itself(caller, client_id, "remove a federated credential of")
    if not await run(service.unfederate, caller.changes, client_id, federation_id, int(time.time())):
        raise AdminError(AdminProblem.NOT_FOUND, f"client {client_id!r} has no federated credential {federation_id!r}")
    return Response(status_code=204, headers={"cache-control": "no-store"})
