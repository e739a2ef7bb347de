"""The operators' admin API, `/admin/v1/…` (docs/admin.md): JSON over HTTP for
clients, their secrets, signing keys, revocations and the audit log, authorised by
tokensmith's own access tokens (or a console session). Every change goes through
the application layer (service/), as the command line's do."""
