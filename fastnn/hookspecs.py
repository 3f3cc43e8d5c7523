"""Hook specifications: what a fastnn plugin can provide."""
import pluggy

hookspec = pluggy.HookspecMarker("fastnn")
hookimpl = pluggy.HookimplMarker("fastnn")


@hookspec
def register_tasks(register):
    """Register runnable tasks: call register(Task(...)) for each."""


@hookspec
def register_datasets(register):
    """Register dataset loaders: call register(name, loader) where loader(root) returns data."""
