"""Who may call each route: the policy table that the authorization tests hold the app to.

A route missing here, or answering a role differently (401/403 versus anything else), fails
``tests/test_route_policy.py``. Roles hold every scope their organisation's kind allows.
Record-level rules (tenant, marking) come on top, from ``auth.visibility``.
"""

from __future__ import annotations

from recnet.auth.principal import Role

EVERYONE = frozenset(Role)
AUTHENTICATED = EVERYONE - {Role.anonymous}
SECRETARIAT = frozenset({Role.secretariat})

ROUTE_POLICY: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/v1/health"): EVERYONE,
    ("GET", "/v1/ready"): EVERYONE,
    ("GET", "/v1/organisations"): EVERYONE,
    # The token endpoint authenticates the client's credentials itself.
    ("POST", "/v1/auth/token"): EVERYONE,
    ("GET", "/v1/auth/jwks.json"): EVERYONE,
    ("GET", "/v1/auth/me"): AUTHENTICATED,
    ("GET", "/v1/clients"): SECRETARIAT,
}
