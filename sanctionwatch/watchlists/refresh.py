"""Official lists that refresh themselves: download each ``[[lists]]`` entry, import it.

A refresh fetches the list (and OFAC's alias file) with the feed fetcher — timeouts, the
per-list size cap, the address guard and a conditional GET with the validators of the last
successful download, so an unchanged list costs a 304 and changes nothing. A changed list is
imported through ``replace_list`` with the guards of a file import (delisting fraction, older
list, atomic swap, audit). ``--force`` is never implied: a refused refresh keeps the stored
version, is recorded as a failure and is tried (and refused) again at the next due time until
someone imports the file by hand with ``--force``. The validators are saved only after a
successful import, so a failed or refused download is fetched again in full next time.

State lives in ``list_sources`` (schema v5). ``list_health`` says which lists failed their
last refresh or are stale (not confirmed current for ``max_age_days``, or published longer
ago than that by their own date): ``status``, ``/healthz`` and the ops notice use it.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import sqlite_utils

from sanctionwatch.clock import iso, parse_iso, utcnow
from sanctionwatch.config.lists import ListConfig
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import ConfigError, ImportFormatError, ImportRefused
from sanctionwatch.ingest.fetch import FetchClient, FetchResult, FetchState, fetch, make_client
from sanctionwatch.storage.schema import LIST_SOURCES_TABLE
from sanctionwatch.watchlists.imported import list_imported, replace_list
from sanctionwatch.watchlists.importers import (
    ALIASES_FILE_NAME,
    FORMATS,
    MAIN_FILE_NAMES,
    ImportReport,
    SourceFile,
    read_list,
)
from sanctionwatch.watchlists.importers.version import (
    PUBLICATION_KINDS,
    ListVersion,
    parse_timestamp,
)

if TYPE_CHECKING:
    from sanctionwatch.storage.audit import Actor

log = logging.getLogger(__name__)

# After a failed or refused refresh, try again after this long (or refresh_hours, if
# shorter): soon enough that a passing outage heals within the hour, rare enough that a
# refused list is not downloaded again every minute.
RETRY_AFTER_FAILURE = timedelta(hours=1)

IMPORTED, UNCHANGED, REFUSED, FAILED = "imported", "unchanged", "refused", "failed"


@dataclass(frozen=True)
class RefreshOutcome:
    name: str
    status: str  # imported | unchanged | refused | failed
    message: str
    report: ImportReport | None = None

    @property
    def ok(self) -> bool:
        return self.status in (IMPORTED, UNCHANGED)


@dataclass(frozen=True)
class ListHealth:
    name: str
    problem: str | None  # None: healthy; else one line ("refresh failed: …", "stale: …")
    last_success_at: str | None
    list_date: str


def check_list_configs(settings: Settings) -> None:
    """Every [[lists]] format is one the importers know (config cannot import them)."""
    src = str(settings.config_path or "built-in defaults")
    for n, cfg in enumerate(settings.lists, start=1):
        if cfg.format not in FORMATS:
            raise ConfigError(
                f"{src}: key 'lists[{n}].format' is {cfg.format!r}, not a list format",
                hint=f"use one of: {', '.join(FORMATS)}",
            )


def _state(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    cursor = db.execute(f"SELECT * FROM {LIST_SOURCES_TABLE} WHERE name = ?", [name])
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row, strict=True)) if row else {}


def _save(db: sqlite_utils.Database, name: str, **fields: Any) -> None:
    db.execute(f"INSERT OR IGNORE INTO {LIST_SOURCES_TABLE} (name) VALUES (?)", [name])
    cols = ", ".join(f"{k} = ?" for k in fields)
    db.execute(f"UPDATE {LIST_SOURCES_TABLE} SET {cols} WHERE name = ?", [*fields.values(), name])


def due_lists(db: sqlite_utils.Database, settings: Settings, now: datetime) -> list[ListConfig]:
    """Lists whose next refresh is due: never tried, refresh_hours since the last attempt,
    or (after a failure) RETRY_AFTER_FAILURE, or the configured URL changed."""
    due = []
    for cfg in settings.lists:
        state = _state(db, cfg.name)
        last = parse_iso(state.get("last_attempt_at"))
        wait = timedelta(hours=cfg.refresh_hours)
        if state.get("consecutive_failures"):
            wait = min(wait, RETRY_AFTER_FAILURE)
        if last is None or state.get("url") != cfg.url or now - last >= wait:
            due.append(cfg)
    return due


def _fetch(url: str, state: FetchState, cfg: Settings, lst: ListConfig, client: Any) -> FetchResult:
    fetch_settings = replace(cfg.fetch, max_bytes=lst.max_bytes, total_timeout_s=lst.timeout_s)
    return fetch(url, state, fetch_settings, client)


def _is_path(url: str) -> bool:
    return urlsplit(url).scheme.lower() not in ("http", "https")


def _local(url: str) -> Path:
    return Path(unquote(urlsplit(url).path)) if url.lower().startswith("file:") else Path(url)


def _failed(result: FetchResult, what: str) -> str | None:
    if result.error:
        return f"{what}: {result.error}"
    if result.body is None and not result.not_modified:
        return f"{what}: no body (HTTP {result.status})"
    return None


def refresh_list(
    db: sqlite_utils.Database,
    settings: Settings,
    cfg: ListConfig,
    *,
    actor: Actor,
    now: datetime | None = None,
    client: FetchClient | None = None,
) -> RefreshOutcome:
    """Fetch and (when changed) import one configured list; never raises for a bad download
    or a refused import: the outcome says what happened and ``list_sources`` remembers it."""
    now = now or utcnow()
    state = _state(db, cfg.name)
    same_url = state.get("url") == cfg.url
    main_state = (
        FetchState(state.get("etag"), state.get("last_modified")) if same_url else FetchState()
    )
    alias_state = (
        FetchState(state.get("aliases_etag"), state.get("aliases_last_modified"))
        if same_url
        else FetchState()
    )
    own = client is None
    http = client or make_client(replace(settings.fetch, total_timeout_s=cfg.timeout_s))
    try:
        main = _fetch(cfg.url, main_state, settings, cfg, http)
        alias = (
            _fetch(cfg.aliases_url, alias_state, settings, cfg, http) if cfg.aliases_url else None
        )
        error = _failed(main, cfg.url) or (_failed(alias, "aliases_url") if alias else None)
        if error is None and main.not_modified and (alias is None or alias.not_modified):
            return _record(db, cfg, now, UNCHANGED, "not modified (HTTP 304)", main, alias)
        if error is None and main.not_modified:  # only the alias file changed: need both
            main = _fetch(cfg.url, FetchState(), settings, cfg, http)
            error = _failed(main, cfg.url)
        if error is None and alias is not None and alias.not_modified:
            alias = _fetch(cfg.aliases_url or "", FetchState(), settings, cfg, http)
            error = _failed(alias, "aliases_url")
    finally:
        if own:
            http.close()
    if error is not None:
        return _record(db, cfg, now, FAILED, error, main, alias)
    try:
        report = _import(db, settings, cfg, main, alias, actor)
    except ImportRefused as exc:
        message = f"refused: {exc.message} (import the file by hand with --force if expected)"
        return _record(db, cfg, now, REFUSED, message, main, alias)
    except ImportFormatError as exc:
        return _record(db, cfg, now, FAILED, exc.message, main, alias)
    return _record(db, cfg, now, IMPORTED, report.summary(), main, alias, report)


def _import(
    db: sqlite_utils.Database,
    settings: Settings,
    cfg: ListConfig,
    main: FetchResult,
    alias: FetchResult | None,
    actor: Actor,
) -> ImportReport:
    """Parse the downloaded bytes (a local path without aliases_url is parsed where it lies,
    so an alt.csv beside it is read as in a file import) and store them with the guards."""
    with tempfile.TemporaryDirectory(prefix="sanctionwatch-list-") as tmp:
        where: dict[str, str] = {}
        if _is_path(cfg.url) and alias is None:
            path = _local(cfg.url)
        else:
            name = MAIN_FILE_NAMES.get(cfg.format) or Path(urlsplit(cfg.url).path).name or "list"
            path = Path(tmp) / name
            path.write_bytes(main.body or b"")
            where[str(path)] = cfg.url
            if alias is not None:
                alias_path = Path(tmp) / ALIASES_FILE_NAME
                alias_path.write_bytes(alias.body or b"")
                where[str(alias_path)] = cfg.aliases_url or ""
        try:
            parsed = read_list(cfg.format, path, cfg.name)
        except ImportFormatError as exc:
            message = exc.message
            for temp, url in where.items():
                message = message.replace(temp, url)
            raise ImportFormatError(message, hint=exc.hint) from exc
        files = tuple(SourceFile(where.get(f.path, f.path), f.sha256) for f in parsed.files)
        return replace_list(
            db,
            parsed.entries,
            list_name=cfg.name,
            fmt=cfg.format,
            source_file=cfg.url,
            max_delist_fraction=settings.max_delist_fraction,
            list_version=parsed.version,
            files=files,
            warnings=parsed.warnings,
            actor=actor,
        )


def _record(
    db: sqlite_utils.Database,
    cfg: ListConfig,
    now: datetime,
    status: str,
    message: str,
    main: FetchResult,
    alias: FetchResult | None,
    report: ImportReport | None = None,
) -> RefreshOutcome:
    state = _state(db, cfg.name)
    fields: dict[str, Any] = {
        "url": cfg.url,
        "last_attempt_at": iso(now),
        "last_status": main.status,
    }
    if status in (IMPORTED, UNCHANGED):
        fields.update(last_success_at=iso(now), consecutive_failures=0, last_error=None)
        if status == IMPORTED:
            fields.update(
                last_changed_at=iso(now),
                etag=main.etag,
                last_modified=main.last_modified,
                aliases_etag=alias.etag if alias else None,
                aliases_last_modified=alias.last_modified if alias else None,
            )
        log.info("list refreshed list=%s status=%s %s", cfg.name, status, message)
    else:
        fields.update(
            last_error=message,
            last_error_at=iso(now),
            consecutive_failures=int(state.get("consecutive_failures") or 0) + 1,
        )
        log.warning("list refresh failed list=%s status=%s error=%r", cfg.name, status, message)
    _save(db, cfg.name, **fields)
    return RefreshOutcome(cfg.name, status, message, report)


def list_health(
    db: sqlite_utils.Database, settings: Settings, now: datetime | None = None
) -> list[ListHealth]:
    """One ListHealth per configured list, healthy or with its problem in one line."""
    now = now or utcnow()
    stored = {row["name"]: row for row in list_imported(db)}
    out = []
    for cfg in settings.lists:
        state = _state(db, cfg.name)
        meta = stored.get(cfg.name, {})
        marker = ListVersion(meta.get("list_date_kind") or "none", meta.get("list_date") or "")
        limit = timedelta(days=cfg.max_age_days)
        success = parse_iso(state.get("last_success_at"))
        problem: str | None = None
        if state.get("consecutive_failures"):
            problem = f"refresh failed: {state.get('last_error')}"
        elif success is None:
            problem = "never refreshed" if not state else "no successful refresh yet"
        elif now - success > limit:
            problem = f"stale: not confirmed current since {state['last_success_at']}"
        if problem is None and marker.kind in PUBLICATION_KINDS:
            published = parse_timestamp(marker.value)
            if published is not None and now - published > limit:
                problem = f"stale: the list itself is dated {marker.value}"
        if problem and state.get("consecutive_failures") and success is not None:
            if now - success > limit:
                problem += f" (and stale: last good copy {state['last_success_at']})"
        out.append(ListHealth(cfg.name, problem, state.get("last_success_at"), marker.label))
    return out


def mark_notified(db: sqlite_utils.Database, name: str, problem: str | None) -> None:
    _save(db, name, ops_notified=problem)


def notified(db: sqlite_utils.Database, name: str) -> str | None:
    value = _state(db, name).get("ops_notified")
    return str(value) if value else None
