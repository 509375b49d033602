"""sentinelkit pack ``hunting``: hunting queries, saved functions, saved queries and watchlists across
every tenant, and hunts run everywhere at once.

Registered through the ``sentinelkit`` entry-point group. Importing it loads no Azure SDK and no YAML
parser: tool bodies reach Azure through the core's clients on first call.
"""

from __future__ import annotations

from sentinelkit import ContentKindRegistrar, SettingsRegistrar, ToolRegistrar, hookimpl

from .hunting import (
    hunting_query_create,
    hunting_query_delete,
    hunting_query_get,
    hunting_query_list,
    hunting_query_update,
)
from .items import watchlist_item_add, watchlist_item_list, watchlist_item_remove, watchlist_item_update
from .kinds import SavedSearchContent, WatchlistContent
from .run import hunting_run
from .saved_functions import function_create, function_delete, function_get, function_list, function_update
from .settings import HuntingSettings
from .sync import watchlist_sync
from .watchlists import watchlist_create, watchlist_delete, watchlist_get, watchlist_list

__version__ = "0.1.0"

TOOLS = (hunting_query_list, hunting_query_get, hunting_query_create, hunting_query_update, hunting_query_delete,
         hunting_run, function_list, function_get, function_create, function_update, function_delete,
         watchlist_list, watchlist_get, watchlist_create, watchlist_delete, watchlist_item_list,
         watchlist_item_add, watchlist_item_update, watchlist_item_remove, watchlist_sync)


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    for fn in TOOLS:
        register(fn)


@hookimpl
def register_settings(register: SettingsRegistrar) -> None:
    register(HuntingSettings)


@hookimpl
def register_content_kinds(register: ContentKindRegistrar) -> None:
    register(WatchlistContent())
    register(SavedSearchContent())
