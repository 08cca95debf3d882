#!/usr/bin/env python3
"""What the optional fronts cost over the direct calls, in one process.

Run (after `pip install "./python[jax,torch,dask]"`):

    python python/bench/bench_adapters.py

On the 4D 50x30x20x10 table (300,000 values), medians of 5 runs, wall clock:

* gradient of sum(g * s(xi)) with respect to the table, 100,000 points:
  Fitter.data_vjp directly, jax.jit(jax.grad(...)) of bsfit.jax.interpolate,
  and backward() of bsfit.torch.interpolate (each also fits and evaluates);
  gradient with respect to the points (the spline's partials);
* 10^7 points evaluated locally (TensorSpline.__call__) and by
  bsfit.dask.evaluate on a LocalCluster of 2 worker processes (1 thread
  each), points already on the workers, results gathered;
* 64 tables fitted locally (Fitter.fit in a loop) and by bsfit.dask.fit_many
  on that cluster (tables made on the workers, coefficients gathered).
"""

import time

import dask.array as da
import distributed
import jax
import jax.numpy as jnp
import numpy as np
import torch

import bsfit
import bsfit.dask
import bsfit.jax
import bsfit.torch

jax.config.update("jax_enable_x64", True)


def median_time(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    rng = np.random.default_rng(0)
    shape = (50, 30, 20, 10)
    axes = tuple(np.sort(rng.uniform(0.0, 1.0, n)) for n in shape)
    table = rng.normal(size=shape)
    fitter = bsfit.Fitter(axes)
    spline = fitter.fit(table)
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    xi = lo + rng.uniform(size=(100_000, 4)) * (hi - lo)
    g = rng.normal(size=100_000)
    print("4D 50x30x20x10, 100,000 points")
    t = median_time(lambda: fitter.data_vjp(xi, g))
    print(f"  Fitter.data_vjp (table gradient)          {t * 1e3:8.2f} ms")
    t = median_time(lambda: (fitter.fit(table), spline(xi)))
    print(f"  fit + evaluate (the forward pass)         {t * 1e3:8.2f} ms")

    jt, jx, jg = jnp.asarray(table), jnp.asarray(xi), jnp.asarray(g)
    loss = jax.jit(
        jax.value_and_grad(
            lambda t, p: jnp.sum(jg * bsfit.jax.interpolate(axes, t, p)), argnums=(0, 1)
        )
    )
    t = median_time(lambda: jax.block_until_ready(loss(jt, jx)))
    print(f"  jax jit(value_and_grad) table + points    {t * 1e3:8.2f} ms")

    tt = torch.tensor(table, requires_grad=True)
    tx = torch.tensor(xi, requires_grad=True)
    tg = torch.tensor(g)

    def torch_step():
        tt.grad = tx.grad = None
        (tg * bsfit.torch.interpolate(axes, tt, tx)).sum().backward()

    t = median_time(torch_step)
    print(f"  torch forward + backward table + points   {t * 1e3:8.2f} ms")

    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster, distributed.Client(cluster):
        big = (lo + da.random.default_rng(1).uniform(size=(10**7, 4), chunks=(10**6, 4)) * (hi - lo)).persist()
        distributed.wait(big)
        local = big.compute()
        print("10^7 points, LocalCluster of 2 worker processes")
        t = median_time(lambda: spline(local), 3)
        print(f"  local TensorSpline(xi)                    {t:8.3f} s  ({1e7 / t / 1e6:.1f} M/s)")
        t = median_time(lambda: bsfit.dask.evaluate(spline, big).compute(), 3)
        print(f"  bsfit.dask.evaluate(...).compute()        {t:8.3f} s  ({1e7 / t / 1e6:.1f} M/s)")
        tables = da.random.default_rng(2).normal(size=(64,) + shape, chunks=(8,) + shape).persist()
        distributed.wait(tables)
        tl = tables.compute()
        t = median_time(lambda: [fitter.fit(x) for x in tl], 3)
        print(f"  64 fits locally                           {t:8.3f} s")
        t = median_time(lambda: bsfit.dask.fit_many(axes, tables).compute(), 3)
        print(f"  bsfit.dask.fit_many(...).compute()        {t:8.3f} s")


if __name__ == "__main__":
    main()
