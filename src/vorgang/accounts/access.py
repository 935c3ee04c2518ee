"""Who may do what in which department: the one place that reads access levels.

Zammad's semantics: ``read`` opens cases, ``overview`` lists them, ``change``
edits them, ``create`` opens new ones, ``full`` is all of these and is the only
level that may own cases. The admin role adds nothing here on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections, router

from .models import AccessLevel, Department, DepartmentAccess, User

# Which held levels satisfy a wanted level.
_SATISFIED_BY: dict[str, frozenset[str]] = {
    AccessLevel.READ: frozenset({AccessLevel.READ, AccessLevel.FULL}),
    AccessLevel.OVERVIEW: frozenset({AccessLevel.OVERVIEW, AccessLevel.READ, AccessLevel.FULL}),
    AccessLevel.CHANGE: frozenset({AccessLevel.CHANGE, AccessLevel.FULL}),
    AccessLevel.CREATE: frozenset({AccessLevel.CREATE, AccessLevel.FULL}),
    AccessLevel.FULL: frozenset({AccessLevel.FULL}),
}

_CACHE_ATTR = "_department_levels"


def levels_by_department(user: User) -> dict[int, frozenset[str]]:
    """The user's levels per department id, read once per user object."""
    cached: dict[int, frozenset[str]] | None = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        collected: dict[int, set[str]] = {}
        for department_id, level in _rows(user):
            collected.setdefault(department_id, set()).add(level)
        cached = {dep: frozenset(levels) for dep, levels in collected.items()}
        setattr(user, _CACHE_ATTR, cached)
    return cached


def _rows(user: User) -> list[tuple[int, str]]:
    """(department id, level) of the user in the active departments of its tenant.

    Written as SQL because every API request needs it: the ORM spends more Python
    building this query (~0.6 ms) than the database needs to answer it.
    """
    db = router.db_for_read(DepartmentAccess)
    quote = connections[db].ops.quote_name
    access, department = quote(DepartmentAccess._meta.db_table), quote(Department._meta.db_table)
    sql = (
        f"SELECT a.department_id, a.level FROM {access} AS a "  # noqa: S608  # names from _meta
        f"INNER JOIN {department} AS d ON d.id = a.department_id "
        "WHERE a.user_id = %s AND d.tenant_id = %s AND d.active = %s"
    )
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [user.pk, user.tenant_id, True])
        return [(int(row[0]), str(row[1])) for row in cursor.fetchall()]


def forget(user: User) -> None:
    """Drop the cached levels after they changed."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def has_level(user: User, department_id: int, level: str) -> bool:
    if not user.is_active or user.is_citizen:
        return False
    held = levels_by_department(user).get(department_id, frozenset())
    return bool(held & _SATISFIED_BY[level])


def departments_with(user: User, level: str) -> list[int]:
    """Ids of the departments in which the user holds ``level`` (or a level that implies it)."""
    if not user.is_active or user.is_citizen:
        return []
    wanted = _SATISFIED_BY[level]
    return sorted(dep for dep, held in levels_by_department(user).items() if held & wanted)


def grant(user: User, department_id: int, levels: Iterable[str]) -> None:
    for level in levels:
        if level not in _SATISFIED_BY:
            raise ValueError(f"unknown access level {level!r}")
        DepartmentAccess.objects.get_or_create(user=user, department_id=department_id, level=level)
    forget(user)
