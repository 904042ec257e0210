"""ABC-SMC calibration of the free parameters (priors) to the public record (targets), with pyabc.

Data flow::

    calibration/priors.yaml, calibration/targets.yaml (sim.analysis.problem)
    + base scenario (scenarios/baseline.yaml at a reduced --scale, as a plain dict)
      -> pyabc.ABCSMC: prior -> SimulateTargets (one model run -> each target's simulated value)
         -> TargetDistance (largest excess over a target's level or range, in tolerances)
      -> history database results/calibration/<id>/abc.db (one row set per generation; resumable)
      -> posterior.parquet (parameters in scenario units + weights)
      -> calibration/calibrated.yaml (the parameters of the best-fitting accepted particle:
         a point the posterior supports, not per-parameter medians; dated values as
         ``timeline_changes`` of their named entries), which scenarios/baseline.yaml lays
         over its own values (``overlay:``), and calibration/posterior.csv beside it (the
         particles with weights, distances and target values, which `propsim compare
         --posterior K` draws from; shipped as package data with the overlay).

The distance is the largest excess over all targets, so a particle within epsilon <= 1 meets
every target. Log-uniform priors are sampled on the log10 scale (the transition kernel then moves
in orders of magnitude); ``to_scenario_units`` converts back. Every simulation draws its seed from
numpy's global generator, which pyabc's samplers seed per worker process. The simulations run
where the command's executor runs (``sim.execution.executors``: ``make_sampler(executor)``).
The folder: ``create_folder`` makes it, ``run_abc`` holds its lock, ``finish`` writes its
``manifest.json`` (``sim.io.folders``), which marks it finished.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from sim.analysis.problem import Prior, Target, load_priors, load_targets, prior_lines
from sim.config import keys
from sim.config.loader import CHANGES_KEY
from sim.config.names import check_name
from sim.errors import Problem, ScenarioError
from sim.execution.executors import Executor, make_executor
from sim.execution.progress import PREFIX, Progress
from sim.io import folders
from sim.scenario import Scenario, load_scenario

DB_NAME = "abc.db"
SETUP_NAME = "setup.json"
POSTERIOR_NAME = "posterior.parquet"
PARTICLES_NAME = "particles.parquet"  # the posterior with each particle's distance and targets
GENERATIONS_NAME = "generations.csv"
POSTERIOR_CSV = "posterior.csv"  # written beside the overlay (calibration/posterior.csv)


# --- parameters ----------------------------------------------------------------------------


def to_sample_space(prior: Prior) -> tuple[float, float]:
    """The prior's range on the scale pyabc samples (log10 for log-uniform priors)."""
    if prior.scale == "log":
        return math.log10(prior.low), math.log10(prior.high)
    return prior.low, prior.high


def to_scenario_units(priors: Mapping[str, Prior], sample: Mapping[str, float]) -> dict:
    """A pyabc parameter sample in scenario units (undoing the log10 of log priors)."""
    return {
        k: 10.0 ** float(sample[k]) if p.scale == "log" else float(sample[k])
        for k, p in priors.items()
    }


def with_parameters(base: Mapping[str, Any], values: Mapping[str, float]) -> Scenario:
    """The base scenario (a ``Scenario.model_dump()``) with ``values`` at their dotted keys."""
    tree = copy.deepcopy(dict(base))
    for key, value in values.items():
        keys.set(tree, key, value)
    return Scenario.model_validate(tree)


TIMELINE_PREFIX = "timeline."


