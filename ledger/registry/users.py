"""People who sign in: their role, what they are bound to, and their password hash."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from ledger.core.paging import Page, check_page
from ledger.registry.firms import Firm
from ledger.registry.providers import Provider

ROLES: tuple[str, ...] = ("firm", "provider", "operator", "approver", "auditor")
BUREAU_ROLES: tuple[str, ...] = ("operator", "approver", "auditor")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# Signed-out tokens remembered on the user until they expire; past this many at once, a
# sign-out ends every session of the user instead (a new generation).
MAX_ENDED_TOKENS = 32
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")

_hasher = PasswordHash((Argon2Hasher(),))
_dummy: dict[PasswordHash, str] = {}


def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so the time taken does not tell."""
    if _hasher not in _dummy:
        _dummy[_hasher] = _hasher.hash("voucher-ledger: no such user")
    return _dummy[_hasher]


class User(Base):
    """A person who signs in with a role; firm and provider users are bound to their party."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"
        ),
        CheckConstraint("(role = 'firm') = (firm_id IS NOT NULL)", name="firm_iff_firm_role"),
        CheckConstraint(
            "(role = 'provider') = (provider_id IS NOT NULL)", name="provider_iff_provider_role"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), nullable=True, index=True)
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id"), nullable=True, index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set by a reset: the one-time password works only to choose a new one.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Counted up when the password changes, is reset or the user is disabled: a token names
    # the generation it was signed in (`gen`), and one of an earlier generation is refused,
    # except the one `kept_token` names (its `jti`): the session that changed the password.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kept_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Tokens signed out before they expire: their ids (`jti`) and expiry (epoch seconds),
    # refused like an earlier generation; forgotten once expired or the generation moves on.
    ended_tokens: Mapped[dict[str, int] | None] = mapped_column(JSON(none_as_null=True),
                                                                nullable=True)


@dataclass(frozen=True)
class UserView:
    """A user as services return it (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    firm_id: int | None
    provider_id: int | None
    active: bool
    created_at: datetime
    must_change_password: bool = False
    party_name: str | None = None  # the firm's or provider's registered name (get_user)
    token_generation: int = 0  # see User.token_generation
    kept_token: str | None = None
    ended_tokens: frozenset[str] = frozenset()  # see User.ended_tokens

    def signed_out(self, token_id: str | None) -> bool:
        """Whether the token with id `token_id` was signed out (see User.ended_tokens)."""
        return token_id is not None and token_id in self.ended_tokens

    def accepts_token(self, generation: int, token_id: str | None) -> bool:
        """Whether a token of `generation` with id `token_id` still speaks for the user: not
        signed out, nor signed before the last password change, reset or disabling (the
        token that changed the password excepted)."""
        if self.signed_out(token_id):
            return False
        return generation == self.token_generation or (
            token_id is not None and token_id == self.kept_token)

    @property
    def is_bureau(self) -> bool:
        """Operator, approver or auditor."""
        return self.role in BUREAU_ROLES


def _view(row: User) -> UserView:
    return UserView(row.id, row.username, row.display_name, row.role, row.firm_id,
                    row.provider_id, row.active, row.created_at,
                    bool(row.must_change_password),
                    token_generation=row.token_generation, kept_token=row.kept_token,
                    ended_tokens=ended_ids(row.ended_tokens))


def ended_ids(ended: dict[str, int] | None) -> frozenset[str]:
    """The ids of the signed-out tokens a user row remembers (`User.ended_tokens`)."""
    return frozenset(ended) if ended else frozenset()


def _end_tokens(row: User, keep: str | None = None) -> None:
    """Refuse every token signed so far (but `keep`, the id of the one making the change)."""
    # A token signed out meanwhile (its check ran before this row's lock) stays ended.
    row.kept_token = keep if keep not in ended_ids(row.ended_tokens) else None
    row.token_generation += 1
    row.ended_tokens = None  # all of them are of an earlier generation now


def sign_out(session: Session, user_id: int, token_id: str | None, expires: int,
             now: int) -> bool:
    """End one token of the user's (its id and expiry, epoch seconds) before it expires.

    True when only that token ended; False when every session of the user ended instead
    (a token without an id, from before token ids, or too many signed out at once)."""
    row = session.get(User, user_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no user {user_id}", user_id=user_id)
    ended = {jti: exp for jti, exp in (row.ended_tokens or {}).items() if exp >= now}
    if token_id is None or len(ended) >= MAX_ENDED_TOKENS:
        _end_tokens(row)
        session.flush()
        return False
    ended[token_id] = expires
    row.ended_tokens = ended
    session.flush()
    return True


def check_password(password: str) -> str:
    """Refuse a password too short or too long to be sensible."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be {MIN_PASSWORD_LENGTH}–{MAX_PASSWORD_LENGTH} characters",
            field="password",
        )
    return password


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    firm_id: int | None = None,
    provider_id: int | None = None,
) -> UserView:
    """Create a user; a firm user names its firm, a provider user its provider, others neither."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput(
            "username must be 3–64 lower-case letters, digits, '.', '_', '@' or '-'",
            field="username",
        )
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    check_password(password)
    if not display_name.isprintable():
        raise InvalidInput("display_name contains control characters", field="display_name")
    if (role == "firm") != (firm_id is not None):
        raise InvalidInput("a firm user, and only a firm user, names a firm", field="firm_id")
    if (role == "provider") != (provider_id is not None):
        raise InvalidInput(
            "a provider user, and only a provider user, names a provider", field="provider_id"
        )
    if firm_id is not None and session.get(Firm, firm_id) is None:
        raise NotFound(f"no firm {firm_id}", field="firm_id")
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise NotFound(f"no provider {provider_id}", field="provider_id")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AlreadyExists(f"user {username} exists", field="username")
    user = User(
        username=username,
        display_name=" ".join(display_name.split())[:100] or username,
        role=role,
        firm_id=firm_id,
        provider_id=provider_id,
        password_hash=_hasher.hash(password),
        active=True,
        must_change_password=False,
        created_at=datetime.now(UTC),
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:  # a concurrent creation of the same username
        raise AlreadyExists(f"user {username} exists", field="username") from exc
    return _view(user)


def authenticate(session: Session, username: str, password: str) -> UserView | None:
    """The active user with this username and password, else None (in similar time)."""
    if not _USERNAME.match(username.strip().lower()):
        _hasher.verify(password, _dummy_hash())
        return None
    row = session.scalars(
        select(User).where(User.username == username.strip().lower())
    ).one_or_none()
    if row is None:
        _hasher.verify(password, _dummy_hash())
        return None
    if not _hasher.verify(password, row.password_hash) or not row.active:
        return None
    return _view(row)


def get_user(session: Session, user_id: int, *, party_name: bool = True) -> UserView:
    """The user with `user_id` (with its firm's or provider's name unless `party_name` is
    False: one statement less), or NotFound."""
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"no user {user_id}", user_id=user_id)
    view = _view(row)
    if not party_name:
        return view
    party = (select(Firm.name).where(Firm.id == row.firm_id) if row.firm_id is not None
             else select(Provider.name).where(Provider.id == row.provider_id)
             if row.provider_id is not None else None)
    if party is None:
        return view
    return replace(view, party_name=session.scalar(party))


def find_user(session: Session, username: str) -> UserView | None:
    """The user with this username, or None."""
    if not _USERNAME.match(username.strip().lower()):
        return None
    row = session.scalars(select(User).where(User.username == username.strip().lower())).first()
    return None if row is None else _view(row)


def list_users(
    session: Session, *, limit: int, offset: int = 0, role: str | None = None
) -> Page[UserView]:
    """A page of users in id order, optionally of one role."""
    check_page(limit, offset)
    query = select(User)
    if role is not None:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
        query = query.where(User.role == role)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(User.id).limit(limit).offset(offset))
    return Page([_view(r) for r in rows], total, limit, offset)


