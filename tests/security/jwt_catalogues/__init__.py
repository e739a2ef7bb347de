"""The JWT attack catalogues, as data: each maps a case id to a function building the
forged token from a Lab (tests/support/jwt_lab.py). The ids are cited by
docs/security.md; tests/security/test_jwt_catalogue.py runs every case."""

from tests.security.jwt_catalogues import audit, playbook

CATALOGUES = {"audit": audit.ATTACKS, "playbook": playbook.ATTACKS}
