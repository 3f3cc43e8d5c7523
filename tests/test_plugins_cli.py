import json
import sys
import types

import pytest

from fastnn import cli, plugins
from fastnn.hookspecs import hookimpl
from fastnn.tasks import Task


@pytest.fixture
def echo_plugin():
    """An in-test plugin registering a task that writes metrics.json."""
    mod = types.ModuleType("echo_plugin")

    def add_arguments(p):
        p.add_argument("--word", default="hi")

    def run(ctx):
        ctx.write_metrics({"word": ctx.args.word, "seed": ctx.seed, "value": float("nan")})
        print(f"echo {ctx.args.word}")

    @hookimpl
    def register_tasks(register):
        register(Task("echo", "repeat a word", run, add_arguments))
    mod.register_tasks = register_tasks
    plugins.pm.register(mod, name="echo_plugin")
    yield mod
    plugins.pm.unregister(name="echo_plugin")


def test_in_test_plugin_runs_through_cli(echo_plugin, tmp_path, capsys):
    assert cli.main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"task": "echo", "plugin": "echo_plugin", "description": "repeat a word"} in rows
    assert cli.main(["run", "echo", "--word", "yo", "--seed", "5", "--out", str(tmp_path)]) == 0
    assert "echo yo" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == {"word": "yo", "seed": 5, "value": None}


def test_unknown_task_lists_known_ones(capsys):
    assert cli.main(["run", "nosuchtask"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'nosuchtask'" in err and "mlp" in err


def test_plugins_command_lists_hooks(capsys):
    assert cli.main(["plugins", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["fastnn_plugins.mlp"]["hooks"] == ["register_tasks"]


def test_broken_plugin_is_reported_and_skipped(monkeypatch, capsys):
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", plugins.DEFAULT_PLUGINS + ("no_such_fastnn_plugin",))
    with pytest.warns(UserWarning, match="skipping plugin 'no_such_fastnn_plugin'"):
        plugins.load_plugins()
    assert "ModuleNotFoundError" in plugins.plugin_errors.pop("no_such_fastnn_plugin")
    monkeypatch.setenv("FASTNN_STRICT_PLUGINS", "1")
    with pytest.raises(plugins.PluginError, match="no_such_fastnn_plugin"):
        plugins.load_plugins()
    plugins.plugin_errors.clear()


def test_broken_hook_is_reported(monkeypatch):
    mod = types.ModuleType("bad_hook")

    @hookimpl
    def register_tasks(register):
        raise RuntimeError("boom")
    mod.register_tasks = register_tasks
    plugins.pm.register(mod, name="bad_hook")
    try:
        with pytest.warns(UserWarning, match="boom"):
            tasks = cli._tasks()
        assert "mlp" in tasks
    finally:
        plugins.pm.unregister(name="bad_hook")
        plugins.plugin_errors.clear()


def test_entry_points_are_honoured(monkeypatch):
    mod = types.ModuleType("ep_plugin")

    @hookimpl
    def register_tasks(register):
        register(Task("from-ep", "entry point task", lambda ctx: None))
    mod.register_tasks = register_tasks

    class EP:
        name = "ep_plugin"

        def load(self):
            return mod
    monkeypatch.setattr(plugins.importlib.metadata, "entry_points", lambda group: [EP()])
    monkeypatch.setenv("FASTNN_LOAD_PLUGINS", "")
    plugins.load_plugins()
    assert plugins.pm.get_plugin("ep_plugin") is None  # empty list: none loaded
    monkeypatch.setenv("FASTNN_LOAD_PLUGINS", "ep_plugin")
    plugins.load_plugins()
    try:
        assert "from-ep" in cli._tasks()
    finally:
        plugins.pm.unregister(name="ep_plugin")


def test_module_entry_point(tmp_path):
    import subprocess
    out = subprocess.run([sys.executable, "-m", "fastnn", "list"], capture_output=True, text=True)
    assert out.returncode == 0 and "gradcheck" in out.stdout
