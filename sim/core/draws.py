"""Random draws inside compiled code, from the model's named numpy streams.

Data flow: ``Streams.handle(name)`` gives a compiled kernel a ``(function, state)`` pair of
addresses for one named stream; the kernel calls ``uniform(handle)`` and the samplers below,
which advance that very ``numpy.random.Generator``. So the draws stay on the stream they belong
to (common random numbers, one seed), and a kernel can draw what it needs where it needs it,
instead of the caller drawing arrays of random numbers beforehand with numpy.

Why hand-written: numba can take a numpy ``Generator`` as an argument, but unboxing it costs
about 12 microseconds per call, and numpy's own samplers cost a fixed 10-20 microseconds per
call (about 100 ns per element with an array of rates), which is most of a small model's day.
Here a draw steps numpy's PCG64 inline (the same 128-bit arithmetic as numpy's C code, on
the generator's own state, found through the address numpy publishes in
``bit_generator.ctypes``), or, for other bit generators, calls their C function ``next_double``
through its address; the addresses are plain integers (so kernels stay cacheable), and the
uniforms are bit-identical to ``Generator.random``'s.
The samplers for other distributions are textbook algorithms (cited per function); they are
exact in distribution but do not reproduce numpy's draws number for number.

Numba compiles these functions into the kernels that call them, and its cache checks only the
kernel's own file: after a change here, delete ``sim/__pycache__/*.nbi`` and ``*.nbc``.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# numpy's ziggurat tables for exponentials (numpy/random/src/distributions/ziggurat_constants.h),
# as numba copies them for its own ``Generator``: ``numpy_exponential_ok`` checks them against
# numpy. A private numba module: if a numba release moves it, the tables stay empty placeholders,
# the check fails and callers draw with numpy (the same numbers, slower).
try:
    from numba.np.random import _constants as _zc

    _KE_DOUBLE = np.asarray(_zc.ke_double).astype(np.uint64)
    _WE_DOUBLE = np.asarray(_zc.we_double, dtype=np.float64)
    _FE_DOUBLE = np.asarray(_zc.fe_double, dtype=np.float64)
    _ZIGGURAT_EXP_R = float(_zc.ziggurat_exp_r)
    _TABLES_OK = len(_KE_DOUBLE) == len(_WE_DOUBLE) == len(_FE_DOUBLE) == 256
except (ImportError, AttributeError):  # pragma: no cover - depends on the numba release
    _KE_DOUBLE = np.zeros(256, np.uint64)
    _WE_DOUBLE = _FE_DOUBLE = np.zeros(256)
    _ZIGGURAT_EXP_R, _TABLES_OK = 0.0, False

Handle = tuple[int, int]  # (address of next_double, or 0 for inline PCG64; address of the state)

# PCG64's multiplier (numpy/random/src/pcg64: PCG_DEFAULT_MULTIPLIER_128)
_PCG64_MULT = (2549297995355413924 << 64) + 4865540595714422341


def handle(gen: np.random.Generator) -> Handle:
    """The addresses compiled code needs to draw from ``gen`` (valid while ``gen`` lives).

    For numpy's ``PCG64`` (every stream of ``sim.core.rng``) the first address is 0: compiled code
    then advances the generator inline (``_pcg64_next_double``), about three times faster than
    calling numpy's function through its address, with the same numbers. Any other bit
    generator, or a numpy whose PCG64 state is laid out differently (checked once), is called.
    """
    c = gen.bit_generator.ctypes
    if type(gen.bit_generator) is np.random.PCG64 and _inline_pcg64_ok():
        return (0, int(c.state_address))
    fn = ctypes.cast(c.next_double, ctypes.c_void_p).value
    assert fn is not None
    return (fn, int(c.state_address))


_INLINE_OK: list[bool] = []


def _inline_pcg64_ok() -> bool:
    """Whether the inline PCG64 step reproduces numpy's draws here (checked once per process)."""
    if not _INLINE_OK:
        probe, ref = (np.random.Generator(np.random.PCG64(20140629)) for _ in range(2))
        ref.random(3)  # (advance the reference past a state with an uneven history)
        probe.random(3)
        got = uniforms((0, int(probe.bit_generator.ctypes.state_address)), 64)  # (0: inline)
        _INLINE_OK.append(bool(np.array_equal(got, ref.random(64))))
    return _INLINE_OK[0]