def check_priors(base: Mapping[str, Any], priors: Mapping[str, Prior], file: str) -> None:
    """Every prior names a scenario key and both ends of its range give a valid scenario; a
    dated value is addressed by its timeline entry's name (the overlay changes it by name)."""
    problems = []
    lines = prior_lines(file) if Path(file).is_file() else {}
    names = {e.get("name") for e in base.get("timeline", []) if isinstance(e, Mapping)}
    for key, prior in priors.items():
        line = lines.get(key)
        if key.startswith(TIMELINE_PREFIX):
            name = key[len(TIMELINE_PREFIX) :].split(".")[0]
            if name not in names or name.isdigit():
                problems.append(
                    Problem(
                        "a dated value is a free parameter by the name of its timeline entry "
                        f"(timeline.<name>.values.<key>); the base scenario has no entry named "
                        f"{name!r}",
                        file,
                        line,
                        key,
                    )
                )
                continue
        for end in (prior.low, prior.high):
            try:
                with_parameters(base, {key: end})
            except (KeyError, TypeError):
                problems.append(Problem("not a key of the scenario", file, line, key))
                break
            except ValidationError as err:
                why = "; ".join(e["msg"] for e in err.errors())
                problems.append(
                    Problem(f"{end:g} gives an invalid scenario: {why}", file, None, key)
                )
                break
    if problems:
        raise ScenarioError(problems)


# --- model and distance (picklable, for process pools and Dask) -----------------------------


@dataclass(frozen=True)
class SimulateTargets:
    """pyabc model: one run of the base scenario with the sampled parameters -> target values."""

    base: dict
    priors: dict[str, Prior]
    targets: tuple[Target, ...]

    def scenario(self, sample: Mapping[str, float]) -> Scenario:
        return with_parameters(self.base, to_scenario_units(self.priors, sample))

    def __call__(self, sample: Mapping[str, float]) -> dict[str, float]:
        from sim.core.model import simulate  # imported in the worker, not by the CLI at start-up
        from sim.execution import stop
        from sim.execution.pool import end_with_parent

        stop.check()  # (pyabc's samplers run the simulations, not an executor)
        end_with_parent()  # a worker of pyabc's multicore sampler ends with the command
        sc = self.scenario(sample)
        seed = int(np.random.randint(0, 2**31 - 1))  # pyabc seeds numpy in each worker
        daily = simulate(sc, seed)
        platform = sc.platform_names("open")[0]
        return {t.id: t.simulate(daily, platform) for t in self.targets}


@dataclass(frozen=True)
class TargetDistance:
    """pyabc distance: the largest excess of a target over its level or range, in tolerances,
    over the targets that are fitted (``fit: false`` ones are simulated and reported only).

    The observation lives in the targets themselves (levels, ranges, bounds), so ``x0`` only
    names them.
    """

    targets: tuple[Target, ...]

    def __call__(self, x: Mapping[str, float], x0: Mapping[str, float] | None = None) -> float:
        return max(t.excess(float(x[t.id])) for t in self.targets if t.fit)


def observed_summary(targets: Sequence[Target]) -> dict[str, float]:
    """The observation as pyabc stores it: each target's level or nearest finite bound."""
    return {t.id: next(b for b in t.bounds if math.isfinite(b)) for t in targets}


# --- the run -------------------------------------------------------------------------------


