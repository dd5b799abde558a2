"""Benchmark of nnlib.precision / nnlib.gradients against native float32 and peer libraries.

Run:  python benchmarks/bench_precision.py   (prints a markdown report, writes benchmarks/results/precision.md)

Everything is measured in one run, so every ratio uses the native-float32 time of this run. Times are
the best of N repeats after a warm-up (time.perf_counter). Optional peers (pychop, qtorch, gfloat,
python-flint) are used if importable and skipped with a message otherwise (benchmarks/requirements.txt).
"""
from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nnlib import ReLUNetwork  # noqa: E402
from nnlib.gradients import _backprop_numpy, reference_gradient  # noqa: E402
from nnlib.precision import BFLOAT16, FLOAT8_E4M3, FLOAT8_E5M2, FLOAT16, Format, round_to, simulated  # noqa: E402
from nnlib.precision import _torch_module  # noqa: E402

from _timing import round_robin

OUT = Path(__file__).resolve().parent / "results" / "precision.md"
WIDTH, HIDDEN, BATCH = 32, 9, 1000
E6M9, E4M3 = Format(6, 9), Format(4, 3)
FP32 = "native float32 (no rounding)"
lines: list[str] = []


def say(text=""):
    print(text, flush=True)
    lines.append(text)


def best_of(fn, repeats=20, warmup=3):
    return round_robin([fn], repeats, warmup)[0]


