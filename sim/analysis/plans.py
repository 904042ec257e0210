"""Plans and finished folders of ``propsim sweep`` and ``propsim sensitivity``, as plain functions.

The command line (``sim.cli.sweep``, ``sim.cli.sensitivity``, their shared flow in
``sim.cli.batch``) parses the options and calls these:

    sweep:        SCENARIO + --set + --vary ──sim.analysis.design──> points ──sweep.load_points──>
                  validated point scenarios ──> ``Plan`` (``sweep_plan``)
    sensitivity:  SCENARIO + --set + --params ──sensitivity.load_params / sample──> points
                  ──(same)──> ``Plan`` (``sensitivity_plan``)
    both:         runs in a folder (``sim.analysis.sweep``) ──``sweep.finish_sweep`` /
                  ``sensitivity.finish``──> plots, run table (and for sensitivity the indices),
                  final folder

Bad input raises ``sim.errors.BadInput`` or ``ScenarioError`` (exit code 2) before anything is
written. Only light modules are imported at the top: ``propsim --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sim.errors import BadInput

if TYPE_CHECKING:
    from sim.analysis.sweep import Plan
    from sim.scenario import Scenario

Resolve = Callable[[str], Path]  # a SCENARIO argument -> the file to load (may note a shipped one)

PARAMS_FILE = "params.yaml"


def open_resumable(folder: Path, kind: str) -> tuple[dict[str, Any], Plan]:
    """The manifest and plan of an unfinished ``kind`` folder to resume (else ``BadInput``)."""
    from sim.analysis.sweep import is_partial, open_folder

    manifest, plan = open_folder(folder)  # FolderError (exit code 2) if it cannot be resumed
    if manifest["kind"] != kind:
        raise BadInput(
            f"--resume {folder}: a {manifest['kind']} folder; use propsim {manifest['kind']}"
        )
    if not is_partial(folder):
        raise BadInput(f"--resume {folder}: the folder is complete; nothing to resume")
    return manifest, plan


# --- sweep -------------------------------------------------------------------------------------


def sweep_plan(
    scenario: str | None,
    sets: Sequence[str],
    vary: Sequence[str],
    design: Literal["grid", "lhs"],
    samples: int | None,
    seed: int | None,
    replicates: int | None,
    resolve: Resolve,
) -> Plan:
    """The plan of a sweep: design points over the ``--vary`` keys, each point's scenario."""
    from sim.analysis import design as d
    from sim.analysis.sweep import load_points, point_overrides
    from sim.scenario import load_scenario

    if scenario is None:
        raise BadInput("give a SCENARIO file (or --resume DIR)")
    if design == "grid" and samples is not None:
        raise BadInput("--samples is for --design lhs; a grid runs every combination")
    if design == "lhs" and samples is None:
        raise BadInput("--design lhs needs --samples N")
    try:
        varies = d.parse_varies(list(vary), design)
    except d.DesignError as err:
        raise BadInput(str(err)) from None
    path = resolve(scenario)
    base = load_scenario(path, list(sets))
    seed = base.seed if seed is None else seed
    replicates = replicates or base.replicates
    try:
        if design == "lhs":
            assert samples is not None
            points = d.lhs_points(varies, samples, seed)
        else:
            points = d.grid_points(varies)
    except d.DesignError as err:
        raise BadInput(str(err)) from None
    overrides = [point_overrides(p) for p in points]
    scenarios = load_points(path, list(sets), overrides, lambda t: f"--vary {t}")
    spec = {"design": design, "vary": list(vary), "samples": samples}
    return make_plan("sweep", base, points, overrides, scenarios, seed, replicates, sets, spec)


def make_plan(
    kind: str,
    base: Scenario,
    points: list[dict[str, Any]],
    overrides: list[list[str]],
    scenarios: list[Scenario],
    seed: int,
    replicates: int,
    sets: Sequence[str],
    design: dict[str, Any],
    outcomes: tuple[Any, ...] = (),
) -> Plan:
    """A plan with the seeds applied to the base and to every point's scenario."""
    from sim.analysis.sweep import Plan
    from sim.execution.runner import replicate_seeds

    return Plan(
        kind=kind,
        name=base.name,
        base=_resolved(base, seed, replicates),
        points=points,
        overrides=overrides,
        seeds=replicate_seeds(seed, replicates),
        scenarios=[_resolved(s, seed, replicates) for s in scenarios],
        outcomes=outcomes,
        design={**design, "sets": list(sets)},
    )


def _resolved(base: Scenario, seed: int, replicates: int) -> Scenario:
    from pydantic import ValidationError

    try:
        return base.model_copy(update={"seed": seed, "replicates": replicates})
    except ValidationError as err:  # pragma: no cover - the CLI types check both already
        raise BadInput(f"--seed/--replicates: {err.errors()[0]['msg']}") from None