@dataclass
class Setup:
    """Everything that defines a calibration; stored as setup.json for ``--resume``."""

    scenario: str = "scenarios/baseline.yaml"
    overrides: list[str] = field(default_factory=list)
    scale: float = 100.0
    targets: str = "calibration/targets.yaml"
    priors: str = "calibration/priors.yaml"
    particles: int = 160
    generations: int = 20
    minutes: float = 60.0
    min_epsilon: float = 1.0  # every accepted particle meets every fitted target
    seed: int | None = None  # seeds the proposals and the runs' seeds (reproducible on 1 worker)
    kernel: str = "per-parameter"  # the proposal kernel: one of KERNELS
    bandwidth: float = 0.5  # each kernel's variance, times Silverman's rule
    command: str = ""
    created: str = ""
    # each ``--resume``: the generation it went on from, its command, and the particles and
    # bandwidth it asked for (those above are the last asked for)
    resumes: list[dict] = field(default_factory=list)

    def save(self, folder: Path) -> None:
        write_atomic(folder / SETUP_NAME, json.dumps(asdict(self), indent=2) + "\n")

    def resume_with(
        self,
        command: str,
        particles: int | None = None,
        bandwidth: float | None = None,
        generations: int | None = None,
        minutes: float | None = None,
    ) -> None:
        """Take what a ``--resume`` asks for (``None``: as before) and note the resume; its
        generation is set when the history is loaded (``_run``)."""
        self.resumes.append(
            {
                "from_generation": None,
                "command": command,
                "particles": particles or self.particles,
                "bandwidth": bandwidth or self.bandwidth,
                "bandwidth_before": self.bandwidth,
            }
        )
        self.particles = particles or self.particles
        self.bandwidth = bandwidth or self.bandwidth
        self.generations = generations or self.generations
        self.minutes = minutes or self.minutes

    def as_of(self, last: int) -> Setup:
        """The setup as the history up to generation ``last`` was made: without the resumes
        that have not finished a generation yet (one under way in another process, or one
        stopped before its first), whose particles and bandwidth no stored generation used.
        For what the overlay, manifest and fit report say (``--report-only`` while a resume
        runs)."""
        kept = [
            r
            for r in self.resumes
            if r["from_generation"] is not None and r["from_generation"] <= last
        ]
        if len(kept) == len(self.resumes):
            return self
        first = float(self.resumes[0]["bandwidth_before"])
        return replace(
            self,
            resumes=kept,
            particles=int(kept[-1]["particles"]) if kept else self.particles,
            bandwidth=float(kept[-1]["bandwidth"]) if kept else first,
        )

    def commands(self) -> list[str]:
        """The commands that made the history: the first, then each resume's."""
        return [self.command, *(str(r["command"]) for r in self.resumes)]

    def bandwidth_text(self) -> str:
        """The kernels' bandwidth as the fit report says it: "0.5", or "1 (0.5 from generation
        6)" when a resumed run changed it (generations counted from 0, as pyabc's ``t``)."""
        first = float(self.resumes[0]["bandwidth_before"]) if self.resumes else self.bandwidth
        before, changes = first, []
        for r in self.resumes:
            if r["bandwidth"] != before and r["from_generation"] is not None:
                changes.append(f"{r['bandwidth']:g} from generation {r['from_generation']}")
                before = r["bandwidth"]
        return f"{first:g}" + (f" ({', '.join(changes)})" if changes else "")

    @classmethod
    def load(cls, folder: Path) -> Setup:
        """The setup saved in ``folder``; ``BadInput`` naming the file if it is damaged."""
        from dataclasses import fields

        from sim.errors import BadInput

        path = folder / SETUP_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            defaults = cls()
            for f in fields(cls):  # each value of its field's type (a float may be whole)
                if f.name not in data:
                    continue
                want = type(getattr(defaults, f.name))
                value = data[f.name]
                ok = isinstance(value, want) or (want is float and isinstance(value, int))
                if f.name == "seed":
                    ok = value is None or (isinstance(value, int) and value >= 0)
                if not ok or isinstance(value, bool):
                    raise ValueError(f"{f.name}: {value!r} is not a {want.__name__}")
            data.setdefault("kernel", "joint")  # a setup saved before the choice used pyabc's
            data.setdefault("bandwidth", 1.0)  # kernel, at Silverman's rule
            if not (isinstance(data["bandwidth"], int | float) and data["bandwidth"] > 0):
                raise ValueError(f"bandwidth: {data['bandwidth']!r} is not a positive number")
            _check_resumes(data.setdefault("resumes", []))
            if data["kernel"] not in KERNELS:
                raise ValueError(f"kernel: {data['kernel']!r} is not one of {', '.join(KERNELS)}")
            return cls(**data)
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as err:
            raise BadInput(
                f"{path}: the calibration's setup is damaged ({err}); it cannot be resumed or "
                "reported: start a new calibration"
            ) from None


