"""The ``assess`` command line: the same functions as the web app, from a terminal."""

from __future__ import annotations

import errno
import importlib
import io
import json
import os
import sys
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click
from click.core import ParameterSource
from flask.cli import FlaskGroup, run_command
from marshmallow import ValidationError

from assess import create_app, schemas
from assess.decision import Decision, score_text
from assess.engine import EngineError, refusal
from assess.schemas import flatten_errors, load_answers, load_respondents
from assess.text import join_names, shown

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError


class AssessGroup(FlaskGroup):
    """The assess commands, each module imported when its command is run.

    The web app's commands pull in the database layer, migrations and PDF libraries:
    imported up front they would double the start of `assess evaluate`.
    """

    LAZY = {
        "db": "assess.commands:db_cli",
        "user": "assess.commands:user_cli",
        "demo": "assess.commands:demo",
        "charter": "assess.charter.command:charter_command",
        "verify": "assess.signing.command:verify_command",
        "export": "assess.transfer:export_command",
        "import": "assess.transfer:import_command",
    }

    def _load(self, name: str) -> None:
        if name in self.LAZY and name not in self.commands:
            module, attribute = self.LAZY[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in self.LAZY:
            self._load(name)
        return super().list_commands(ctx)


cli = AssessGroup(
    name="assess",
    create_app=lambda: create_app(),
    load_dotenv=False,
    add_version_option=False,
    help="Assess a producer partnership and produce its charter.",
)
# The app is always this one and reads its settings from the environment: Flask's options
# to pick another app or an env file would only confuse.
cli.params = [p for p in cli.params if p.name not in ("app", "env_file")]
click.version_option(package_name="assess", prog_name="assess", message="%(prog)s %(version)s")(cli)


@click.pass_context
def _run_locally(ctx: click.Context, /, **options: Any) -> None:
    """Run the development server; over plain http the session cookie cannot require HTTPS.

    A browser sends a cookie marked Secure back over https only: served on plain http, the
    session would never come back and signing in would fail without a word. Unless
    SESSION_COOKIE_SECURE says otherwise, a plain-http run relaxes it, as ``make run`` does.
    """
    if options["cert"] is None and not os.environ.get("SESSION_COOKIE_SECURE", "").strip():
        os.environ["SESSION_COOKIE_SECURE"] = "0"
    ctx.invoke(run_command.callback, **options)  # type: ignore[arg-type]


cli.add_command(
    click.Command(
        "run",
        params=run_command.params,
        callback=_run_locally,
        help=run_command.help,
        short_help=run_command.short_help,
    )
)


def read_json(source: IO[str]) -> Any:
    """Read a JSON document, or exit 2 saying where it is broken."""
    try:
        return schemas.read_json(source, "input")
    except schemas.NotJSON as error:
        fail_input([str(error)])


def read_answers(source: IO[str]) -> dict[str, int]:
    """Read and validate an answers JSON document, or exit 2 with one line per bad field."""
    try:
        return load_answers(read_json(source))
    except ValidationError as error:
        fail_input(flatten_errors(error.messages))


def decide(source: IO[str]) -> Decision:
    """Read either input form (one answer set, or several respondents) and decide on it."""
    from assess.engine import evaluate, evaluate_respondents

    data = read_json(source)
    try:
        if isinstance(data, dict) and "respondents" in data:
            respondents, agreed, notes = load_respondents(data)
            return evaluate_respondents(respondents, agreed, notes, what_if=True)
        return evaluate(load_answers(data), what_if=True)
    except ValidationError as error:
        fail_input(flatten_errors(error.messages))


def fail_input(lines: list[str]) -> NoReturn:
    """Report bad input on stderr and exit with status 2, writing nothing else."""
    for line in lines:
        click.echo(line, err=True)
    sys.exit(2)


# Why output cannot be written: a full disk or quota, a file too large, a device failing.
UNWRITABLE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


class ClosedInput(Exception):
    """Standard input was read but is closed (``assess evaluate <&-``)."""


class _ClosedInputFile(io.RawIOBase):
    """Stands in for a closed standard input: reading it raises ``ClosedInput``."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any, /) -> int:
        raise ClosedInput


def _database_errors() -> tuple[type[DBAPIError], ...]:
    """The database failures main() explains, once a command has loaded the database layer
    (an except clause asks for them only when something was raised)."""
    if "sqlalchemy.exc" not in sys.modules:
        return ()
    from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError, ProgrammingError

    return (OperationalError, InterfaceError, ProgrammingError, DatabaseError)


def main() -> None:
    """Run the command line; a failure it can explain ends it with one line, not a trace.

    A setting that cannot work is a click error (ConfigurationError): click says it in one
    line itself.
    """
    from assess.rulebook import RulesError

    if sys.stdin is None:  # file descriptor 0 closed: Python gives no stream at all
        sys.stdin = io.TextIOWrapper(io.BufferedReader(_ClosedInputFile()), encoding="utf-8")
    try:
        try:
            cli.main(prog_name="assess")
        finally:  # output still buffered fails here, inside the handlers below
            if sys.stdout is not None:
                sys.stdout.flush()
    except ClosedInput:
        click.echo("Error: standard input is closed; give a file, or pipe the input in.", err=True)
        sys.exit(2)
    except OSError as error:
        if error.errno not in UNWRITABLE:
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit does not try to flush it again
        click.echo(f"Error: cannot write the output: {error.strerror or error}", err=True)
        sys.exit(1)
    except RulesError as error:
        # Commands without --rules-dir take the deployment's rules, as the app does.
        click.echo(f"Error: {refusal(error)}", err=True)
        sys.exit(1)
    except EngineError as error:
        click.echo(f"Error: {error}; run 'assess rules check' to see where.", err=True)
        sys.exit(1)
    except _database_errors() as error:
        explained = database_failure(error)
        if explained is None:
            raise
        click.echo(f"Error: {explained}", err=True)
        sys.exit(1)


def database_failure(error: DBAPIError) -> str | None:
    """Say in a line what is wrong with the database; None for a failure of the command
    itself (IntegrityError, ProgrammingError...), which is not the database's."""
    from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    sqlstate = getattr(error.orig, "sqlstate", None)
    if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
        return "the database has no tables yet; run 'assess db upgrade'."
    # A column this version reads is missing: migrated, but by an earlier version.
    if sqlstate == "42703" or "no such column" in reason:
        return "the database is not migrated as far as this version needs; run 'assess db upgrade'."
    # PostgreSQL's insufficient privilege, and no schema the account may create in.
    if sqlstate in ("42501", "3F000"):
        return (
            f"the database refuses this account ({reason}); check the user DATABASE_URL names"
            " and its rights."
        )
    # The plain DatabaseError is a file that is not a database (or a damaged one).
    if type(error) is DatabaseError or isinstance(error, (OperationalError, InterfaceError)):
        return f"the database cannot be reached ({reason}); check DATABASE_URL."
    return None


@cli.command(
    "evaluate", with_appcontext=False, short_help="Decide the partnership model for answers."
)
@click.argument("answers_file", type=click.File("r"), default="-")
@click.option(
    "--format",
    "output",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json: the decision document; text: a summary for a person.",
)
def evaluate_command(answers_file: IO[str], output: str) -> None:
    """Decide the partnership model for ANSWERS_FILE (JSON; '-' or omitted: stdin).

    The file holds either the eight answers, or {"respondents": [{"name", "side",
    "answers"}, ...], "consensus": {agreed values}, "notes": {why each was agreed}} for
    partners who answered separately.
    """
    decision = decide(answers_file)
    if output == "json":
        click.echo(json.dumps(decision.to_dict(), indent=2))
    else:
        click.echo(summary_text(decision))


def summary_text(decision: Decision) -> str:
    """Render a decision as a short report for a terminal."""
    from assess import partnership
    from assess.factors import BY_KEY as FACTORS_BY_KEY
    from assess.factors import FACTORS
    from assess.protocols import BY_ID, quantity

    lines = [f"Recommended model: {decision.title}", ""]
    if decision.weak_fit_note:
        lines += [decision.weak_fit_note, ""]
    # Highest first, the recommended models first among equal scores, named as everywhere else.
    lines.append(
        "Scores: "
        + ", ".join(
            f"{partnership.BY_KEY[key].title} {score_text(score)}"
            for key, score in decision.ranked_scores()
        )
    )
    lines += ["", "Answers:"]
    lines += [f"  {f.label:<36} {decision.answers[f.key]}" for f in FACTORS]
    lines += ["", "Protocols:"]
    # Each parameter in words with its unit, as the result page lists it.
    for p in decision.protocols:
        protocol = BY_ID[p.id]
        lines.append(f"  - {protocol.title}")
        for name, value in p.params.items():
            spec = protocol.param(name)
            said = f"{spec.label} {quantity(value, spec.unit)}" if spec else f"{name} {value}"
            lines.append(f"      {said}")
    lines += ["", "Escalation:"]
    lines += [
        f"  {t.tier}. {t.title}, up to {quantity(t.max_days, 'days')}" for t in decision.escalation
    ]
    if decision.alignment is not None:
        people = [f"{shown(r.name)} ({r.side})" for r in decision.alignment.respondents]
        lines += [
            "",
            "Alignment (largest gaps first):",
            f"  Answers of {join_names(people)}, in that order.",
        ]
        for key in decision.alignment.by_gap():
            a = decision.alignment.factors[key]
            values = ", ".join(str(v) for v in a.values)
            # An agreed level can sit anywhere between the answers: said, it is not read as
            # the cautious middle rounded the other way.
            agreed = " (agreed)" if key in decision.alignment.agreed else ""
            lines.append(
                f"  {FACTORS_BY_KEY[key].label:<36} {values:<12} gap {a.gap} ({a.level}), "
                f"consensus {decision.alignment.consensus[key]}{agreed}"
            )
            note = decision.alignment.notes.get(key)
            if note:
                lines.append(f"    Why: {shown(note)}")
        lines += [
            # A name from the file may hold a direction override, which would turn the
            # rest of the line around: it shows as "?".
            f"  {shown(i.name)} ({i.side}) alone: {partnership.title(i.model, i.components)}"
            for i in decision.alignment.individual
        ]
    lines += ["", "Why:"]
    for reason in decision.trace:
        line = f"  - {reason.because}"
        if reason.weights:  # what a scoring rule added to each model, as the scores add up
            line += f" ({reason.weights_text})"
        # The reason keeps its rule's own words: say the value that applies instead, as the
        # result page and the charter do.
        if reason.outweighed:
            applies = "; ".join(
                f"{o.spec.label} {quantity(o.applies, o.spec.unit)}" for o in reason.outweighed
            )
            line += f" Another rule is stricter, so this applies: {applies}."
        lines.append(line)
    if decision.what_if is not None:
        lines += ["", "Tipping points:"]
        lines += [f"  - {w.sentence()}" for w in decision.what_if] or [
            "  No single one-step change to one answer would change the recommendation."
        ]
    return "\n".join(lines)


def rules_folder(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Read the folder as the app reads ASSESS_RULES_DIR: blank means the project's rules.

    A value that is not a folder is refused naming where it came from: the option, or the
    environment variable a user may have set long ago and forgotten.
    """
    folder = value.strip() if value is not None else ""
    if not folder:
        return None
    if not os.path.isdir(folder):
        problem = "is not a folder" if os.path.exists(folder) else "does not exist"
        if ctx.get_parameter_source(str(param.name)) is ParameterSource.ENVIRONMENT:
            hint = f"the environment variable {param.envvar}"
            raise click.BadParameter(f"{folder!r} {problem}.", ctx, param_hint=hint)
        raise click.BadParameter(f"{folder!r} {problem}.", ctx, param)
    return folder


# The rules a `rules` command works on, as the app chooses them.
rules_dir_option = click.option(
    "--rules-dir",
    # Checked by rules_folder, which can tell the option from the environment variable.
    type=click.Path(),
    metavar="DIRECTORY",
    envvar="ASSESS_RULES_DIR",
    callback=rules_folder,
    help="Default: $ASSESS_RULES_DIR, else rules/.",
)


@cli.group("rules")
def rules_group() -> None:
    """Check and explore the decision rules in rules/."""


@rules_group.command(
    "check", with_appcontext=False, short_help="Validate the rules and run their scenarios."
)
@rules_dir_option
def rules_check(rules_dir: str | None) -> None:
    """Validate the rules files and run their scenarios; exit 1 on any problem."""
    from assess import scenarios
    from assess.engine import EngineError, load_engine
    from assess.rulebook import RulesError

    try:
        engine = load_engine(rules_dir)
        cases = scenarios.load(engine.rulebook.directory)
    except RulesError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        sys.exit(1)
    failed: list[tuple[scenarios.Scenario, str]] = []
    for case in cases:
        try:
            failed += [(case, problem) for problem in case.failures(engine)]
        except EngineError as error:  # the rules decide, but not something the product can use
            failed.append((case, f"the rules fail on its answers: {error}"))
    for case, problem in failed:
        click.echo(f"{case.file}: scenario {case.name}: {problem}", err=True)
    if failed:
        sys.exit(1)
    book = engine.rulebook
    click.echo(
        f"rules OK: {len(book.rules)} rules "
        f"({len(book.stage('scoring'))} scoring, {len(book.stage('protocols'))} protocols), "
        f"{len(cases)} scenarios pass, version {book.version[:12]}"
    )


@rules_group.command(
    "sweep", with_appcontext=False, short_help="Evaluate every answer set against the invariants."
)
@rules_dir_option
@click.option("--workers", type=click.IntRange(1, 64), help="Default: one per core.")
def rules_sweep(rules_dir: str | None, workers: int | None) -> None:
    """Evaluate all 390,625 answer sets, check the invariants and print model shares."""
    import time

    from assess.rulebook import RulesError
    from assess.sweep import DECIDES, INVARIANTS, sweep

    started = time.perf_counter()
    try:
        result = sweep(rules_dir, workers)
    except RulesError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        sys.exit(1)
    elapsed = time.perf_counter() - started
    click.echo(f"{result.evaluated:,} answer sets evaluated in {elapsed:.1f} s")
    click.echo("")
    click.echo(f"{'outcome':<46} {'answer sets':>12} {'share':>8}")
    for label, count, share in result.shares():
        click.echo(f"{label:<46} {count:>12,} {share:>8.2%}")
    click.echo("")
    misfit_share = result.misfits / max(result.evaluated, 1)
    click.echo(
        f"{result.misfits:,} answer sets ({misfit_share:.2%}) led by a model the answers speak "
        "against while another fits"
    )
    click.echo("")
    for name in (DECIDES, *INVARIANTS):
        examples = result.violations.get(name)
        click.echo(f"{'FAIL' if examples else 'ok':<5} {name}")
        for answers in examples or []:
            click.echo(f"        e.g. {json.dumps(answers)}")
    if result.violations:
        sys.exit(1)


if __name__ == "__main__":
    main()
