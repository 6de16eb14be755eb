"""What every domain's api.py shares: the runtime, the signed-in principal, role and site checks,
and turning domain errors into clear HTTP answers (nothing half-written: each request is one
transaction that is rolled back on any error)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from dualsign.accounts.models import Role, User
from dualsign.accounts.tokens import InvalidToken, read_token
from dualsign.audit import service as audit
from dualsign.runtime import Runtime

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token")


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


@dataclass(frozen=True)
class Principal:
    user: User
    actor: audit.Actor

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def site_id(self) -> int:
        return self.user.site_id


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_principal(request: Request, rt: RuntimeDep, token: Annotated[str, Depends(oauth2)]) -> Principal:
    try:
        claims = read_token(rt.settings, token)
    except InvalidToken as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc),
                            headers={"WWW-Authenticate": "Bearer"}) from None
    with rt.db.session() as session:
        user = session.get(User, int(str(claims["sub"])))
    if user is None or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account disabled or unknown",
                            headers={"WWW-Authenticate": "Bearer"})
    actor = audit.Actor(user.id, user.username, user.role, user.site_id, client_address(request))
    return Principal(user, actor)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Principal]:
    allowed = {r.value for r in roles}

    def check(request: Request, rt: RuntimeDep, principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            deny(rt, principal, "read" if request.method == "GET" else "update", "endpoint",
                 f"{request.method} {request.url.path}",
                 f"role '{principal.role}' may not use this (allowed: {', '.join(sorted(allowed))})")
        return principal

    return check


class Refusal(Exception):
    """A refused request. Raised inside the request's transaction; the application's handler records it
    in the audit trail after that transaction has ended (so the record never waits on it) and answers
    the client with the reason."""

    def __init__(self, principal: Principal, action: str, object_type: str, object_id: Any, why: str,
                 status_code: int, outcome: str) -> None:
        super().__init__(why)
        self.principal, self.action, self.object_type, self.object_id = principal, action, object_type, object_id
        self.why, self.status_code, self.outcome = why, status_code, outcome


def deny(rt: Runtime, principal: Principal, action: str, object_type: str, object_id: Any, why: str,
         code: int = status.HTTP_403_FORBIDDEN) -> NoReturn:
    """Refuse for lack of rights (role or site); audited as denied."""
    raise Refusal(principal, action, object_type, object_id, why, code, "denied")


def fail(rt: Runtime, principal: Principal, action: str, object_type: str, object_id: Any, why: str,
         code: int) -> NoReturn:
    """Refuse an action that was allowed but could not be done (wrong password, illegal state); audited
    as a failure."""
    raise Refusal(principal, action, object_type, object_id, why, code, "failure")


def record_refusal(rt: Runtime, refusal: Refusal) -> None:
    audit.record_separately(rt.db, refusal.principal.actor, refusal.action, refusal.object_type,
                            refusal.object_id, outcome=refusal.outcome, detail={"why": refusal.why})


def in_scope(site_id: int, scope: Iterable[int]) -> bool:
    return site_id in set(scope)