def _check_resumes(resumes: list) -> None:
    """ValueError unless ``resumes`` is a list of records as ``Setup.resume_with`` writes."""
    for i, r in enumerate(resumes):
        ok = isinstance(r, dict) and isinstance(r.get("command"), str)
        ok = ok and isinstance(r.get("particles"), int) and r["particles"] > 0
        for key in ("bandwidth", "bandwidth_before"):
            ok = ok and isinstance(r.get(key), int | float) and r[key] > 0
        gen = r.get("from_generation") if isinstance(r, dict) else None
        ok = ok and (gen is None or (isinstance(gen, int) and gen >= 0))
        if not ok:
            raise ValueError(f"resumes[{i}]: {r!r} is not a resume record")


@dataclass(frozen=True)
class Calibration:
    """The loaded problem of a setup: base scenario, priors, targets."""

    base: dict
    priors: dict[str, Prior]
    targets: tuple[Target, ...]

    @property
    def model(self) -> SimulateTargets:
        return SimulateTargets(self.base, self.priors, self.targets)


def load_problem(setup: Setup) -> Calibration:
    """Load and check the scenario, priors and targets of a setup (ScenarioError if bad)."""
    sc = load_scenario(setup.scenario, [*setup.overrides, f"scale={setup.scale:g}"])
    targets = tuple(load_targets(setup.targets))
    priors = load_priors(setup.priors)
    base = sc.model_dump()
    check_priors(base, priors, setup.priors)
    outside = [t.id for t in targets if t.first_day < sc.start or t.last_day > sc.end]
    if outside:
        raise ScenarioError(
            Problem(
                f"targets {', '.join(outside)} lie outside the scenario's dates "
                f"{sc.start}..{sc.end}",
                setup.targets,
            )
        )
    return Calibration(base, priors, targets)


def make_sampler(workers: int | Executor, scheduler: str | None = None) -> Any:
    """pyabc sampler on an executor (``Executor.abc_sampler``): Dask reuses the executor's
    client, a local pool gives pyabc's multicore sampler, one process its single-core sampler.

    Given worker and scheduler settings instead of an executor (the former call), it makes the
    executor (``make_executor``) and connects it; ``close_sampler`` then closes it. A scheduler
    that cannot be reached raises ``OSError`` naming the address.
    """
    logging.getLogger("ABC").setLevel(logging.WARNING)  # pyabc's chatter; run_abc reports
    if isinstance(workers, Executor):
        return workers.abc_sampler()
    executor = make_executor(workers, scheduler)
    executor.open()
    sampler = executor.abc_sampler()
    sampler.propsim_executor = executor  # closed by close_sampler
    return sampler


def close_sampler(sampler: Any) -> None:
    """Close the executor ``make_sampler`` made for ``sampler`` (a Dask cluster keeps running);
    a sampler made on a caller's executor is left alone (the caller closes the executor)."""
    executor = getattr(sampler, "propsim_executor", None)
    if executor is not None:
        executor.close()


