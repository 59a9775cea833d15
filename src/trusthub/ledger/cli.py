"""`trusthub ledger …`: verify this hub's ledger from storage, or monitor another hub's."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trusthub.config import PROJECT_ROOT, get_settings
from trusthub.ledger.keys import configured_verifiers
from trusthub.ledger.monitor import MonitorError, MonitorState, poll
from trusthub.ledger.note import Verifier
from trusthub.ledger.verify import verify

console = Console(stderr=True)

ledger_app = typer.Typer(
    help="The verifiable ledger: check it from storage, or follow another hub's.",
    no_args_is_help=True,
)

KEY_OPTION = typer.Option(
    [],
    "--key",
    help="An extra verifier key (name+keyid+base64) whose checkpoints count. Repeatable.",
)


@ledger_app.command("verify")
def verify_command(
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="The ledger's database. Default: TRUSTHUB_LEDGER_DATABASE_URL, else "
        "TRUSTHUB_DATABASE_URL.",
        show_default=False,
    ),
    workers: int = typer.Option(0, min=0, help="Processes to use (0: one per core)."),
    keys: list[str] = KEY_OPTION,
) -> None:
    """Recompute the whole Merkle tree from storage and check every stored checkpoint.

    Every entry is rehashed, every stored tile of interior hashes is rebuilt and compared, every
    checkpoint's signature (by the configured key or a previous one) and root are checked, and
    each bulk entry's per-citizen records are rehashed into their root. Prints the first index
    that disagrees and exits 1 if anything does: a changed, deleted, inserted, reordered or
    truncated entry is caught.
    """
    settings = get_settings()
    url = database_url or settings.ledger_url
    verifiers = configured_verifiers(settings) + [Verifier.from_vkey(k) for k in keys]
    if not verifiers:
        console.print("[red]no verifier key: configure TRUSTHUB_LEDGER_SIGNING_KEY or pass --key")
        raise typer.Exit(2)
    started = time.perf_counter()
    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("leaves", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = verify(
            url, settings.ledger_origin, verifiers, workers=workers or None, progress=progress
        )
    seconds = time.perf_counter() - started
    rate = report.leaves / seconds if seconds else 0.0
    console.print(
        f"{report.leaves:,} entries, {report.checkpoints:,} checkpoints, "
        f"{report.bulk_entries:,} bulk entries in {seconds:.2f} s ({rate:,.0f} entries/s)"
    )
    if report.ok:
        console.print(f"[green]ledger verifies[/green] at tree size {report.tree_size:,}")
        return
    console.print(f"[red]ledger does NOT verify[/red]: {len(report.findings)} finding(s)")
    for finding in report.findings[:20]:
        where = f"index {finding.index}: " if finding.index is not None else ""
        console.print(f"  {where}{finding.message}")
    if report.first_bad_index is not None:
        typer.echo(f"first index that disagrees: {report.first_bad_index}")
    raise typer.Exit(1)


@ledger_app.command("monitor")
def monitor_command(
    url: str = typer.Argument(..., help="The other hub's base URL, e.g. https://hub.example"),
    interval: float = typer.Option(60.0, min=0.1, help="Seconds between polls."),
    once: bool = typer.Option(False, "--once", help="Poll once and exit (1 on an alarm)."),
    every: bool = typer.Option(
        True, "--every/--latest", help="Check every published checkpoint, or only the latest."
    ),
    state: Path = typer.Option(
        PROJECT_ROOT / "var" / "ledger-monitor.json", help="Where the last verified head is kept."
    ),
    keys: list[str] = KEY_OPTION,
) -> None:
    """Follow another hub's checkpoints and check consistency between each pair.

    Each checkpoint must carry a signature by a pinned key and be provably consistent (RFC 9162
    consistency proof) with the last one this monitor verified: a log that forks, shrinks or
    rewrites its history raises an alarm. Pin the hub's key with --key; without one, the keys
    the hub publishes are trusted on first use and remembered in the state file.
    """
    remembered = MonitorState.load(state)
    if keys:
        remembered.keys = list(keys)
    with httpx.Client(timeout=30.0) as client:
        while True:
            try:
                result = poll(client, url, remembered, every_checkpoint=every)
            except MonitorError as error:
                console.print(f"[yellow]{error}[/yellow]")
                if once:
                    raise typer.Exit(2) from None
            else:
                remembered.save(state)
                for note in result.notes:
                    console.print(note)
                for alarm in result.alarms:
                    console.print(f"[red]ALARM[/red] {alarm}")
                if once:
                    raise typer.Exit(0 if result.ok else 1)
            time.sleep(interval)
