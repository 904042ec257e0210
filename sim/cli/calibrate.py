"""``propsim calibrate``: its arguments and the steps it runs.

Data flow: arguments -> ``calibration.Setup`` (new, or ``setup.json`` of a run to resume) ->
``calibration.load_problem`` (all input checked before anything is written; bad input is a
``ScenarioError`` or ``BadInput``, exit 2) -> results/calibration/<id>/ (``abc.db``,
``setup.json``) -> ``calibration.run_abc`` -> ``calibration.finish`` (posterior, overlay) ->
``fit_report.write_report`` (docs/calibration.md and its figures).

Input files (``--scenario``, ``--targets``, ``--priors``) are read from the working folder when
they exist there, else from the files shipped with propsim (with a note on stderr). Outputs
always go to the working folder: the overlay to ``calibration/calibrated.yaml``, the report to
``docs/calibration.md``. For a calibrated baseline that uses the new overlay, run
``propsim init`` first: the copied ``scenarios/baseline.yaml`` lays
``../calibration/calibrated.yaml`` of the working folder over its own values (``overlay:``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import shlex
import textwrap
from pathlib import Path
from typing import Any

from sim.cli.common import FMT, MAX_REPLICATES, resolve_file, scenario_path, seed
from sim.errors import BadInput

DEFAULT_OUT = Path("results") / "calibration"
KERNELS = ("joint", "per-parameter")  # sim.analysis.calibration.KERNELS (not imported: pandas)


def _positive(kind: type, limit: float = 1e6, low: float = 0.0, strict: bool = True) -> Any:
    """An argument type: a finite number above 0 (``strict``; else at least ``low``) and at
    most ``limit``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:30]!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text[:30]}")
        if not (value > low if strict else value >= low):
            raise argparse.ArgumentTypeError(
                f"must be {'above' if strict else 'at least'} {low:g}, got {text[:30]}"
            )
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:g}, got {text[:30]}")
        return value

    return parse


