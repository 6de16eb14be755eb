"""Login (OAuth2 password flow) and the signed-in user's profile."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from dualsign.accounts.models import Site, User
from dualsign.accounts.service import check_password
from dualsign.accounts.tokens import issue_token
from dualsign.audit import service as audit
from dualsign.http import PrincipalDep, RuntimeDep, client_address

router = APIRouter(prefix="/api", tags=["accounts"])


@router.post("/auth/token")
def login(request: Request, rt: RuntimeDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, Any]:
    address = client_address(request)
    with rt.db.session() as session:
        user = session.scalar(select(User).where(User.username == form.username))
        ok = user is not None and user.active and check_password(user, form.password)
        actor = (audit.Actor(user.id, user.username, user.role, user.site_id, address) if user
                 else audit.Actor(None, form.username[:64], None, None, address))
        if ok:
            audit.record(session, actor, "login", "user", user.id if user else None)
    if not ok:
        audit.record_separately(rt.db, actor, "login", "user", user.id if user else None,
                                outcome="failure", detail={"why": "wrong username or password"})
        time.sleep(0.2)  # blunt online guessing
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    assert user is not None
    token = issue_token(rt.settings, user_id=user.id, role=user.role, site_id=user.site_id)
    return {"access_token": token, "token_type": "bearer", "expires_in": rt.settings.token_minutes * 60}


@router.get("/me")
def me(rt: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    user = principal.user
    with rt.db.session() as session:
        site = session.get(Site, user.site_id)
    return {
        "id": user.id, "username": user.username, "full_name": user.full_name, "role": user.role,
        "site": {"id": user.site_id, "code": site.code if site else None, "name": site.name if site else None},
        "licence_number": user.licence_number,
        "licence_valid_to": user.licence_valid_to.isoformat() if user.licence_valid_to else None,
        "qualified_modalities": user.qualified_modalities,
    }
