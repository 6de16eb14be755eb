"""Short-lived bearer tokens (JWT, HS256) for the OAuth2 password flow."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from dualsign.settings import Settings

_claims = JWTClaimsRegistry(exp={"essential": True}, sub={"essential": True})


class InvalidToken(ValueError):
    pass


def _secret(settings: Settings) -> OctKey:
    if settings.token_secret:
        return OctKey.import_key(settings.token_secret)
    # Embedded default: one random secret per installation, kept beside the service key.
    path = Path(settings.keys_dir) / "token.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        os.replace(tmp, path)
    return OctKey.import_key(path.read_text().strip())


def issue_token(settings: Settings, *, user_id: int, role: str, site_id: int) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "role": role, "site": site_id, "iat": now,
              "exp": now + settings.token_minutes * 60}
    return jwt.encode({"alg": "HS256"}, claims, _secret(settings))


def read_token(settings: Settings, token: str) -> dict[str, object]:
    try:
        decoded = jwt.decode(token, _secret(settings), algorithms=["HS256"])
        _claims.validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise InvalidToken(f"invalid or expired token: {exc}") from None
    return dict(decoded.claims)