def set_active(session: Session, username: str, active: bool) -> UserView:
    """Enable or disable a user; a disabled user's tokens stop working at once."""
    row = session.scalars(
        select(User).where(User.username == username.strip().lower())
    ).one_or_none()
    if row is None:
        raise NotFound(f"no user {username}", field="username")
    row.active = active
    if not active:  # enabling again does not bring the old tokens back
        _end_tokens(row)
    session.flush()
    return _view(row)


# Who may reset whose password: operators reset firm and provider users only; a staff
# password is reset at the command line (`voucher-ledger users reset-password`).
RESETTABLE_BY_OPERATOR: tuple[str, ...] = ("firm", "provider")
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _user_row(session: Session, username: str) -> User:
    row = session.scalars(
        select(User).where(User.username == username.strip().lower()).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound(f"no user {username}", field="username")
    return row


def change_password(session: Session, user_id: int, *, current: str, new: str,
                    keep_token: str | None = None) -> UserView:
    """The user chooses a new password, naming the current one (a one-time one included).
    Every token signed before ends, but the one `keep_token` names (the changing session's)."""
    row = session.get(User, user_id, with_for_update=True)
    if row is None or not row.active:
        raise NotFound(f"no user {user_id}", user_id=user_id)
    if not isinstance(current, str) or not _hasher.verify(current, row.password_hash):
        raise PermissionDenied("the current password is wrong", code="wrong_password",
                               field="current_password")
    if not isinstance(new, str):
        raise InvalidInput("new_password: text", field="new_password")
    try:
        check_password(new)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="new_password") from exc
    if new == current:
        raise InvalidInput("the new password must differ from the current one",
                           code="password_unchanged", field="new_password")
    row.password_hash = _hasher.hash(new)
    row.must_change_password = False
    _end_tokens(row, keep_token)
    session.flush()
    return _view(row)


def one_time_password() -> str:
    """A random password of 16 characters without look-alikes (0/O, 1/l/I)."""
    return "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(16))


def reset_password(session: Session, username: str, *, staff: bool = False
                   ) -> tuple[UserView, str]:
    """Give the user a one-time password that must be changed at the next sign-in.

    Without `staff` (an operator in the API or console) only firm and provider users are
    reset; the command line passes `staff=True` and may reset anyone.
    """
    row = _user_row(session, username)
    if not staff and row.role not in RESETTABLE_BY_OPERATOR:
        raise PermissionDenied("a staff password is reset only at the command line",
                               code="staff_reset_refused")
    password = one_time_password()
    row.password_hash = _hasher.hash(password)
    row.must_change_password = True
    _end_tokens(row)
    session.flush()
    return _view(row), password