class _GenerationLog(logging.Handler):
    """Turns pyabc's log into one progress line per generation (epsilon, acceptance, elapsed,
    time left), through the command's ``sim.execution.progress.Progress``."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.eps, self.t = math.nan, "?"
        self.progress: Progress | None = None  # set by _run once the generations are known

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("t: ") and "eps:" in msg:
            self.t = msg.split(",")[0][3:]
            self.eps = float(msg.split("eps:")[1].strip(" ."))
        elif msg.startswith("Accepted:") and self.progress is not None:
            n, rest = msg[len("Accepted:") :].split("/", 1)
            total, rate = rest.split("=")[0], rest.split("=")[1].split(",")[0]
            self.progress.run_done()
            status = self.progress.status(named=False)
            self.progress.line(
                f"{PREFIX} generation {self.t}: epsilon {self.eps:.3g}, accepted {n.strip()} of "
                f"{total.strip()} simulations ({float(rate):.0%}); {status}"
            )


def run_abc(
    folder: Path,
    setup: Setup,
    problem: Calibration,
    sampler: Any,
    resume: bool,
    out: Callable[[str], None] = print,
    progress: bool = True,
) -> Any:
    """Run (or continue) ABC-SMC with its history in ``folder/abc.db``; returns the History.

    Progress (unless ``progress`` is false): a line per generation with epsilon, acceptance
    and the time left (from the rate of the generations so far, at most the wall time left),
    and between generations a plain line every 30 s when stderr is not a terminal, or a bar
    over the generations on a terminal (``sim.execution.progress.Progress``)."""
    # pyabc logs to the "ABC" logger: our handler alone, for one line per generation
    logger = logging.getLogger("ABC")
    saved = logger.handlers, logger.level, logger.propagate
    handler = _GenerationLog()
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with folders.locked(folder):  # two processes on one abc.db would corrupt the history
            return _run(folder, setup, problem, sampler, resume, out, handler, progress)
    finally:
        logger.handlers, logger.level, logger.propagate = saved


def _run(
    folder: Path,
    setup: Setup,
    problem: Calibration,
    sampler: Any,
    resume: bool,
    out: Callable,
    handler: _GenerationLog,
    progress: bool,
) -> Any:
    import pyabc

    from sim.analysis import kept_sampler

    lows_highs = {k: to_sample_space(p) for k, p in problem.priors.items()}
    prior = pyabc.Distribution(
        **{k: pyabc.RV("uniform", lo, hi - lo) for k, (lo, hi) in lows_highs.items()}
    )
    db = "sqlite:///" + str((folder / DB_NAME).resolve())
    # the first generation accepts its whole prior sample: no separate calibration sample; a
    # resumed run starts where the median schedule stood (pyabc would otherwise apply the
    # initial epsilon again, and the resumed generation would accept every proposal)
    initial = resume_epsilon(pyabc.History(db)) if resume else math.inf
    if not isinstance(sampler, pyabc.sampler.DaskDistributedSampler):
        # the simulations of the generation under way are kept on disk (local processes only:
        # a Dask cluster's workers may not see this folder)
        sampler = kept_sampler.KeepingSampler(
            sampler, folder, {"kernel": setup.kernel, "bandwidth": setup.bandwidth}, setup.seed, out
        )
    abc = pyabc.ABCSMC(
        problem.model,
        prior,
        TargetDistance(problem.targets),
        population_size=setup.particles,
        sampler=sampler,
        eps=epsilon_schedule(initial, setup.min_epsilon),
        transitions=transition(setup.kernel, list(lows_highs), setup.bandwidth),
    )
    if resume:
        history = abc.load(db, 1)
        done = history.max_t + 1
        if setup.resumes and setup.resumes[-1]["from_generation"] is None:
            setup.resumes[-1]["from_generation"] = done
        setup.save(folder)  # what this run asked for (generations, particles), for the report
    else:
        history = abc.new(db, observed_summary(problem.targets))
        done = 0
    remaining = setup.generations - done
    if remaining <= 0:
        out(f"all {setup.generations} generations are done")
        return history
    if setup.seed is not None:
        # pyabc draws from numpy's global generator in this process (proposals, and the runs'
        # seeds on one worker); worker processes of the multicore sampler seed themselves
        np.random.seed((setup.seed + done) % 2**32)
    with (
        warnings.catch_warnings(),  # pyabc compares epsilons with the first one, infinite
        Progress(
            setup.generations,
            initial_runs=done,
            desc="calibrate",
            unit="generation",
            enabled=progress,
            limit=setup.minutes * 60,
        ) as handler.progress,
    ):
        warnings.filterwarnings("ignore", "invalid value", RuntimeWarning)
        abc.run(
            minimum_epsilon=setup.min_epsilon,
            max_nr_populations=remaining,
            max_walltime=dt.timedelta(minutes=setup.minutes),
        )
    kept_sampler.clear(folder)  # (kept only while a generation is under way)
    return history


KERNELS = {  # the proposal kernels, as the fit report's method names them (why: ``transition``)
    "joint": "one multivariate normal kernel over all free parameters",
    "per-parameter": "one normal kernel per free parameter, drawn independently",
}


def transition(kernel: str, names: list[str], bandwidth: float = 1.0) -> Any:
    """The pyabc proposal kernel named ``kernel`` (see ``KERNELS``) over the parameters ``names``,
    each kernel's variance ``bandwidth`` times Silverman's rule (pyabc's ``scaling``).

    Why a choice: with pyabc's joint kernel density over 17 parameters, each accepted proposal's
    importance weight (prior over proposal density) varies over orders of magnitude, so a
    generation of 160 particles has an effective sample size of 3-11. Independent kernels, one
    per parameter, give smooth one-dimensional densities whose ratio to the (product) prior
    varies little (pyabc's ``AggregatedTransition``).

    Why a bandwidth below 1: each generation's accepted particles are a narrower set than the
    population the kernel is fitted to (epsilon falls), and Silverman's rule fits that
    population. Re-weighting the particles of calibration 20261207-110341 (generations 2-4,
    per-parameter kernels) to proposals of half the variance gives about 1.6 times the
    acceptance and 1.4 times the effective sample size (docs/calibration.md)."""
    import pyabc

    if kernel == "joint":
        return pyabc.MultivariateNormalTransition(scaling=bandwidth)
    if kernel == "per-parameter":
        return pyabc.AggregatedTransition(
            mapping={name: pyabc.MultivariateNormalTransition(scaling=bandwidth) for name in names}
        )
    raise ValueError(f"unknown kernel {kernel!r}: one of {', '.join(KERNELS)}")


def epsilon_schedule(initial: float, floor: float) -> Any:
    """pyabc's median schedule (each generation's epsilon the weighted median of the previous
    population's distances), never below ``floor`` (``--min-epsilon``).

    Why a floor: below it the schedule would tighten past what the calibration asks for and
    cost simulations for nothing; at it, a generation run after the goal is reached (a resumed
    calibration with more ``--generations``) keeps the same epsilon and only moves and
    re-weights the particles, which raises the effective sample size of a population whose
    weights pile on a few particles (an SMC move step at a fixed threshold)."""
    import pyabc

    class FlooredMedianEpsilon(pyabc.MedianEpsilon):  # type: ignore[misc]
        def _update(self, t: int, weighted_distances: Any) -> None:
            super()._update(t, weighted_distances)
            self._look_up[t] = max(self._look_up[t], floor)

    return FlooredMedianEpsilon(initial_epsilon=max(initial, floor))


def resume_epsilon(history: Any, t: int | None = None) -> float:
    """The epsilon of the generation after ``t`` (default: the history's last), by the median
    schedule: the weighted median of that population's distances (pyabc's own quantile)."""
    from pyabc.weighted_statistics import weighted_quantile as pyabc_quantile

    last = history.get_weighted_distances(t=history.max_t if t is None else t)
    w = last["w"].to_numpy(dtype=float)
    return float(pyabc_quantile(points=last["distance"].to_numpy(), weights=w / w.sum()))


# --- results -------------------------------------------------------------------------------


def truncate_weights(w: np.ndarray) -> np.ndarray:
    """Importance weights capped at sqrt(n) times their mean, renormalised (truncated importance
    sampling, Ionides 2008): with few particles in many dimensions ABC-SMC weights can pile on
    one or two particles, and the posterior summaries would then describe those alone."""
    w = np.asarray(w, dtype=float) / np.sum(w)
    capped = np.minimum(w, w.mean() * math.sqrt(len(w)))
    return capped / capped.sum()


def ess(w: np.ndarray) -> float:
    """Effective sample size of normalised weights."""
    w = np.asarray(w, dtype=float) / np.sum(w)
    return float(1.0 / np.sum(w**2))


DISTANCE = "distance"
TARGET_PREFIX = "target."  # columns of each particle's simulated target values


def posterior(history: Any, priors: Mapping[str, Prior]) -> pd.DataFrame:
    """The last generation's particles in scenario units, with pyabc's normalised weights
    (``weight_raw``), the truncated weights used for every summary (``weight``), each
    particle's distance (its worst fitted target's excess, in tolerances) and its simulated
    target values (``target.<id>``: the run that accepted it). ``posterior_columns`` are what
    posterior.parquet and posterior.csv keep (what `propsim compare --posterior` reads);
    the rest goes to particles.parquet."""
    pop = history.get_population(t=history.max_t)
    particles = pop.get_particles_by_model()[0]
    rows = []
    for particle in particles:
        row = to_scenario_units(priors, particle.parameter)
        row["weight_raw"] = float(particle.weight)
        row[DISTANCE] = float(particle.distance)
        row |= {TARGET_PREFIX + k: float(v) for k, v in particle.sum_stat.items()}
        rows.append(row)
    table = pd.DataFrame(rows)
    table["weight_raw"] = table["weight_raw"] / table["weight_raw"].sum()
    table["weight"] = truncate_weights(table["weight_raw"].to_numpy())
    return table.reset_index(drop=True)


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Quantile ``q`` of ``x`` under weights ``w`` (midpoint interpolation of the weighted CDF)."""
    order = np.argsort(x)
    x, w = np.asarray(x)[order], np.asarray(w)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cdf, x))


