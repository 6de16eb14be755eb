"""Sites, users, passwords, licences and qualifications; routing of exams to qualified readers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from dualsign.accounts.models import Role, Site, SiteLevel, User
from dualsign.signing import keys as signing_keys

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_site(session: Session, *, code: str, name: str, level: str, parent: Site | None = None) -> Site:
    level = SiteLevel(level).value
    order = list(SiteLevel)
    if parent is not None and order.index(SiteLevel(parent.level)) >= order.index(SiteLevel(level)):
        raise AccountError(f"a {level} site cannot sit under a {parent.level} site")
    site = Site(code=code, name=name, level=level, parent=parent)
    session.add(site)
    session.flush()
    return site


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: str,
    site: Site,
    password: str,
    licence_number: str | None = None,
    licence_valid_from: dt.date | None = None,
    licence_valid_to: dt.date | None = None,
    qualified_modalities: Iterable[str] = (),
    key_algorithm: str = "SM2-SM3",
) -> User:
    role = Role(role).value
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        site=site,
        password_hash=hash_password(password),
        qualified_modalities=sorted(set(qualified_modalities)),
    )
    if role == Role.PHYSICIAN:
        if not licence_number or not licence_valid_from or not licence_valid_to:
            raise AccountError("a physician needs a practising-licence number and its validity dates")
        user.licence_number = licence_number
        user.licence_valid_from = licence_valid_from
        user.licence_valid_to = licence_valid_to
        # The physician's signing key is sealed under their password: only a signing call that
        # re-enters the password can use it.
        pair = signing_keys.generate_keypair(key_algorithm)
        user.key_algorithm = pair.algorithm
        user.public_key = pair.public_key
        user.sealed_private_key = signing_keys.seal_private_key(pair.private_key, password)
    session.add(user)
    session.flush()
    return user


def change_password(user: User, old_password: str, new_password: str) -> None:
    if not check_password(user, old_password):
        raise AccountError("the current password is wrong")
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if user.sealed_private_key:
        private = signing_keys.unseal_private_key(user.sealed_private_key, old_password)
        user.sealed_private_key = signing_keys.seal_private_key(private, new_password)
    user.password_hash = hash_password(new_password)


def licence_valid_on(user: User, day: dt.date) -> bool:
    return (
        user.licence_number is not None
        and user.licence_valid_from is not None
        and user.licence_valid_to is not None
        and user.licence_valid_from <= day <= user.licence_valid_to
    )


def may_sign_modality(user: User, modality: str, day: dt.date) -> str | None:
    """None when the user may sign this modality on this day, else the reason they may not."""
    if user.role != Role.PHYSICIAN or not user.active:
        return f"{user.username} is not an active physician"
    if not licence_valid_on(user, day):
        return (
            f"practising licence {user.licence_number or '(none)'} of {user.username} is not valid on "
            f"{day.isoformat()} (valid {user.licence_valid_from} to {user.licence_valid_to})"
        )
    if modality not in (user.qualified_modalities or []):
        return f"{user.username} is not qualified to sign {modality} exams"
    return None


def ancestry(session: Session, site: Site) -> list[Site]:
    """The site, its parent, its grandparent ... up to the province."""
    chain = [site]
    seen = {site.id}
    while chain[-1].parent_id is not None:
        parent = session.get(Site, chain[-1].parent_id)
        if parent is None or parent.id in seen:
            break
        chain.append(parent)
        seen.add(parent.id)
    return chain


def descendants(session: Session, site_id: int) -> set[int]:
    """The site and every site below it."""
    rows = session.execute(select(Site.id, Site.parent_id)).all()
    children: dict[int, list[int]] = {}
    for sid, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(sid)
    found, todo = {site_id}, [site_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def has_qualified_reader(session: Session, site: Site, modality: str, day: dt.date) -> bool:
    physicians = session.scalars(
        select(User).where(User.site_id == site.id, User.role == Role.PHYSICIAN, User.active.is_(True))
    )
    return any(may_sign_modality(p, modality, day) is None for p in physicians)


def reading_site_for(session: Session, site: Site, modality: str, day: dt.date) -> Site:
    """The nearest site up the network with a physician qualified for the modality (remote reading).
    Falls back to the exam's own site when nobody up the chain is qualified, so it is never lost."""
    for candidate in ancestry(session, site):
        if has_qualified_reader(session, candidate, modality, day):
            return candidate
    return site
