"""Scopes: what a client may do beyond reading. Reading follows from the organisation's kind."""

from __future__ import annotations

from enum import StrEnum

from recnet.schemas.vocabularies import OrganisationKind


class Scope(StrEnum):
    practices_write = "practices:write"
    programmes_write = "programmes:write"
    statistics_write = "statistics:write"
    feeds_read = "feeds:read"
    subscriptions_write = "subscriptions:write"
    admin = "admin"


# The scopes a client of each kind of organisation may hold. Only member states own data, so
# only they write it; only the secretariat administers.
ALLOWED: dict[OrganisationKind, frozenset[Scope]] = {
    OrganisationKind.member_state: frozenset(
        {
            Scope.practices_write,
            Scope.programmes_write,
            Scope.statistics_write,
            Scope.feeds_read,
            Scope.subscriptions_write,
        }
    ),
    OrganisationKind.secretariat: frozenset(
        {Scope.feeds_read, Scope.subscriptions_write, Scope.admin}
    ),
    OrganisationKind.partner: frozenset({Scope.feeds_read, Scope.subscriptions_write}),
    OrganisationKind.researcher: frozenset({Scope.feeds_read}),
}


def parse(text: str) -> list[Scope]:
    """Scopes from a space- or comma-separated string; ValueError names an unknown one."""
    found: list[Scope] = []
    for word in text.replace(",", " ").split():
        try:
            scope = Scope(word)
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValueError(f"unknown scope {word!r} (known: {known})") from None
        if scope not in found:
            found.append(scope)
    return found