def add_parser(sub: Any) -> None:
    """Add ``calibrate`` to the ``propsim`` subparsers."""
    p = sub.add_parser(
        "calibrate",
        help="fit the free parameters to the public record (ABC-SMC)",
        formatter_class=FMT,
        description=textwrap.dedent(
            """\
            Fit the free parameters of --priors to the targets of --targets by approximate
            Bayesian computation (pyabc's ABC-SMC), running the scenario at a reduced --scale.
            A particle's distance is the largest excess of any target over its observed level
            or range, in tolerances: epsilon <= 1 means every target is met.

            Writes results/calibration/<id>/ (abc.db: pyabc's history, one entry per
            generation; setup.json; posterior.parquet; generations.csv), the calibrated
            overlay (default calibration/calibrated.yaml: the best-fitting accepted
            particle, which scenarios/baseline.yaml lays over its own values) and the fit
            report (default
            docs/calibration.md with docs/figures/calibration_*.png), whose posterior
            predictive draws run at the scenario's own scale.

            An interrupted calibration keeps its finished generations: continue it with
            --resume ID.
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim calibrate                                  # the default: about 50 min
              propsim calibrate --particles 50 --generations 3 --minutes 10
              propsim calibrate --resume 20261128-193000 --generations 12
              propsim calibrate --report-only 20261128-193000    # redo the fit report
              propsim calibrate --scheduler tcp://10.0.0.5:8786  # on a Dask cluster
            """
        ),
    )
    p.add_argument(
        "--scenario",
        default="scenarios/baseline.yaml",
        help="base scenario (default: scenarios/baseline.yaml here, else the shipped one)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override of the base scenario (repeatable), as for `propsim run`",
    )
    p.add_argument(
        "--targets",
        default="calibration/targets.yaml",
        help="targets file (default: calibration/targets.yaml here, else the shipped one)",
    )
    p.add_argument(
        "--priors",
        default="calibration/priors.yaml",
        help="free parameters file (default: calibration/priors.yaml here, else the shipped one)",
    )
    p.add_argument(
        "--scale",
        type=_positive(float, 1e6, 1, strict=False),
        default=100.0,
        help="scale of the calibration runs (default 100; outputs are scale-free)",
    )
    p.add_argument(
        "--particles",
        type=_positive(int, 100_000),
        help="particles per generation (default 160; with --resume, of the generations still "
        "to run: more particles raise the effective sample size of the last one)",
    )
    p.add_argument(
        "--generations",
        type=_positive(int, 1000),
        help="generations in all, including resumed ones (default 20)",
    )
    p.add_argument(
        "--minutes",
        type=_positive(float, 525_600),
        help="stop after the generation that passes this wall time (default 60; --resume "
        "continues a calibration that stopped before its last generation or epsilon)",
    )
    p.add_argument(
        "--min-epsilon",
        type=_positive(float, 1e6, strict=False),
        default=1.0,
        metavar="EPS",
        help="stop after the generation whose epsilon is at most EPS (default 1: every "
        "accepted particle meets every fitted target; 0 runs all generations); epsilon never "
        "falls below EPS, so a resumed calibration given more --generations runs them at EPS, "
        "moving and re-weighting the particles (raises the effective sample size)",
    )
    p.add_argument(
        "--seed",
        type=seed,
        help="seed of the proposals and runs: with --workers 1 a calibration is reproducible "
        "(pyabc seeds its worker processes itself)",
    )
    p.add_argument(
        "--kernel",
        choices=KERNELS,
        default="per-parameter",
        help="proposal kernel: joint (one kernel density over all free parameters, pyabc's "
        "default: follows their correlations, but its importance weights degenerate with many "
        "parameters) or per-parameter (one per parameter, drawn independently: more simulations "
        "per generation, weights kept even); default per-parameter",
    )
    p.add_argument(
        "--bandwidth",
        type=_positive(float, 10),
        metavar="F",
        help="each kernel's variance, F times Silverman's rule (default 0.5: the accepted "
        "particles of the next generation are a narrower set than the population the kernel "
        "fits); with --resume, of the generations still to run",
    )
    p.add_argument(
        "--workers",
        type=_positive(int, MAX_REPLICATES),
        default=os.cpu_count() or 1,
        help=f"simulations run in N processes (default: all cores, here {os.cpu_count() or 1})",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the simulations on the Dask cluster at ADDRESS instead",
    )
    p.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        metavar="DIR",
        help=f"folder of calibration runs (default {DEFAULT_OUT})",
    )
    p.add_argument(
        "--overlay",
        default="calibration/calibrated.yaml",
        metavar="FILE",
        help="where to write the calibrated overlay",
    )
    p.add_argument(
        "--report",
        default="docs/calibration.md",
        metavar="FILE",
        help="where to write the fit report (figures go to figures/ beside it)",
    )
    p.add_argument(
        "--draws",
        type=_positive(int),
        default=20,
        help="posterior predictive draws for the report (default 20)",
    )
    p.add_argument(
        "--candidates",
        type=_positive(int, 1000, strict=False),
        default=5,
        metavar="K",
        help="the K best-fitting particles are run at the scenario's own scale on 5 seeds and "
        "the one whose medians fit best becomes the calibrated point (default 5; 0: the "
        "best-fitting particle, unchecked)",
    )
    p.add_argument("--no-report", action="store_true", help="skip the fit report")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress (generation lines, bar) and no summary; print only the calibration's "
        "folder",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", metavar="ID", help="continue the calibration ID")
    mode.add_argument(
        "--report-only",
        metavar="ID",
        help="write the overlay and fit report of the finished calibration ID",
    )
    p.set_defaults(func=cmd_calibrate)


def _existing(out: Path, calib_id: str) -> Path:
    folder = out / calib_id
    if not (folder / "setup.json").is_file():
        known = sorted(f.name for f in out.glob("*") if (f / "setup.json").is_file())
        raise BadInput(
            f"no calibration {calib_id!r} in {out}"
            + (f" (found: {', '.join(known[-5:])})" if known else "")
        )
    return folder


