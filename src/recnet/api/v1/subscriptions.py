"""Webhook subscriptions: the change feed pushed to a client's callback URL (scope
subscriptions:write). Each client sees and manages only its own subscriptions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from recnet.api.deps import Require, SessionDep
from recnet.auth.principal import Principal
from recnet.auth.scopes import Scope
from recnet.config import Settings
from recnet.schemas.common import Page
from recnet.schemas.subscriptions import (
    CreatedSubscription,
    Delivery,
    Subscription,
    SubscriptionInput,
)
from recnet.services import webhooks

router = APIRouter(prefix="/subscriptions", tags=["webhooks"])

SubscriberDep = Annotated[Principal, Require(Scope.subscriptions_write)]
errors: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}}


@router.post(
    "",
    response_model=CreatedSubscription,
    status_code=201,
    responses={401: {}, 403: {}, 422: {}},
)
def create_subscription(
    request: Request,
    response: Response,
    body: SubscriptionInput,
    principal: SubscriberDep,
    session: SessionDep,
) -> CreatedSubscription:
    """Subscribe a callback URL to the change feed; the answer holds its secret, shown once."""
    settings: Settings = request.app.state.settings
    created = webhooks.create(
        session,
        settings,
        principal,
        callback_url=body.callback_url,
        kinds=body.kinds,
        description=body.description,
    )
    response.headers["Location"] = f"/v1/subscriptions/{created.subscription.id}"
    # The answer carries a credential: no cache keeps it (nor does Idempotency-Key replay it).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return CreatedSubscription.model_validate(
        {**Subscription.model_validate(created.subscription).model_dump(), "secret": created.secret}
    )


@router.get("", response_model=Page[Subscription], responses={401: {}, 403: {}})
def list_subscriptions(principal: SubscriberDep, session: SessionDep) -> Page[Subscription]:
    """The caller's subscriptions."""
    return Page[Subscription](
        items=[Subscription.model_validate(s) for s in webhooks.list_for(session, principal)]
    )


@router.get("/{subscription_id}", response_model=Subscription, responses=errors)
def get_subscription(
    subscription_id: uuid.UUID, principal: SubscriberDep, session: SessionDep
) -> Subscription:
    """One of the caller's subscriptions."""
    return Subscription.model_validate(webhooks.get_for(session, principal, subscription_id))


@router.delete("/{subscription_id}", status_code=204, responses=errors)
def delete_subscription(
    subscription_id: uuid.UUID, principal: SubscriberDep, session: SessionDep
) -> Response:
    """Stop and remove one of the caller's subscriptions, with its delivery log."""
    webhooks.delete_for(session, principal, subscription_id)
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", response_model=Page[Delivery], responses=errors)
def list_deliveries(
    subscription_id: uuid.UUID,
    principal: SubscriberDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="The most recent attempts.")] = 100,
) -> Page[Delivery]:
    """The latest delivery attempts, newest first: event, attempt, answer or error, next retry."""
    rows = webhooks.deliveries_for(session, principal, subscription_id, limit)
    return Page[Delivery](items=[Delivery.model_validate(d) for d in rows])
