"""Framework integrations for resource servers, one module per framework, each importing
only its own framework (install the matching extra: ``tokensmith[fastapi]``,
``tokensmith[flask]``, ``tokensmith[django]``). The Starlette/ASGI middleware is
tokensmith.verify.asgi. All of them verify with a :class:`~tokensmith.verify.TokenVerifier`,
read the token and answer refusals through tokensmith.verify.bearer (RFC 6750), and can
serve RFC 9728 metadata (tokensmith.verify.resource_metadata).
"""