def cmd_calibrate(args: argparse.Namespace, command_line: list[str]) -> int:
    """Run, resume or report a calibration; returns the exit code."""
    from sim.analysis import calibration as cal

    out = Path(args.out)
    existing = args.resume if args.resume is not None else args.report_only
    if existing is not None and not existing.strip():
        flag = "--resume" if args.resume is not None else "--report-only"
        raise BadInput(f"{flag}: give the ID of a calibration in {out} (its folder's name)")
    if existing:
        folder = _existing(out, existing)
        setup = cal.Setup.load(folder)
        calib_id = existing
        if args.resume is not None:
            setup.resume_with(
                shlex.join(command_line),
                args.particles,
                args.bandwidth,
                args.generations,
                args.minutes,
            )
    else:
        setup = cal.Setup(
            scenario=str(scenario_path(args.scenario)),
            overrides=list(args.set),
            scale=args.scale,
            targets=str(resolve_file(args.targets, "targets", "calibration")),
            priors=str(resolve_file(args.priors, "priors", "calibration")),
            particles=args.particles or cal.Setup.particles,
            generations=args.generations or cal.Setup.generations,
            minutes=args.minutes or cal.Setup.minutes,
            min_epsilon=args.min_epsilon,
            seed=args.seed,
            kernel=args.kernel,
            bandwidth=args.bandwidth or cal.Setup.bandwidth,
            command=shlex.join(command_line),
            created=dt.datetime.now().isoformat(timespec="seconds"),
        )
        calib_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = out / calib_id
    problem = cal.load_problem(setup)  # every input checked before anything is written
    from sim.execution.executors import make_executor

    # one executor for the whole command: ABC's sampler and the fit report's runs share it
    executor = make_executor(args.workers, args.scheduler)
    try:
        executor.open()
    except OSError as error:  # a scheduler that cannot be reached, or a malformed address
        raise BadInput(str(error)) from None
    with executor:
        return _calibrate(args, folder, calib_id, setup, problem, existing, executor)


def _calibrate(
    args: argparse.Namespace,
    folder: Path,
    calib_id: str,
    setup: Any,
    problem: Any,
    existing: Any,
    executor: Any,
) -> int:
    from sim.analysis import calibration as cal

    log = _silent if args.quiet else cal.log
    if args.report_only:
        import pyabc

        history = pyabc.History("sqlite:///" + str((folder / cal.DB_NAME).resolve()))
    else:
        sampler = cal.make_sampler(executor)
        if not existing:
            folder = cal.create_folder(folder.parent, calib_id, setup)
        log(
            f"calibration {calib_id}: {len(problem.priors)} parameters, "
            f"{len(problem.targets)} targets, scale 1:{setup.scale:g}, "
            f"{setup.particles} particles, up to {setup.generations} generations or "
            f"{setup.minutes:g} min; history in {folder / cal.DB_NAME}"
        )
        try:
            history = cal.run_abc(
                folder, setup, problem, sampler, bool(existing), log, progress=not args.quiet
            )
        except KeyboardInterrupt:
            cal.log(
                f"interrupted; finished generations are kept: continue with "
                f"`propsim calibrate --resume {calib_id}`"
            )
            raise
    if history.max_t < 0:
        cal.log("no generation finished; nothing to write")
        return 1
    choose = None
    if args.candidates:
        from sim.analysis import fit_report

        def choose(post: Any) -> int:
            log(f"checking the {args.candidates} best-fitting particles at the scenario's scale")
            check = fit_report.check_candidates(
                setup, problem, post, args.candidates, executor, progress=not args.quiet
            )
            cal.write_atomic(folder / fit_report.POINT_CHECK, check.to_csv(index=False))
            return fit_report.chosen_candidate(check)

    setup = setup.as_of(history.max_t)  # (not a resume still under way in another process)
    post, estimate = cal.finish(
        folder, history, problem, setup, calib_id, Path(args.overlay), choose
    )
    gens = cal.generations_table(history)
    log(
        f"{len(gens)} generations, {int(gens['samples'].sum()):,} simulations, final "
        f"epsilon {gens['epsilon'].iloc[-1]:.3g}; posterior in {folder / cal.POSTERIOR_NAME}, "
        f"overlay {args.overlay}"
    )
    if not args.no_report:
        from sim.analysis import fit_report

        fit_report.write_report(
            Path(args.report),
            folder,
            calib_id,
            setup,
            problem,
            post,
            estimate,
            gens,
            draws=args.draws,
            workers=executor,
            progress=not args.quiet,
        )
        log(f"fit report {args.report}")
    if args.quiet:
        print(folder)
    return 0


def _silent(message: str) -> None:
    """The log of ``--quiet``: nothing."""
