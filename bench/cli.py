"""`flask bench seed`: owners at scale for the load benchmark (``make bench``)."""

import json
import os
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.core.errors import DomainError
from app.extensions import db


@click.group("bench")
def bench_group() -> None:
    """Data for benchmarks."""


@bench_group.command("seed")
@click.option(
    "--members", "member_count", required=True, type=click.IntRange(1), help="Owners to create."
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the JSON manifest [default: instance/bench-manifest.json].",
)
@click.option(
    "--password",
    default="bench-password-1",
    show_default=True,
    help="The known owner's password (every generated owner shares it).",
)
@click.option(
    "--supply",
    default=30_000,
    show_default=True,
    type=click.IntRange(1),
    help="Tickets and unused vouchers the load test gets at least.",
)
@with_appcontext
def seed_command(member_count: int, manifest_path: Path | None, password: str, supply: int) -> None:
    """Fill an empty, migrated database with N owners and three years of their history.

    Makes the demo dealers and staff, then the owners in bulk (COPY on PostgreSQL), and writes
    a manifest of what the load test needs: the known owner's and a dealer admin's logins, an
    API key of SZ01, signed tickets of today's open days, unused voucher codes and VINs (at
    least SUPPLY tickets and vouchers). Refuses a database that already has owners besides the
    demo's: use an empty database.
    """
    from bench.seed import analyze_tables, seed_bench

    started = time.perf_counter()
    try:
        result = seed_bench(members=member_count, password=password, supply=supply)
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    analyze_tables()
    seconds = round(time.perf_counter() - started, 1)
    manifest = {**result.manifest, "seconds": seconds}
    path = manifest_path or Path(current_app.instance_path) / "bench-manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # It holds an API key and passwords: readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(manifest, fh)
    rows = ", ".join(f"{table} {n:,}" for table, n in result.counts.items())
    click.echo(f"Seeded {member_count:,} owners in {seconds} s: {rows}.")
    click.echo(
        f"Manifest: {path} ({len(manifest['checkin']['tickets']):,} tickets, "
        f"{len(manifest['vouchers']):,} vouchers, {len(manifest['vins']):,} VINs)."
    )


@bench_group.command("campaign")
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the JSON [default: instance/bench-campaign.json].",
)
@with_appcontext
def campaign_command(output_path: Path | None) -> None:
    """On a seeded bench database: a campaign of SZ01 at scale through the services (target
    group, launch) with their seconds, its calls and callbacks, and a draft for the live count.

    Writes the campaigns' ids, the seconds and the logins the page timings need as JSON.
    """
    from bench.campaign import bench_campaign
    from bench.seed import analyze_tables

    try:
        result = bench_campaign()
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(str(err.message)) from None
    # Tens of thousands of new targets, calls and messages: the statistics autovacuum would
    # gather within a minute.
    analyze_tables()
    path = output_path or Path(current_app.instance_path) / "bench-campaign.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(result, fh)
    seconds = ", ".join(f"{name} {s} s" for name, s in result["seconds"].items())
    click.echo(
        f"Campaign {result['campaign_id']}: {result['targets']:,} targets, "
        f"{result['invitations']:,} invitations, {result['calls']:,} calls ({seconds})."
    )