def _pcg64_step(builder, address):  # type: ignore[no-untyped-def]
    """LLVM code for one step of numpy's ``PCG64`` at the address of its ``pcg64_state``; the
    64-bit output (``next_uint64``).

    That struct starts with a pointer to ``{uint128 state; uint128 inc}`` (native 128-bit
    integers on 64-bit gcc/clang builds; ``_inline_pcg64_ok`` checks). One step: ``state =
    state * MULT + inc``; output XSL-RR, ``rotr64(high ^ low, state >> 122)``.
    """
    i64, i128 = ir.IntType(64), ir.IntType(128)
    rng_ptr = builder.load(builder.inttoptr(address, i128.as_pointer().as_pointer()))
    inc_ptr = builder.gep(rng_ptr, [ir.Constant(ir.IntType(32), 1)])
    st = builder.load(rng_ptr, align=8)
    st = builder.mul(st, ir.Constant(i128, _PCG64_MULT))
    st = builder.add(st, builder.load(inc_ptr, align=8))
    builder.store(st, rng_ptr, align=8)
    high = builder.trunc(builder.lshr(st, ir.Constant(i128, 64)), i64)
    x = builder.xor(high, builder.trunc(st, i64))
    rot = builder.trunc(builder.lshr(st, ir.Constant(i128, 122)), i64)
    back = builder.and_(builder.sub(ir.Constant(i64, 0), rot), ir.Constant(i64, 63))
    return builder.or_(builder.lshr(x, rot), builder.shl(x, back))


