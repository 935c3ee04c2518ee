"""Tenants, departments, users (admins, agents, citizens), organisations, API tokens.

Every department, citizen and case belongs to exactly one tenant. Access to
cases comes only from a user's per-department access levels (Zammad's group
permissions); the admin role configures the system but opens no case by itself.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MinValueValidator
from django.db import connections, models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Forms and case pages of tenants without their own host name: /t/<tenant slug>/s/..., /c/...
CITIZEN_PATH_PREFIX = "t"


class Tenant(models.Model):
    """A municipality or office; data of one tenant is never shown to another."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    # Where citizens reach this tenant's forms and case pages when one instance serves
    # several: its own host name, or the path prefix /t/<slug>/ on the shared one
    # (see citizen_base_url).
    host = models.CharField(_("host name"), max_length=255, blank=True)
    logo = models.FileField(_("logo"), upload_to="tenants/", blank=True)
    imprint = models.TextField(_("imprint"), blank=True)
    privacy_notice = models.TextField(_("privacy notice"), blank=True)
    accessibility_statement = models.TextField(_("accessibility statement"), blank=True)
    feedback_contact = models.CharField(
        _("feedback contact for accessibility"), max_length=255, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> Tenant:
        """The tenant a fresh install starts with (created by a migration)."""
        return cls.objects.order_by("pk").first() or cls.objects.create(
            name="Stadtverwaltung", slug="default"
        )

    @classmethod
    def for_host(cls, host: str) -> Tenant | None:
        """The tenant whose own host name is ``host`` (written with or without a port).

        ``host`` is as the request gave it (``request.get_host()``), maybe with a port.
        """
        host = (host or "").strip().lower()
        if not host:
            return None
        name, colon, port = host.rpartition(":")
        if not (colon and port.isdigit() and not name.endswith(":")):
            name = host  # no port (or a bare IPv6 address)
        return (
            cls.objects.exclude(host="")
            .filter(models.Q(host__iexact=host) | models.Q(host__iexact=name))
            .order_by("pk")
            .first()
        )

    def citizen_prefix(self) -> str:
        """The path prefix of this tenant's forms and case pages on the shared host name.

        Empty for a tenant with its own host name and for the default tenant (a
        single-tenant install keeps its plain addresses); ``/t/<slug>`` otherwise.
        """
        if self.host.strip() or self.pk == Tenant.default().pk:
            return ""
        return f"/{CITIZEN_PATH_PREFIX}/{self.slug}"

    def citizen_base_url(self) -> str:
        """Where the tenant's citizen pages start, without a slash at the end:
        ``<scheme>://<own host>`` or ``BASE_URL`` plus :meth:`citizen_prefix`."""
        from urllib.parse import urlsplit

        from django.conf import settings

        base = str(settings.BASE_URL).rstrip("/")
        host = self.host.strip().strip("/")
        if host:
            return f"{urlsplit(base).scheme or 'https'}://{host}"
        return base + self.citizen_prefix()


class Organisation(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="organisations")
    name = models.CharField(_("name"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="organisation_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class FollowUpPolicy(models.TextChoices):
    REOPEN = "reopen", _("reopen the closed case")
    NEW_CASE = "new", _("always open a new case")
    NEW_AFTER_DAYS = "new_after_days", _("reopen, or a new case after N days")


class Department(models.Model):
    """A unit that works cases (Zammad: group), with its own sender address."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="departments")
    name = models.CharField(_("name"), max_length=200)
    email_address = models.EmailField(_("sender address"), unique=True)
    signature = models.TextField(_("signature"), blank=True)
    follow_up_policy = models.CharField(
        _("reply to a closed case"),
        max_length=20,
        choices=FollowUpPolicy.choices,
        default=FollowUpPolicy.REOPEN,
    )
    follow_up_days = models.PositiveIntegerField(
        _("days after closing that a reply still reopens"),
        default=14,
        validators=[MinValueValidator(1)],
    )
    confirmation_de = models.TextField(
        _("confirmation mail (German)"),
        blank=True,
        help_text=_("Sent when a new case arrives by mail; empty: the standard text."),
    )
    confirmation_en = models.TextField(_("confirmation mail (English)"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="department_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("administrator")
    AGENT = "agent", _("agent")
    CITIZEN = "citizen", _("citizen")
    # A system that submits online-service forms through the API; reads no case.
    INTEGRATION = "integration", _("integration")


class TrustLevel(models.TextChoices):
    """How sure we are who the citizen is (eID levels as in BundID)."""

    NONE = "none", _("unverified")
    EMAIL = "email", _("e-mail confirmed")
    SUBSTANTIAL = "substantial", _("substantial (e.g. ELSTER certificate)")
    HIGH = "high", _("high (e.g. online ID card)")


class User(AbstractUser):
    """One model for admins, agents and citizens; ``role`` says which."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="users")
    role = models.CharField(_("role"), max_length=12, choices=Role.choices, default=Role.AGENT)
    language = models.CharField(
        _("language"), max_length=5, choices=[("de", "Deutsch"), ("en", "English")], default="de"
    )
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    address = models.TextField(_("postal address"), blank=True)
    external_id = models.CharField(
        _("external id"), max_length=200, blank=True, help_text=_("e.g. a BundID pseudonym")
    )
    trust_level = models.CharField(
        _("trust level"), max_length=20, choices=TrustLevel.choices, default=TrustLevel.NONE
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    # Set when mail to the address bounced permanently; agents see it on the case.
    email_undeliverable = models.BooleanField(_("e-mail address undeliverable"), default=False)
    email_undeliverable_reason = models.TextField(blank=True)

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [
            models.Index(fields=["tenant", "email"]),
            # Addresses are compared case-insensitively (``email__iexact`` is UPPER(email)
            # = UPPER(%s) on PostgreSQL): without this index every lookup of a new
            # citizen's address (API, e-mail intake, forms) read the whole user table.
            models.Index(Upper("email"), name="accounts_user_email_upper"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email or self.username

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_agent(self) -> bool:
        return self.role in (Role.AGENT, Role.ADMIN)

    @property
    def is_citizen(self) -> bool:
        return self.role == Role.CITIZEN

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Admins reach the configuration pages (Django admin); nobody else does.
        self.is_staff = self.role == Role.ADMIN or self.is_superuser
        if self.tenant_id is None:
            self.tenant = Tenant.default()
        super().save(*args, **kwargs)


class AccessLevel(models.TextChoices):
    """Zammad's group permissions; ``full`` includes all others."""

    READ = "read", _("read")
    CREATE = "create", _("create")
    CHANGE = "change", _("change")
    OVERVIEW = "overview", _("overview")
    FULL = "full", _("full")


class DepartmentAccess(models.Model):
    """One access level of one user in one department (a user may hold several)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="department_access")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="access")
    level = models.CharField(_("access level"), max_length=10, choices=AccessLevel.choices)

    class Meta:
        verbose_name = _("department access")
        verbose_name_plural = _("department access")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department", "level"], name="department_access_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.department}: {self.level}"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


LAST_USE_PRECISION = timedelta(seconds=60)


class ApiToken(models.Model):
    """A token for the REST API; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, default="default")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.user}: {self.name}"

    @classmethod
    def issue(cls, user: User, name: str = "default", expires_at: datetime | None = None) -> str:
        """Create a token and return its secret, which is shown once and never stored."""
        raw = secrets.token_urlsafe(32)
        cls.objects.create(user=user, name=name, key_hash=_hash_token(raw), expires_at=expires_at)
        return raw

    @classmethod
    def authenticate(cls, raw: str) -> User | None:
        """The active user of the usable (not revoked, not expired) token ``raw``, or None.

        Checked against the database on every request, so revoking a token, its expiry
        or deactivating its user takes effect at once (nothing is cached). The secret is
        looked up by its SHA-256 in a unique index, as before: timing could at most tell
        something about the hash of a guess, which does not help to find a valid secret.
        """
        now = timezone.now()
        db = cls.objects.db
        ops = connections[db].ops
        params = [
            ops.adapt_datetimefield_value(now - LAST_USE_PRECISION),
            _hash_token(raw),
            ops.adapt_datetimefield_value(now),
            True,
        ]
        found = list(User.objects.db_manager(db).raw(_token_sql(db), params))
        if not found:
            return None
        user = found[0]
        # Written at most once a minute: a write on every API read would serialise
        # SQLite readers behind the write lock, for a figure that needs no precision.
        token_id: int = getattr(user, "api_token_id")  # noqa: B009  # a column of the SQL
        if getattr(user, "api_token_stale"):  # noqa: B009
            cls.objects.filter(pk=token_id).update(last_used_at=now)
        return user


def _token_sql(db: str) -> str:
    """The token check as one statement (token and user, the rules of ``usable()``).

    Written as SQL because it runs on every API request: the ORM spends about 1 ms of
    Python building the same query, several times what the database needs for it.
    """
    quote = connections[db].ops.quote_name
    user, token = quote(User._meta.db_table), quote(ApiToken._meta.db_table)
    return (
        f"SELECT u.*, t.id AS api_token_id, "  # noqa: S608  # names from _meta, values as params
        "CASE WHEN t.last_used_at IS NULL OR t.last_used_at < %s THEN 1 ELSE 0 END "
        "AS api_token_stale "
        f"FROM {user} AS u INNER JOIN {token} AS t ON t.user_id = u.id "
        "WHERE t.key_hash = %s AND t.revoked_at IS NULL "
        "AND (t.expires_at IS NULL OR t.expires_at > %s) AND u.is_active = %s"
    )