# --- sensitivity -------------------------------------------------------------------------------


def read_params(path_text: str | None, resolve: Resolve) -> tuple[Any, str]:
    """The parameter file of ``--params`` (levers and outcomes) and its text."""
    from sim.analysis.sensitivity import load_params

    if path_text is None:
        raise BadInput("give --params FILE (levers and outcomes; see docs/sweeps.md)")
    path = resolve(path_text)
    params = load_params(path)
    return params, path.read_text(encoding="utf-8")


def sensitivity_plan(
    scenario: str | None,
    sets: Sequence[str],
    params_file: str | None,
    method: Literal["sobol", "morris"],
    n: int,
    seed: int | None,
    replicates: int | None,
    resolve: Resolve,
    resolve_params: Resolve,
) -> tuple[Plan, dict[str, str]]:
    """The plan of a sensitivity analysis (SALib samples of the levers) and its extra files."""
    from sim.analysis import sensitivity as sa
    from sim.analysis.outcomes import column_for
    from sim.analysis.sweep import load_points
    from sim.metrics import column_names
    from sim.scenario import load_scenario

    if scenario is None:
        raise BadInput("give a SCENARIO file (or --resume DIR)")
    try:
        sa.check_n(method, n)
    except ValueError as err:
        raise BadInput(str(err)) from None
    params, text = read_params(params_file, resolve_params)
    path = resolve(scenario)
    base = load_scenario(path, list(sets))
    opens, encs = base.platform_names("open"), base.platform_names("encrypted")
    columns = column_names(opens, encs)
    for spec in params.outcomes:
        try:
            column = column_for(spec.metric, opens, encs)
        except ValueError as err:
            raise BadInput(f"{params_file}: outcomes: {spec.name}: {err}") from None
        if column not in columns:
            bare = column.rsplit(".", 1)[-1]
            like = [c for c in columns if c.rsplit(".", 1)[-1] == bare]
            raise BadInput(
                f"{params_file}: outcomes: {spec.name}: the scenario has no metric {column!r}"
                + (f" (it has {', '.join(like)})" if like else "")
            )
    for spec in params.outcomes:  # a window outside the run would give no days: NaN indices
        first, last = spec.start or base.start, spec.end or base.end
        if not base.start <= first <= last <= base.end:
            raise BadInput(
                f"{params_file}: outcomes: {spec.name}: the window {first}..{last} is not within "
                f"the run's reported days {base.start}..{base.end}"
            )
    seed = base.seed if seed is None else seed
    replicates = replicates or 1
    dump = base.model_dump(mode="python")
    label = lambda lever: lambda t: f"{params_file}: levers: {lever} sets {t}"  # noqa: E731
    # each lever alone at its bounds first: the message then names the lever and the bound
    for lever in params.levers:
        if lever.mode != "set":  # share or scale of values that are all 0: the lever is inert
            from sim.config import keys as k

            try:
                olds = [float(k.get(dump, key)) for key in lever.keys]
            except (KeyError, IndexError, TypeError, ValueError):
                olds = [1.0]  # (reported below, with the bounds)
            if not any(olds):
                raise BadInput(
                    f"{params_file}: levers: {lever.name}: mode {lever.mode} of keys that are all "
                    f"0 in the scenario ({', '.join(lever.keys)}) changes nothing; give them "
                    "values first (--set) or use mode set"
                )
        for x in lever.bounds:
            try:
                own = sa.lever_overrides([lever], {lever.name: x}, dump)
            except (KeyError, IndexError, TypeError, ValueError):
                raise BadInput(
                    f"{params_file}: levers: {lever.name}: mode {lever.mode} needs numeric keys "
                    f"that exist in the scenario ({', '.join(lever.keys)})"
                ) from None
            load_points(path, list(sets), [own], label(f"{lever.name} (x={x:g})"), False)
    prob = sa.problem(params.levers)
    x = sa.sample(prob, method, n, seed)
    points = [{name: float(v) for name, v in zip(prob["names"], row, strict=True)} for row in x]
    overrides = [sa.lever_overrides(params.levers, p, dump) for p in points]
    scenarios = load_points(path, list(sets), overrides, label("a sample point"), False)
    design = {
        "method": method,
        "n": n,
        "problem": prob,
        "params_file": PARAMS_FILE,
        "analysis_seed": seed,
    }
    plan = make_plan(
        "sensitivity", base, points, overrides, scenarios, seed, replicates, sets, design,
        tuple(params.outcomes),
    )  # fmt: skip
    return plan, {PARAMS_FILE: text}