@intrinsic
def _pcg64_next_double(typingctx, state):  # type: ignore[no-untyped-def]
    """numpy's ``PCG64`` ``next_double``, inline, for the address of its ``pcg64_state``: the
    top 53 bits of a step's output (``_pcg64_step``) times 2**-53."""
    sig = types.float64(types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        out = _pcg64_step(builder, args[0])
        top = builder.uitofp(builder.lshr(out, ir.Constant(ir.IntType(64), 11)), ir.DoubleType())
        return builder.fmul(top, ir.Constant(ir.DoubleType(), 1.0 / 9007199254740992.0))

    return sig, codegen


@intrinsic
def _pcg64_next_uint64(typingctx, state):  # type: ignore[no-untyped-def]
    """numpy's ``PCG64`` ``next_uint64``, inline, for the address of its ``pcg64_state``."""
    sig = types.uint64(types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return _pcg64_step(builder, args[0])

    return sig, codegen


@intrinsic
def _call_next_double(typingctx, fn, state):  # type: ignore[no-untyped-def]
    """``fn(state)`` for the integer addresses of a C ``double (*)(void *)`` and its state."""
    sig = types.float64(types.intp, types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        void_p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.DoubleType(), [void_p])
        f = builder.inttoptr(args[0], fnty.as_pointer())
        return builder.call(f, [builder.inttoptr(args[1], void_p)])

    return sig, codegen


@njit(cache=True, inline="always")
def uniform(h):  # pragma: no cover - compiled
    """A uniform number on [0, 1), the next of ``Generator.random`` on the same stream."""
    if h[0] == 0:  # (the same branch every call: predicted)
        return _pcg64_next_double(h[1])
    return _call_next_double(h[0], h[1])


@njit(cache=True, inline="always")
def exponential(h):  # pragma: no cover - compiled
    """A standard exponential number (inversion)."""
    return -math.log1p(-uniform(h))


@njit(cache=True)
def numpy_exponential(h):  # pragma: no cover - compiled
    """A standard exponential number, the next of ``Generator.exponential()`` /
    ``standard_exponential()`` on the same stream: numpy's own ziggurat
    (``random_standard_exponential`` in numpy/random/src/distributions, with its tables as numba
    ships them for its own ``Generator``). Only for inline ``PCG64`` handles (``h[0] == 0``) and
    where ``numpy_exponential_ok()``: the caller checks both, else draws with numpy."""
    while True:
        ri = _pcg64_next_uint64(h[1]) >> np.uint64(3)
        idx = ri & np.uint64(0xFF)
        ri >>= np.uint64(8)
        x = ri * _WE_DOUBLE[idx]
        if ri < _KE_DOUBLE[idx]:
            return x
        if idx == 0:
            return _ZIGGURAT_EXP_R - math.log1p(-_pcg64_next_double(h[1]))
        lower, upper = _FE_DOUBLE[idx], _FE_DOUBLE[idx - np.uint64(1)]
        if (upper - lower) * _pcg64_next_double(h[1]) + lower < math.exp(-x):
            return x


@njit(cache=True)
def numpy_exponentials(h, n):  # pragma: no cover - compiled
    """``n`` of ``numpy_exponential`` (for the check and tests)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = numpy_exponential(h)
    return out


_EXP_OK: list[bool] = []


def numpy_exponential_ok() -> bool:
    """Whether ``numpy_exponential`` reproduces numpy's ``standard_exponential`` here, the
    ziggurat's rare paths included (200,000 draws, checked once per process)."""
    if not _EXP_OK:
        probe, ref = (np.random.Generator(np.random.PCG64(20140629)) for _ in range(2))
        ok = _TABLES_OK and _inline_pcg64_ok()
        if ok:
            got = numpy_exponentials((0, int(probe.bit_generator.ctypes.state_address)), 200_000)
            ok = bool(np.array_equal(got, ref.standard_exponential(200_000)))
            ok = ok and probe.bit_generator.state == ref.bit_generator.state
        _EXP_OK.append(ok)
    return _EXP_OK[0]


@njit(cache=True)
def _normal(h):  # pragma: no cover - compiled
    """A standard normal number (Marsaglia's polar method; the second value is dropped)."""
    while True:
        x = 2.0 * uniform(h) - 1.0
        y = 2.0 * uniform(h) - 1.0
        s = x * x + y * y
        if 0.0 < s < 1.0:
            return x * math.sqrt(-2.0 * math.log(s) / s)


@njit(cache=True)
def gamma(h, shape):  # pragma: no cover - compiled
    """A Gamma(shape, 1) number: Marsaglia and Tsang (2000), "A simple method for generating
    gamma variables", with ``G(a) = G(a + 1) * U**(1/a)`` for shapes below 1; exponential for
    shape 1."""
    if shape == 1.0:
        return exponential(h)
    boost = 1.0
    a = shape
    if a < 1.0:
        boost = uniform(h) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = _normal(h)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(h)
        if u < 1.0 - 0.0331 * x * x * x * x:
            return d * v * boost
        if math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v * boost


@njit(cache=True)
def poisson(h, lam):  # pragma: no cover - compiled
    """A Poisson(lam) count. Below 10: multiplication of uniforms (Knuth). From 10 on: the
    transformed rejection with squeeze of Hoermann (1993), "The transformed rejection method
    for generating Poisson random variables" (PTRS), about two uniforms per draw."""
    if not lam > 0.0:  # (also NaN: no draw)
        return 0
    if lam < 10.0:
        limit = math.exp(-lam)
        k = 0
        prod = uniform(h)
        while prod > limit:
            k += 1
            prod *= uniform(h)
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(h) - 0.5
        v = uniform(h)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return np.int64(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v * inv_alpha / (a / (us * us) + b)) <= -lam + k * loglam - math.lgamma(
            k + 1.0
        ):
            return np.int64(k)


@njit(cache=True)
def uniforms(h, n):  # pragma: no cover - compiled
    """``n`` uniforms (for tests: the same numbers as ``Generator.random(n)``)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(h)
    return out


@njit(cache=True)
def poissons(h, lam):  # pragma: no cover - compiled
    """A Poisson count per rate in ``lam`` (for tests and small callers)."""
    out = np.empty(len(lam), np.int64)
    for i in range(len(lam)):
        out[i] = poisson(h, lam[i])
    return out


@njit(cache=True)
def gammas(h, shape, n):  # pragma: no cover - compiled
    """``n`` Gamma(shape, 1) numbers (for tests)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = gamma(h, shape)
    return out