def optional(name, importer):
    try:
        return importer()
    except Exception as exc:  # noqa: BLE001 -- any failure means "skip this peer"
        say(f"* skipped {name}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        return None


# ----------------------------------------------------------------------------- the MLP
def make_mlp():
    torch.manual_seed(0)
    layers = [torch.nn.Linear(1, WIDTH), torch.nn.ReLU()]
    for _ in range(HIDDEN - 1):
        layers += [torch.nn.Linear(WIDTH, WIDTH), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(WIDTH, 1))   # 10 affine layers


def rounded_forward(module, q):
    """The reference structure for peers: q on input, weights, biases and every pre-activation."""
    def forward(x):
        h = q(x)
        for layer in module:
            if isinstance(layer, torch.nn.Linear):
                h = q(torch.nn.functional.linear(h, q(layer.weight), q(layer.bias)))
            else:
                h = torch.relu(h)
        return h
    return forward


def function_q(rounder):
    """autograd.Function rounding forward and backward with a plain function (for casts and peers)."""
    class Q(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return rounder(x)

        @staticmethod
        def backward(ctx, g):
            return rounder(g)
    return Q.apply


def step_timer(module, forward, x, y):
    def step():
        for p in module.parameters():
            p.grad = None
        torch.nn.functional.mse_loss(forward(x), y).backward()
    return step


def grad_error(module, forward, x, y, g64):
    step_timer(module, forward, x, y)()
    g = torch.cat([p.grad.reshape(-1).double() for p in module.parameters()]).numpy()
    return np.linalg.norm(g - g64) / np.linalg.norm(g64)


def mlp_section(peers):
    say("## 1. Simulated precision: MLP 1→32×9→1 (10 affine layers), batch 1000, forward + backward")
    say()
    module = make_mlp()
    x = torch.linspace(-1, 1, BATCH).reshape(-1, 1)
    y = torch.sin(6 * x)
    # float64 reference gradient, ordered like module.parameters() (weight, bias per layer)
    net = ReLUNetwork.from_torch(module)
    ref = reference_gradient(net, x.double().numpy(), y.double().numpy())
    g64 = np.concatenate([a.reshape(-1) for pair in ref for a in pair])

    rows = []   # (label, forward, target text, limit, baseline label); FP32 baseline = native float32

    def add(label, forward, limit=None, vs=None):
        target = None if limit is None else f"≤ {limit:g}× {'fp32' if vs == FP32 else 'plain cast'}"
        rows.append((label, forward, target, limit, vs))

    add(FP32, module)
    for fmt, dtype in [(FLOAT16, torch.float16), (BFLOAT16, torch.bfloat16), (FLOAT8_E5M2, torch.float8_e5m2),
                       (FLOAT8_E4M3, torch.float8_e4m3fn)]:
        plain = f"{fmt}: plain torch-cast Q (hand-written)"
        add(plain, rounded_forward(module, function_q(lambda t, d=dtype: t.to(d).to(t.dtype))))
        add(f"{fmt}: **nnlib `simulated`**", simulated(module, fmt), 1.2, plain)
    own16 = _torch_module()(module, FLOAT16, False, None,
                            rounder=lambda t: round_to(t, Format(5, 10), method="own"))
    add("float16 via nnlib float64 kernel (forced)", own16, 8, FP32)
    for fmt, seed in ((E6M9, 0), (E4M3, 1), (FLOAT16, 2)):
        add(f"{fmt} RN: **nnlib `simulated`**", simulated(module, fmt), 8, FP32)
        add(f"{fmt} SR: **nnlib `simulated`**", simulated(module, fmt, True, torch.Generator().manual_seed(seed)),
            12, FP32)
    if peers.get("pychop"):
        Chop = peers["pychop"].Chop
        for fmt, mode, name in ((FLOAT16, 1, "RN"), (FLOAT16, 5, "SR"), (E6M9, 1, "RN")):
            q = function_q(Chop(fmt.exp_bits, fmt.man_bits, rmode=mode))
            add(f"{fmt} {name}: pychop `Chop(rmode={mode})`", rounded_forward(module, q))
    if peers.get("qtorch"):
        quant, FloatingPoint = peers["qtorch"]
        fp = FloatingPoint(exp=5, man=10)
        for mode in ("nearest", "stochastic"):
            q = quant.quantizer(forward_number=fp, backward_number=fp, forward_rounding=mode, backward_rounding=mode)
            add(f"float16 {mode}: qtorch `quantizer` (not IEEE: ties away, no inf)", rounded_forward(module, q))

    best = round_robin([step_timer(module, fwd, x, y) for _, fwd, *_ in rows], repeats=50)
    times = {label: t for (label, *_), t in zip(rows, best)}
    fp32 = times[FP32]
    say("| variant | fwd+bwd ms (best of 50) | × native fp32 | × baseline | target | met? | rel. grad error vs float64 |")
    say("|---|---|---|---|---|---|---|")
    for label, fwd, target, limit, vs in rows:
        t, err = times[label], grad_error(module, fwd, x, y, g64)
        ratio = "" if vs is None else f"{t / times[vs]:.2f}×"
        met = "" if limit is None else ("yes" if t / times[vs] <= limit else "**NO**")
        say(f"| {label} | {t * 1e3:.2f} | {t / fp32:.2f}× | {ratio} | {target or ''} | {met} | {err:.1e} |")
    say()


# ----------------------------------------------------------------------------- rounding kernel
def kernel_section(peers):
    say("## 2. Rounding kernel alone: 2^20 float32 values (normal·100), out-of-place")
    say()
    n = 1 << 20
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, generator=g) * 100
    xn = x.numpy()
    rng = np.random.default_rng(0)
    rows = [
        ("torch clone (memory floor)", lambda: x.clone(), None),
        ("float16: torch cast round trip (nnlib `round_to` auto)", lambda: round_to(x, FLOAT16), None),
        ("e6m9 RN: nnlib float64 kernel, tensor", lambda: round_to(x, E6M9), 3.0),
        ("e4m3 (IEEE-style) RN: nnlib float64 kernel, tensor", lambda: round_to(x, E4M3), 3.0),
        ("float16 RN: nnlib float64 kernel forced, tensor", lambda: round_to(x, FLOAT16, method="own"), 3.0),
        ("e6m9 RN: nnlib float64 kernel, numpy", lambda: round_to(xn, E6M9), 3.0),
        ("e6m9 SR: nnlib, tensor (torch.rand ≈ 2 ns of it)", lambda: round_to(x, E6M9, True, g), None),
        ("e6m9 SR: nnlib, numpy", lambda: round_to(xn, E6M9, True, rng), None),
    ]
    if peers.get("gfloat"):
        gf, info = peers["gfloat"]
        rows.append(("e6m9 RN: gfloat `round_ndarray` (test oracle)", lambda: gf.round_ndarray(info, xn), None))
    if peers.get("pychop"):
        Chop = peers["pychop"].Chop
        c1, c5 = Chop(6, 9, rmode=1), Chop(6, 9, rmode=5)
        rows += [("e6m9 RN: pychop (torch backend)", lambda: c1(x), None),
                 ("e6m9 SR: pychop (torch backend)", lambda: c5(x), None)]
    if peers.get("qtorch"):
        from qtorch.quant import float_quantize
        rows += [("e6m9 nearest: qtorch `float_quantize`", lambda: float_quantize(x, 6, 9, "nearest"), None),
                 ("e6m9 stochastic: qtorch `float_quantize`", lambda: float_quantize(x, 6, 9, "stochastic"), None)]
    say("| method | ms per call | ns per element | target | met? |")
    say("|---|---|---|---|---|")
    best = round_robin([fn for _, fn, _ in rows], repeats=30, warmup=2)
    for (label, fn, target), t in zip(rows, best):
        ns = t / n * 1e9
        met = "" if target is None else ("yes" if ns <= target else "**NO**")
        say(f"| {label} | {t * 1e3:.2f} | {ns:.2f} | {'' if target is None else f'≤ {target:g} ns'} | {met} |")
    say()


# ----------------------------------------------------------------------------- exact reference
def reference_section(peers):
    batch = 128
    say(f"## 3. Reference gradient of the same MLP, batch {batch} (weights = the float32 init, taken exactly)")
    say()
    module = make_mlp()
    net = ReLUNetwork.from_torch(module)
    x = np.linspace(-1, 1, batch).reshape(-1, 1)
    y = np.sin(6 * x)
    t64 = best_of(lambda: reference_gradient(net, x, y), repeats=20)
    results = {"float64": (t64, reference_gradient(net, x, y))}
    if peers.get("flint"):
        t = best_of(lambda: reference_gradient(net, x, y, exact=True, backend="flint"), repeats=5, warmup=1)
        label = "python-flint fmpz_mat on dyadic numerators (exact)"
        results[label] = (t, reference_gradient(net, x, y, exact=True, backend="flint"))
    t0 = time.perf_counter()
    frac = reference_gradient(net, x, y, exact=True, backend="fraction")
    results["fractions.Fraction object arrays (exact)"] = (time.perf_counter() - t0, frac)

    import mpmath
    mpmath.mp.dps = 50
    to_mp = np.vectorize(mpmath.mpf, otypes=[object])
    layers = [(to_mp(A), to_mp(b)) for A, b in net.layers]
    t0 = time.perf_counter()
    mp_grads = _backprop_numpy(layers, to_mp(x), to_mp(y), mpmath.mpf(2) / (batch * 1), mpmath.mpf(0))
    results["mpmath mpf, dps=50, object arrays"] = (time.perf_counter() - t0, mp_grads)

    exact = [np.concatenate([np.asarray(a, dtype=object).reshape(-1) for a in pair]) for pair in frac]
    exact_f = np.concatenate([e.astype(float) for e in exact])
    t_mp = results["mpmath mpf, dps=50, object arrays"][0]
    say("| method | time | mpmath ÷ this | max abs error / max abs (vs exact) | target |")
    say("|---|---|---|---|---|")
    for label, (t, grads) in results.items():
        flat = np.concatenate([np.concatenate([np.asarray(a, dtype=object).reshape(-1) for a in pair]) for pair in grads])
        if "exact" in label:
            same = all(a == b for a, b in zip(flat, np.concatenate(exact)))
            err = "0 (identical Fractions)" if same else "**differs from Fraction result**"
        else:
            err = f"{np.max(np.abs(flat.astype(float) - exact_f)) / np.max(np.abs(exact_f)):.1e}"
        target = ""
        if "flint" in label:
            target = "≥ 30× faster than mpmath: " + ("yes" if t_mp / t >= 30 else "**NO**")
        say(f"| {label} | {t * 1e3:.1f} ms | {t_mp / t:.0f}× | {err} | {target} |")
    say()


def main():
    torch.manual_seed(0)
    say("# nnlib.precision benchmark")
    say()
    say(f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), numpy {np.__version__}. Best-of-N wall times after warm-up; "
        f"run-to-run noise is about ±20 %. Load average at start: {os.getloadavg()[0]:.1f} "
        "(other jobs on the 2 cores inflate every time; the ratios are measured round-robin).")
    say()
    peers = {}

    def import_pychop():
        import pychop
        pychop.backend("torch")
        return pychop

    def import_qtorch():
        from qtorch import FloatingPoint
        from qtorch import quant
        return quant, FloatingPoint

    def import_gfloat():
        import gfloat
        from gfloat.types import Domain, FormatInfo
        info = FormatInfo("e6m9", k=16, precision=10, bias=31, is_signed=True, domain=Domain.Extended, has_nz=True,
                          num_high_nans=2 ** 9 - 1, has_subnormals=True, is_twos_complement=False)
        return gfloat, info

    def import_flint():
        import flint
        return flint

    peers["pychop"] = optional("pychop", import_pychop)
    peers["qtorch"] = optional("qtorch (JIT-compiles C++ at first import)", import_qtorch)
    peers["gfloat"] = optional("gfloat", import_gfloat)
    peers["flint"] = optional("python-flint", import_flint)
    say()
    mlp_section(peers)
    kernel_section(peers)
    reference_section(peers)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
