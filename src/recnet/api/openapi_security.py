"""Who may call each operation, as the OpenAPI document says it: per-operation ``security``.

FastAPI lists on each operation the scopes its dependencies ask for (``api.deps.oauth2`` and
``Require``). The policy table (``auth.policy.ROUTE_POLICY``) adds what the dependencies cannot
say: whether an anonymous caller may call the operation too. Such an operation gets optional
security (a token, or nothing: ``{}``); the others need a token with the scopes listed.

A few async routes resolve the caller in their body (``principal_of``), so that they hold no
database session while they wait or answer from the read cache; their dependencies show no
security, and ``CALLER_IN_ROUTE`` says what they read. An operation that reads no bearer token at
all (health, the token endpoint, the public keys) is left without security.
"""

from __future__ import annotations

from typing import Any

from recnet.api.deps import SECURITY_SCHEME
from recnet.auth.policy import ROUTE_POLICY
from recnet.auth.principal import Role
from recnet.auth.scopes import Scope

# Routes that resolve the caller themselves, and the scopes they check there.
CALLER_IN_ROUTE: dict[tuple[str, str], tuple[Scope, ...]] = {
    ("GET", "/v1/practices"): (),
    ("GET", "/v1/programmes"): (),
    ("GET", "/v1/statistics/observations"): (),
    ("GET", "/v1/statistics/aggregates"): (),
    ("GET", "/v1/feeds/changes"): (Scope.feeds_read,),
}


def _declared_scopes(operation: dict[str, Any]) -> list[str] | None:
    """The scopes the operation's dependencies declare, or None when they read no token."""
    declared: list[dict[str, list[str]]] | None = operation.get("security")
    if not declared:
        return None
    scopes: list[str] = []
    for requirement in declared:
        for scope in requirement.get(SECURITY_SCHEME, []):
            if scope not in scopes:
                scopes.append(scope)
    return scopes


def describe_security(schema: dict[str, Any]) -> None:
    """Set each operation's ``security`` from its dependencies and the policy table."""
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            # HEAD answers as its GET does.
            key = ("GET" if method.upper() == "HEAD" else method.upper(), path)
            if key in CALLER_IN_ROUTE:
                scopes: list[str] | None = [scope.value for scope in CALLER_IN_ROUTE[key]]
            else:
                scopes = _declared_scopes(operation)
            if scopes is None:
                operation.pop("security", None)
                continue
            token = {SECURITY_SCHEME: scopes}
            open_to_anonymous = Role.anonymous in ROUTE_POLICY.get(key, frozenset())
            operation["security"] = [token, {}] if open_to_anonymous else [token]
