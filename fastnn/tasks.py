"""The Task record plugins register, and the context a task runs in."""
import json
import math
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .atomic import atomic_path


class TaskError(RuntimeError):
    """A task failed in a way the user can fix; the message says how."""


@dataclass
class Task:
    name: str
    description: str
    run: Callable  # run(ctx) -> metrics dict
    add_arguments: Optional[Callable] = None  # add_arguments(argparse parser)
    plugin: str = ""


@dataclass
class Context:
    """What every task gets: parsed options, folders, the seeded RNG and progress settings."""
    args: object
    out: str
    data_root: str
    seed: int
    rng: np.random.Generator
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def path(self, name):
        return os.path.join(self.out, name)

    def tqdm(self, *args, **kw):
        """A tqdm progress bar that honours --no-progress."""
        from tqdm.auto import tqdm
        return tqdm(*args, disable=not self.progress, leave=False, **kw)

    def write_metrics(self, metrics):
        """Write OUT/metrics.json atomically (numbers, strings, lists and dicts of them)."""
        path = self.path("metrics.json")
        with atomic_path(path) as tmp, open(tmp, "w") as fh:
            json.dump(_jsonable(metrics), fh, indent=2, sort_keys=True)
        return path


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value


def collect_tasks(pm):
    """{name: Task} from every registered plugin; duplicate names are an error."""
    tasks = {}
    for impl in pm.hook.register_tasks.get_hookimpls():
        def register(task, _plugin=impl.plugin_name):
            if task.name in tasks:
                raise TaskError(f"task {task.name!r} registered twice ({tasks[task.name].plugin}, {_plugin})")
            task.plugin = _plugin
            tasks[task.name] = task
        try:
            impl.function(register=register)
        except TaskError:
            raise
        except Exception as exc:  # a plugin whose hook breaks is reported like one that fails to import
            from .plugins import _report
            _report(impl.plugin_name, exc)
    return tasks
