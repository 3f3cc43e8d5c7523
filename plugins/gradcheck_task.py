"""Task `gradcheck` (seed Q2.5): finite differences over every parameter of the spec network."""
import numpy as np

from fastnn.gradcheck import check_gradients
from fastnn.hookspecs import hookimpl
from fastnn.model import mlp
from fastnn.tasks import Task


def add_arguments(p):
    p.add_argument("--method", default="auto", choices=["auto", "incremental", "naive", "directional"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--eps", type=float, default=1e-6)
    p.add_argument("--sizes", default="1024,64,36", help="layer sizes, comma separated")


def run(ctx):
    a = ctx.args
    sizes = [int(s) for s in a.sizes.split(",")]
    rng = ctx.rng
    model = mlp(sizes, dtype=np.float64, rng=rng)
    X = rng.random((a.batch, sizes[0]))
    y = rng.integers(0, sizes[-1], a.batch)
    check_gradients(model, X[:2], y[:2], eps=a.eps, method=a.method)  # compile outside the timing
    res = check_gradients(model, X, y, eps=a.eps, method=a.method, rng=rng)
    print(res.table())
    print(f"{res.params_checked} parameters checked by the {res.method} path in {res.seconds:.3f} s; "
          f"max relative error {res.max_rel_error:.2e}")
    metrics = {"params_checked": res.params_checked, "max_rel_error": res.max_rel_error,
               "seconds": res.seconds, "method": res.method, "eps": a.eps, "batch": a.batch,
               "sizes": sizes, "tensors": [t.__dict__ for t in res.tensors]}
    ctx.write_metrics(metrics)
    return metrics


@hookimpl
def register_tasks(register):
    register(Task("gradcheck", "finite-difference check of every parameter of 1024-64-36", run, add_arguments))
