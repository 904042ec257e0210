"""Paired designs: several scenarios ("arms") run on the same seeds, unit by unit, optionally
over parameter sets drawn from the calibration posterior; their folder and their statistics.

``propsim compare`` (``sim.analysis.compare``: the arms are the scenario files) and ``propsim
attribute`` (``sim.analysis.attribution``: the arms are one scenario with families of
countermeasures switched off in every combination) are both paired designs.

Data flow::

    arms (validated scenarios) + seed S + replicates R [+ K posterior draws]
      -> PairedPlan: pairing units j = 0 .. max(1, K) * R - 1; unit j is draw k = j // R
         (none without a posterior) and uses seed S + j in EVERY arm (common random numbers)
      -> create_folder: hidden <out>/.<name>-<kind>-<time>.partial/ with manifest.json,
         arms/<a>.yaml (each arm's resolved scenario), draws.csv and posterior.csv (the
         particles the draws came from), runs/
      -> sim.analysis.sweep.execute: one task per (arm, unit), saved as
         runs/point_<a>-rep_<j>.parquet as it finishes (resumable: --resume)
      -> the command's finish: paired differences (arm minus base on the same unit), tables,
         plots; sim.io.folders.complete renames the folder.

A posterior draw sets every calibrated parameter of an arm to the draw's value, except where
the arm sets that parameter to something else than the base arm does (a lever of the variant):
the variant's own value is kept. Without a posterior the arms keep their own values and unit
``j`` is replicate ``j`` with seed ``S + j``, as ``propsim run`` would run it. Comparing a
scenario with itself therefore gives differences of exactly zero, and no result depends on the
executor or the number of workers (each run depends only on its scenario and seed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import shlex
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.outcomes import OutcomeSpec, column_for
from sim.analysis.sweep import RUNS_DIR, Task, done_runs, read_runs
from sim.config import keys
from sim.errors import BadInput, FolderError
from sim.io import folders
from sim.scenario import Scenario

ARMS_DIR = "arms"
DRAWS_CSV = "draws.csv"
POSTERIOR_CSV = "posterior.csv"
RUNS_CSV = "runs.csv"
WEIGHT_COLUMNS = ("weight", "weight_raw")
LOW, HIGH = 0.05, 0.95  # the interval: 90%, between the 5% and 95% quantiles
NO_DRAW = -1  # the draw column of units without a posterior draw

# Daily metrics whose paired differences are drawn over time unless --metric says otherwise:
# observed and true pro posts side by side (counter-messaging raises the observed figure a
# little, since the classifier counts some anti posts as pro), accounts, reach, recruits.
DEFAULT_METRICS = (
    "pro_posts_observed",
    "pro_posts_true",
    "active_accounts",
    "users_reached_30d",
    "cumulative_recruits",
)


def default_outcomes(scenario: Any) -> tuple[OutcomeSpec, ...]:
    """Outcomes computed on top of the summary outcomes: true pro posts next to the observed
    ones, reach and followers over the last 90 days (ending on the scenario's last day)."""
    end = scenario.end
    start = max(scenario.start, end - dt.timedelta(days=89))
    spec = OutcomeSpec.model_validate
    return (
        spec({"name": "pro_posts_true_last90", "metric": "pro_posts_true", "start": start,
              "end": end}),
        spec({"name": "users_reached_30d_end", "metric": "users_reached_30d", "stat": "last"}),
        spec({"name": "mean_followers_last90", "metric": "mean_followers", "start": start,
              "end": end}),
    )  # fmt: skip


def outcome_units() -> dict[str, str]:
    """Units of the summary outcomes and of ``default_outcomes``."""
    from sim.metrics import OUTCOMES

    units = {o.name: o.unit for o in OUTCOMES}
    units.update(
        {
            "pro_posts_true_last90": "posts/day",
            "users_reached_30d_end": "users",
            "mean_followers_last90": "followers",
        }
    )
    from sim.analysis.observed import TRUE_UNITS

    units.update(TRUE_UNITS)
    return units


# --- the posterior -----------------------------------------------------------------------------


def load_posterior(path: Path) -> pd.DataFrame:
    """Particles of a calibration posterior: a ``posterior.parquet`` or ``.csv`` file, or a
    calibration folder holding one; columns are dotted scenario keys plus ``weight``.
    ``BadInput`` if it cannot be read or has no usable weights."""
    path = Path(path)
    if path.is_dir():
        for name in ("posterior.parquet", POSTERIOR_CSV):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise BadInput(f"--posterior-file {path}: the folder holds no posterior.parquet")
    try:
        post = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise BadInput(f"--posterior-file {path}: cannot read it ({err})") from None
    params = [c for c in post.columns if c not in WEIGHT_COLUMNS]
    if post.empty or not params:
        raise BadInput(f"--posterior-file {path}: no particles or no parameter columns")
    w = post["weight"].to_numpy(dtype=float) if "weight" in post else np.ones(len(post))
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
        raise BadInput(f"--posterior-file {path}: weights must be finite, >= 0, not all 0")
    values = post[params].to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise BadInput(f"--posterior-file {path}: parameter values must be finite numbers")
    out = post[params].astype(float).copy()
    out["weight"] = w / w.sum()
    return out.reset_index(drop=True)


def find_posterior(workdir: Path | None = None) -> Path:
    """The posterior used when ``--posterior-file`` is not given: ``calibration/posterior.csv``
    of the working folder, else the newest finished calibration in ``results/calibration/``,
    else the shipped ``calibration/posterior.csv``. ``BadInput`` if there is none."""
    from sim.config.resources import shipped

    here = Path(workdir or ".")
    if (here / "calibration" / POSTERIOR_CSV).is_file():
        return here / "calibration" / POSTERIOR_CSV
    runs = sorted(
        p.parent
        for p in (here / "results" / "calibration").glob("*/posterior.parquet")
        if (p.parent / folders.MANIFEST).is_file()
    )
    if runs:
        return runs[-1] / "posterior.parquet"
    try:
        return shipped(f"calibration/{POSTERIOR_CSV}")
    except FileNotFoundError:
        raise BadInput(
            "--posterior: no calibration posterior found (calibration/posterior.csv, or "
            "results/calibration/<id>/posterior.parquet of `propsim calibrate`); give one with "
            "--posterior-file"
        ) from None


def draw_posterior(post: pd.DataFrame, k: int, seed: int) -> list[dict[str, float]]:
    """``k`` particles drawn with replacement in proportion to their weights (seeded by the root
    seed, so a comparison is reproducible), as {dotted key: value}."""
    rng = np.random.default_rng([seed, 20261207])
    w = post["weight"].to_numpy(dtype=float)
    idx = rng.choice(len(post), size=k, replace=True, p=w / w.sum())
    params = [c for c in post.columns if c not in WEIGHT_COLUMNS]
    return [{p: float(post.iloc[i][p]) for p in params} for i in idx]


# --- the plan ----------------------------------------------------------------------------------


@dataclass
class Arm:
    """One scenario of a paired design."""

    name: str
    scenario: Any  # the resolved Scenario
    question: str = ""
    info: dict[str, Any] = field(default_factory=dict)  # kind-specific (families switched on)


def with_values(scenario: Any, values: dict[str, float], keep: dict[str, Any]) -> Any:
    """``scenario`` with ``values`` set by dotted key, except the keys in ``keep`` (where the
    arm's own value differs from the base's); ``BadInput`` naming a key that fails."""
    data = scenario.model_dump(mode="python")
    for key, value in values.items():
        if key in keep:
            continue
        try:
            keys.set(data, key, value)
        except KeyError as err:
            raise BadInput(
                f"posterior parameter {key}: not a key of the scenario ({err})"
            ) from None
    try:
        return Scenario.model_validate(data)
    except ValueError as err:
        raise BadInput(f"a posterior draw gives an invalid scenario: {err}") from None


@dataclass
class PairedPlan:
    """Arms x pairing units; unit ``j`` uses seed ``seed + j`` in every arm."""

    kind: str  # "compare" or "attribute"
    name: str
    arms: list[Arm]
    seed: int
    replicates: int
    draws: list[dict[str, float]] = field(default_factory=list)
    posterior: pd.DataFrame | None = None
    outcomes: tuple[OutcomeSpec, ...] = ()
    metrics: list[str] = field(default_factory=list)
    design: dict[str, Any] = field(default_factory=dict)
    _scenarios: dict[tuple[int, int], Any] = field(default_factory=dict, repr=False)

    @property
    def units(self) -> int:
        return max(1, len(self.draws)) * self.replicates

    @property
    def seeds(self) -> list[int]:
        return [self.seed + j for j in range(self.units)]

    def draw_of(self, unit: int) -> int:
        return unit // self.replicates if self.draws else NO_DRAW

    def scenario(self, arm: int, draw: int) -> Any:
        """The arm's scenario under posterior draw ``draw`` (its own for ``NO_DRAW``)."""
        if (arm, draw) not in self._scenarios:
            sc = self.arms[arm].scenario
            if draw != NO_DRAW:
                base = self.arms[0].scenario
                # the arm keeps its own value where it differs from the base's, and goes
                # without a dated value whose timeline entry it removed or replaced
                keep = {
                    k: None
                    for k in self.draws[draw]
                    if (keys.has(sc, k) and keys.get(sc, k) != keys.get(base, k, None))
                    or (not keys.has(sc, k) and keys.has(base, k))
                }
                sc = with_values(sc, self.draws[draw], keep)
            self._scenarios[(arm, draw)] = sc
        return self._scenarios[(arm, draw)]

    def tasks(self) -> list[Task]:
        return [
            Task(
                a,
                j,
                self.seed + j,
                {"arm": arm.name, "draw": self.draw_of(j)},
                self.scenario(a, self.draw_of(j)),
                self.outcomes,
            )
            for j in range(self.units)
            for a, arm in enumerate(self.arms)
        ]

    def fingerprint(self) -> str:
        """What identifies the design (for a bare ``--resume``)."""
        data = {
            "kind": self.kind,
            "arms": [a.scenario.model_dump(mode="json") for a in self.arms],
            "seed": self.seed,
            "replicates": self.replicates,
            "draws": self.draws,
            "outcomes": [o.model_dump(mode="json") for o in self.outcomes],
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def check_comparable(arms: Sequence[Arm]) -> None:
    """Arms are paired day by day: same reported days, scale and platforms (``BadInput``)."""
    base = arms[0].scenario
    for arm in arms[1:]:
        s = arm.scenario
        for what, a, b in (
            ("start", base.start, s.start),
            ("end", base.end, s.end),
            ("scale", base.scale, s.scale),
            ("warmup_days", base.warmup_days, s.warmup_days),
            ("platforms", list(base.platforms), list(s.platforms)),
        ):
            if a != b:
                raise BadInput(
                    f"{arm.name} and {arms[0].name} differ in {what} ({b} vs {a}): paired runs "
                    f"need the same days, scale and platforms (set them with --set {what}=...)"
                )


def arm_names(names: Sequence[str]) -> list[str]:
    """Unique arm names: a repeated name gets ``-2``, ``-3``, ..."""
    out: list[str] = []
    for n in names:
        name, k = n, 2
        while name in out:
            name, k = f"{n}-{k}", k + 1
        out.append(name)
    return out


# --- the folder --------------------------------------------------------------------------------


def arm_file(a: int, name: str) -> str:
    return f"{ARMS_DIR}/{a}-{name}.yaml"


def create_folder(
    out_dir: Path, plan: PairedPlan, command_line: Sequence[str], started: dt.datetime | None = None
) -> Path:
    """The hidden partial folder with the manifest, the arms' scenarios and the draws."""
    from sim.config.loader import scenario_to_yaml

    started = started or dt.datetime.now().astimezone()
    folder = folders.reserve(out_dir, folders.stamped(f"{plan.name}-{plan.kind}", started))
    try:
        (folder / RUNS_DIR).mkdir()
        (folder / ARMS_DIR).mkdir()
        for a, arm in enumerate(plan.arms):
            (folder / arm_file(a, arm.name)).write_text(
                scenario_to_yaml(arm.scenario), encoding="utf-8"
            )
        if plan.posterior is not None:
            plan.posterior.to_csv(folder / POSTERIOR_CSV, index=False)
        pd.DataFrame(plan.draws).rename_axis("draw").to_csv(folder / DRAWS_CSV)
        manifest = folders.base_manifest(plan.kind, plan.name, command_line, started)
        manifest.update(
            {
                "arms": [
                    {
                        "name": arm.name,
                        "file": arm_file(a, arm.name),
                        "question": arm.question,
                        **arm.info,
                    }
                    for a, arm in enumerate(plan.arms)
                ],
                "scenario": plan.arms[0].scenario.model_dump(mode="json"),
                "seed": plan.seed,
                "replicates": plan.replicates,
                "posterior_draws": len(plan.draws),
                "draws": plan.draws,
                "units": plan.units,
                "seeds": plan.seeds,
                "runs": plan.units * len(plan.arms),
                "outcomes": [o.model_dump(mode="json") for o in plan.outcomes],
                "metrics": plan.metrics,
                "design": plan.design,
                "fingerprint": plan.fingerprint(),
            }
        )
        folders.write_json(folder / folders.MANIFEST, manifest)
    except BaseException:
        folders.discard(folder)
        raise
    return folder


def open_folder(folder: Path, kind: str) -> PairedPlan:
    """The plan of an unfinished ``kind`` folder, rebuilt from its own files (``--resume``)."""
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario

    folder = Path(folder)
    if not folder.is_dir():
        raise FolderError(f"--resume {folder}: no such folder")
    manifest = folders.read_manifest(folder)
    if manifest.get("kind") != kind or "arms" not in manifest:
        raise FolderError(f"--resume {folder}: not a {kind} folder")
    if not folders.is_partial(folder):
        raise BadInput(f"--resume {folder}: the folder is complete; nothing to resume")
    arms = []
    for entry in manifest["arms"]:
        try:
            sc = load_scenario(folder / entry["file"])
        except ScenarioError as err:
            raise FolderError(f"--resume {folder}: its scenario no longer loads: {err}") from None
        info = {k: v for k, v in entry.items() if k not in ("name", "file", "question")}
        arms.append(Arm(entry["name"], sc, entry.get("question", ""), info))
    posterior = None
    if (folder / POSTERIOR_CSV).is_file():
        posterior = pd.read_csv(folder / POSTERIOR_CSV)
    return PairedPlan(
        kind=kind,
        name=manifest["name"],
        arms=arms,
        seed=manifest["seed"],
        replicates=manifest["replicates"],
        draws=manifest["draws"],
        posterior=posterior,
        outcomes=tuple(OutcomeSpec.model_validate(o) for o in manifest["outcomes"]),
        metrics=manifest["metrics"],
        design=manifest["design"],
    )


def find_resumable(out_dir: Path, plan: PairedPlan) -> Path | None:
    """The newest unfinished folder in ``out_dir`` of the same design (a bare ``--resume``)."""
    if not out_dir.is_dir():
        return None
    same = []
    for entry in out_dir.iterdir():
        if entry.is_dir() and folders.is_partial(entry) and (entry / folders.MANIFEST).is_file():
            try:
                manifest = folders.read_manifest(entry)
            except FolderError:
                continue
            if manifest.get("fingerprint") == plan.fingerprint():
                same.append(entry)
    return max(same, key=lambda p: p.name) if same else None


def pending_tasks(folder: Path, plan: PairedPlan) -> list[Task]:
    done = done_runs(folder)
    return [t for t in plan.tasks() if (t.point, t.replicate) not in done]


def reproduce_command(kind: str, args: Sequence[str], plan: PairedPlan, final: Path) -> str:
    """``propsim <kind> <args> --replicates R --seed S [--posterior K --posterior-file ...]``."""
    cmd = ["propsim", kind, *args, "--replicates", str(plan.replicates), "--seed", str(plan.seed)]
    if plan.draws:
        cmd += ["--posterior", str(len(plan.draws))]
        cmd += ["--posterior-file", str(final / POSTERIOR_CSV)]
    for m in plan.metrics:
        cmd += ["--metric", m]
    return shlex.join(cmd)


def finish(
    folder: Path,
    plan: PairedPlan,
    write: Callable[[Path, pd.DataFrame], dict[str, Any]],
    reproduce: Callable[[Path], str],
    draw: Callable[[Path, Path], Sequence[Path]] | None,
    seconds: float,
) -> Path:
    """Write the run table and the command's own tables (``write(folder, runs)`` returns what
    goes into the manifest), complete the folder, then draw its plots (``draw(final, plots)``)."""
    from sim.analysis.sweep import plots_step

    runs = read_runs(folder)
    runs.to_csv(folder / RUNS_CSV, index=False)
    updates = write(folder, runs)
    updates["plots"] = []
    post = None
    if draw is not None:
        post = {"plots": plots_step(lambda plots: draw(plots.parent, plots))}
    return folders.complete(folder, updates, reproduce, post, seconds=seconds)


# --- statistics --------------------------------------------------------------------------------


def interval(x: np.ndarray) -> dict[str, float]:
    """Median and the 90% interval (5% and 95% quantiles) of the finite values."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"median": math.nan, "q05": math.nan, "q95": math.nan}
    q = np.quantile(x, [0.5, LOW, HIGH])
    return {"median": float(q[0]), "q05": float(q[1]), "q95": float(q[2])}


def by_unit(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per unit (the ``replicate`` column of the run table), one column per arm."""
    return runs.pivot(index="replicate", columns="point", values=column).sort_index()


def paired_table(
    runs: pd.DataFrame, outcomes: Sequence[str], arms: Sequence[str], base: int = 0
) -> pd.DataFrame:
    """For every arm but the base and every outcome: the levels of both, the paired difference
    (arm minus base on the same unit) and ratio with median and 90% interval, the probability
    that the arm is lower (the share of units where it is), and two marks of noise:
    ``within_noise``, the 90% interval of the paired difference contains 0 (no detectable
    change: the one that matters for a decision); ``within_spread``, the median difference is
    smaller than half the base's 5-95% spread over its runs (a change the pairing on seeds
    detects, but smaller than run-to-run noise: two unpaired runs could show it reversed)."""
    from sim.metrics import OUTCOMES  # noqa: F401 - (units come from outcome_units)

    units = outcome_units()
    rows = []
    for o in outcomes:
        wide = by_unit(runs, o)
        b = wide[base].to_numpy(dtype=float)
        for a, name in enumerate(arms):
            if a == base:
                continue
            v = wide[a].to_numpy(dtype=float)
            d = v - b
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(b != 0, v / b, np.nan)
            finite = d[np.isfinite(d)]
            lvl_b, lvl_v, dif, rat = interval(b), interval(v), interval(d), interval(ratio)
            rows.append(
                {
                    "arm": name,
                    "outcome": o,
                    "unit": units.get(o, ""),
                    "base_median": lvl_b["median"],
                    "base_q05": lvl_b["q05"],
                    "base_q95": lvl_b["q95"],
                    "median": lvl_v["median"],
                    "q05": lvl_v["q05"],
                    "q95": lvl_v["q95"],
                    "diff_median": dif["median"],
                    "diff_q05": dif["q05"],
                    "diff_q95": dif["q95"],
                    "ratio_median": rat["median"],
                    "ratio_q05": rat["q05"],
                    "ratio_q95": rat["q95"],
                    "p_lower": float(np.mean(finite < 0)) if finite.size else math.nan,
                    "pairs": int(finite.size),
                    "within_noise": bool(dif["q05"] <= 0 <= dif["q95"]) if finite.size else True,
                    "within_spread": bool(abs(dif["median"]) < (lvl_b["q95"] - lvl_b["q05"]) / 2)
                    if finite.size
                    else True,
                }
            )
    return pd.DataFrame(rows)


def level_table(runs: pd.DataFrame, outcomes: Sequence[str], arms: Sequence[str]) -> pd.DataFrame:
    """Per arm and outcome: median and 90% interval over its runs (``summary_stats.csv``)."""
    units = outcome_units()
    rows = []
    for a, name in enumerate(arms):
        sel = runs[runs["point"] == a]
        for o in outcomes:
            rows.append(
                {"arm": name, "outcome": o, "unit": units.get(o, ""), **interval(sel[o].to_numpy())}
            )
    return pd.DataFrame(rows)


def daily_columns(metrics: Sequence[str], scenario: Any) -> list[str]:
    """The daily columns of ``--metric`` names (a bare per-platform name: first platform)."""
    opens, encs = scenario.platform_names("open"), scenario.platform_names("encrypted")
    return [column_for(m, opens, encs) for m in metrics]


def daily_bands(folder: Path, columns: Sequence[str], arms: Sequence[str]) -> pd.DataFrame:
    """Per day, arm and metric column: the level (median and 90% band over units) and the paired
    difference from the base arm (the same), in one long table."""
    import pyarrow.parquet as pq

    table = pq.read_table(folder / RUNS_DIR, columns=["point", "replicate", "date", *columns])
    daily = table.to_pandas()
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for col in columns:
            wide = daily.pivot_table(
                index="date", columns=["point", "replicate"], values=col, aggfunc="first"
            ).sort_index()
            base = wide[0]
            for a, name in enumerate(arms):
                level = wide[a]
                for stat, x in (("level", level), ("difference", level - base[level.columns])):
                    q = np.nanquantile(x.to_numpy(dtype=float), [0.5, LOW, HIGH], axis=1)
                    out.append(
                        pd.DataFrame(
                            {
                                "date": wide.index,
                                "arm": name,
                                "metric": col,
                                "stat": stat,
                                "median": q[0],
                                "q05": q[1],
                                "q95": q[2],
                            }
                        )
                    )
    return pd.concat(out, ignore_index=True)