def posterior_columns(post: pd.DataFrame, priors: Mapping[str, Prior]) -> list[str]:
    """The parameter and weight columns: the posterior as later commands read it."""
    return [*priors, "weight_raw", "weight"]


def ranked_particles(post: pd.DataFrame) -> list[int]:
    """Rows of the accepted particles from the best fitting: the smallest distance (worst
    target's excess in the run that accepted it) first, ties broken by the larger weight."""
    if DISTANCE not in post:
        raise ValueError("the posterior has no distances (written before issue 15)")
    order = np.lexsort((-post["weight"].to_numpy(), post[DISTANCE].to_numpy()))
    return [int(i) for i in order]


def best_particle(post: pd.DataFrame) -> int:
    """Row of the accepted particle that fits best (``ranked_particles``' first). A point the
    posterior supports: per-parameter medians of a correlated posterior need not be (issue 15)."""
    return ranked_particles(post)[0]


def point_estimate(
    post: pd.DataFrame, priors: Mapping[str, Prior], row: int | None = None
) -> dict[str, float]:
    """The parameters of the particle in ``row`` (default: ``best_particle``) to 4 significant
    digits (the overlay's precision): the calibrated point."""
    chosen = post.iloc[best_particle(post) if row is None else row]
    return {k: float(f"{float(chosen[k]):.4g}") for k in priors}


