"""Who may call each route: the policy table that the authorization tests hold the app to.

A route missing here, or answering a role differently (401/403 versus anything else), fails
``tests/api/auth/test_route_policy.py``. Roles hold every scope their organisation's kind allows.
Record-level rules (tenant, marking) come on top, from ``auth.visibility``.
"""

from __future__ import annotations

from recnet.auth.principal import Role

EVERYONE = frozenset(Role)
AUTHENTICATED = EVERYONE - {Role.anonymous}
SECRETARIAT = frozenset({Role.secretariat})
MEMBER_STATES = frozenset({Role.member_state})
# The kinds whose clients may hold subscriptions:write (auth/scopes.py).
SUBSCRIBERS = frozenset({Role.member_state, Role.secretariat, Role.partner})


def _records(plural: str) -> dict[tuple[str, str], frozenset[Role]]:
    """Reading is open to all (what each sees follows the markings); writing is for agencies."""
    return {
        ("GET", f"/v1/{plural}"): EVERYONE,
        ("POST", f"/v1/{plural}"): MEMBER_STATES,
        ("PUT", f"/v1/{plural}/by-ref/{{source_ref}}"): MEMBER_STATES,
        ("GET", f"/v1/{plural}/{{record_id}}"): EVERYONE,
        ("PATCH", f"/v1/{plural}/{{record_id}}"): MEMBER_STATES,
        ("DELETE", f"/v1/{plural}/{{record_id}}"): MEMBER_STATES,
        ("POST", f"/v1/{plural}/{{record_id}}/publish"): MEMBER_STATES,
        ("GET", f"/v1/{plural}/{{record_id}}/versions"): EVERYONE,
    }


ROUTE_POLICY: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/v1/health"): EVERYONE,
    ("GET", "/v1/ready"): EVERYONE,
    ("GET", "/v1/organisations"): EVERYONE,
    # The token endpoint authenticates the client's credentials itself.
    ("POST", "/v1/auth/token"): EVERYONE,
    ("GET", "/v1/auth/jwks.json"): EVERYONE,
    ("GET", "/v1/auth/me"): AUTHENTICATED,
    ("GET", "/v1/vocabularies"): EVERYONE,
    ("GET", "/v1/vocabularies/{name}"): EVERYONE,
    ("GET", "/v1/schemas/{kind}"): EVERYONE,
    **_records("practices"),
    **_records("programmes"),
    ("GET", "/v1/statistics/structure"): EVERYONE,
    ("GET", "/v1/statistics/template.xlsx"): EVERYONE,
    ("POST", "/v1/statistics/observations"): MEMBER_STATES,
    # Everyone reads statistics: below member-state level, disclosure-controlled.
    ("GET", "/v1/statistics/observations"): EVERYONE,
    ("GET", "/v1/statistics/aggregates"): EVERYONE,
    ("GET", "/v1/sdmx/data/{flow}"): EVERYONE,
    ("GET", "/v1/sdmx/data/{flow}/{key}"): EVERYONE,
    ("GET", "/v1/sdmx/data/{flow}/{key}/{providerRef}"): EVERYONE,
    ("GET", "/v1/sdmx/availableconstraint/{flow}"): EVERYONE,
    ("GET", "/v1/sdmx/availableconstraint/{flow}/{key}"): EVERYONE,
    ("GET", "/v1/sdmx/availableconstraint/{flow}/{key}/{providerRef}"): EVERYONE,
    ("GET", "/v1/sdmx/availableconstraint/{flow}/{key}/{providerRef}/{componentID}"): EVERYONE,
    ("GET", "/v1/sdmx/schema/{context}/{agencyID}/{resourceID}"): EVERYONE,
    ("GET", "/v1/sdmx/schema/{context}/{agencyID}/{resourceID}/{version}"): EVERYONE,
    # SDMX structural metadata: the published structure of the statistics, for everyone.
    ("GET", "/v1/sdmx/{resource}"): EVERYONE,
    ("GET", "/v1/sdmx/{resource}/{agencyID}"): EVERYONE,
    ("GET", "/v1/sdmx/{resource}/{agencyID}/{resourceID}"): EVERYONE,
    ("GET", "/v1/sdmx/{resource}/{agencyID}/{resourceID}/{version}"): EVERYONE,
    ("GET", "/v1/sdmx/{resource}/{agencyID}/{resourceID}/{version}/{itemID}"): EVERYONE,
    ("GET", "/v1/feeds/changes"): AUTHENTICATED,
    # Anonymous readers get the CLEAR records; each reader what its markings allow.
    ("GET", "/v1/feeds/practices.atom"): EVERYONE,
    ("GET", "/v1/feeds/practices.json"): EVERYONE,
    ("GET", "/v1/feeds/programmes.atom"): EVERYONE,
    ("GET", "/v1/feeds/programmes.json"): EVERYONE,
    ("GET", "/v1/audit"): SECRETARIAT,
    ("GET", "/v1/clients"): SECRETARIAT,
    ("POST", "/v1/subscriptions"): SUBSCRIBERS,
    ("GET", "/v1/subscriptions"): SUBSCRIBERS,
    ("GET", "/v1/subscriptions/{subscription_id}"): SUBSCRIBERS,
    ("DELETE", "/v1/subscriptions/{subscription_id}"): SUBSCRIBERS,
    ("GET", "/v1/subscriptions/{subscription_id}/deliveries"): SUBSCRIBERS,
}
