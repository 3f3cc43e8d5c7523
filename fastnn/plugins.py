"""The plugin manager: built-in task plugins plus third-party ones from the 'fastnn' entry-point group."""
import importlib
import importlib.metadata
import os
import sys
import warnings

import pluggy

from . import hookspecs

DEFAULT_PLUGINS = (
    "fastnn_plugins.mlp",
    "fastnn_plugins.gradcheck_task",
    "fastnn_plugins.ocr.task",
    "fastnn_plugins.autoencoder",
    "fastnn_plugins.pca",
    "fastnn_plugins.torch_tasks",
)

pm = pluggy.PluginManager("fastnn")
pm.add_hookspecs(hookspecs)
plugin_errors = {}  # plugin name -> error message, for `fastnn plugins`


class PluginError(RuntimeError):
    """A plugin failed to load and FASTNN_STRICT_PLUGINS is set."""


def _report(name, exc):
    msg = f"{type(exc).__name__}: {exc}"
    plugin_errors[name] = msg
    if os.environ.get("FASTNN_STRICT_PLUGINS", "") not in ("", "0"):
        raise PluginError(f"plugin {name!r} failed to load: {msg}") from exc
    warnings.warn(f"fastnn: skipping plugin {name!r}: {msg}", stacklevel=3)


def _register(name, load):
    try:
        plugin = load()
        pm.register(plugin, name=name)
    except Exception as exc:  # a broken plugin must not take the tool down
        _report(name, exc)


def load_plugins():
    """Register built-ins, then entry points (skipped under pytest); FASTNN_LOAD_PLUGINS limits the
    third-party ones to a comma list of names (empty: none)."""
    for module in DEFAULT_PLUGINS:
        if pm.get_plugin(module) is None and module not in plugin_errors:
            _register(module, lambda m=module: importlib.import_module(m))
    wanted = os.environ.get("FASTNN_LOAD_PLUGINS")
    allowed = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
    if "pytest" in sys.modules and allowed is None:
        allowed = set()
    for ep in importlib.metadata.entry_points(group="fastnn"):
        if (allowed is None or ep.name in allowed) and pm.get_plugin(ep.name) is None:
            _register(ep.name, ep.load)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        _report("check_pending", exc)
    return pm