def generations_table(history: Any) -> pd.DataFrame:
    """Per generation: epsilon, simulations, accepted particles and wall time (s)."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return pops[["t", "epsilon", "samples", "particles", "wall_time"]].reset_index(drop=True)


def overlay_text(estimate: Mapping[str, float], calib_id: str, commands: list[str]) -> str:
    """The calibrated overlay: the estimate as a nested scenario fragment, with provenance."""
    tree: dict = {}
    changes: dict[str, dict] = {}  # timeline entry name -> the fields the overlay changes
    for key, value in estimate.items():
        if key.startswith(TIMELINE_PREFIX):
            name, field, *rest = key[len(TIMELINE_PREFIX) :].split(".")
            entry = changes.setdefault(name, {"name": name})
            if field == "values":  # a set event's values are themselves dotted keys
                entry.setdefault("values", {})[".".join(rest)] = value
            else:
                keys.set(entry, ".".join([field, *rest]), value, create=True)
        else:
            keys.set(tree, key, value, create=True)
    if changes:
        tree[CHANGES_KEY] = {"change": [changes[name] for name in sorted(changes)]}
    head = (
        "# Calibrated overlay: the free parameters of calibration/priors.yaml at the accepted\n"
        "# particle that fits best (smallest distance; the posterior itself is posterior.csv\n"
        "# beside this file). Written by `propsim calibrate`; do not edit by hand.\n"
        f"# Calibration {calib_id} of {dt.date.today().isoformat()}: results/calibration/"
        f"{calib_id}/\n"
        f"# Command: {commands[0]}\n"
        + "".join(f"# Resumed: {command}\n" for command in commands[1:])
        + "# Fit, intervals and what the targets identify: docs/calibration.md\n"
    )
    return head + yaml.safe_dump(tree, sort_keys=True, width=100)


def write_atomic(path: Path, text: str) -> None:
    """Write a file under a temporary name and rename it: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def create_folder(out: Path, calib_id: str, setup: Setup) -> Path:
    """Make ``<out>/<calib_id>/`` with ``setup.json`` (``FileExistsError`` if it exists).

    A calibration's folder keeps its name while it runs, since ``--resume ID`` and pyabc's
    history database address it by name; what marks it finished is its ``manifest.json``,
    written by ``finish`` (``sim.io.folders``' manifest); ``run_abc`` holds its lock.
    """
    check_name(calib_id, "calibration id")
    folder = Path(out) / calib_id
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir()
    setup.save(folder)
    return folder


def is_finished(folder: Path) -> bool:
    """True once ``finish`` wrote the folder's manifest."""
    return (Path(folder) / folders.MANIFEST).is_file()


def _manifest(
    folder: Path, setup: Setup, calib_id: str, gens: pd.DataFrame, overlay: Path
) -> dict[str, Any]:
    try:
        started = dt.datetime.fromisoformat(setup.created)
    except ValueError:
        started = dt.datetime.now()
    manifest = folders.base_manifest("calibration", calib_id, setup.command, started)
    manifest.update(
        {
            "setup": asdict(setup),
            "generations": len(gens),
            "simulations": int(gens["samples"].sum()),
            "final_epsilon": float(gens["epsilon"].iloc[-1]),
            "duration_seconds": round(float(gens["wall_time"].fillna(0).sum()), 3),
            "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "files": {
                "setup": SETUP_NAME,
                "history": DB_NAME,
                "posterior": POSTERIOR_NAME,
                "particles": PARTICLES_NAME,
                "generations": GENERATIONS_NAME,
                "overlay": str(overlay),
            },
            "reproduce": setup.command,
            "resumed": [r["command"] for r in setup.resumes],
            "report": f"propsim calibrate --report-only {calib_id} --out {folder.parent}",
        }
    )
    return manifest


def finish(
    folder: Path,
    history: Any,
    problem: Calibration,
    setup: Setup,
    calib_id: str,
    overlay: Path,
    choose: Callable[[pd.DataFrame], int] | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Write posterior.parquet (parameters and weights), particles.parquet (with distances and
    target values), generations.csv, the overlay (the particle in the row ``choose(posterior)``
    returns, by default the best-fitting one) with posterior.csv beside it, and the manifest
    (which marks the folder finished); returns posterior (all columns), estimate."""
    post = posterior(history, problem.priors)
    columns = posterior_columns(post, problem.priors)
    for name, table in ((POSTERIOR_NAME, post[columns]), (PARTICLES_NAME, post)):
        tmp = folder / (name + ".tmp")
        table.to_parquet(tmp, index=False)
        tmp.replace(folder / name)
    gens = generations_table(history)
    write_atomic(folder / GENERATIONS_NAME, gens.to_csv(index=False))
    estimate = point_estimate(post, problem.priors, None if choose is None else choose(post))
    write_atomic(overlay, overlay_text(estimate, calib_id, setup.commands()))
    # the particles beside the overlay (calibration/posterior.csv): what `propsim compare
    # --posterior K` draws from by default, kept in git with the overlay it goes with
    write_atomic(overlay.with_name(POSTERIOR_CSV), post[columns].to_csv(index=False))
    folders.write_json(folder / folders.MANIFEST, _manifest(folder, setup, calib_id, gens, overlay))
    return post, estimate


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
