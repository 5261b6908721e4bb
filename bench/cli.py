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


@bench_group.command("sessions")
@click.option(
    "--owners",
    "owner_count",
    default=1_000,
    show_default=True,
    type=click.IntRange(1),
    help="Owners to sign in, spread over all owners (all of them when there are fewer).",
)
@click.option(
    "--user-agent",
    default=None,
    help="The phone's User-Agent [default: an iPhone's Safari, bench.serve.PHONE_USER_AGENT].",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the Cookie headers, one a line.",
)
@with_appcontext
def sessions_command(owner_count: int, user_agent: str | None, output_path: Path) -> None:
    """Sign owners in on a phone and write the Cookie header each one's phone then sends.

    Each session is a real device session (``app.auth.sessions.start_session``) made in a
    request from 127.0.0.1 with the phone's User-Agent, holding the CSRF token the login form
    put there, and signed as Flask signs its session cookie: what the login form gives, without
    its rate limit and password hash per owner. Owners with an active card only, and not those
    whose number a care call found dead: their next page asks them to prove a working one.
    """
    from flask import session
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import exists, select

    from app.auth.models import User
    from app.auth.sessions import start_session
    from app.cards.models import CardStatus, MemberCard
    from app.care.models import ContactCorrection
    from app.core.permissions import Role
    from app.members.models import Member
    from bench.seed import analyze_tables
    from bench.serve import PHONE_USER_AGENT

    agent = user_agent or PHONE_USER_AGENT
    ids = db.session.scalars(
        select(User.id)
        .join(Member, Member.user_id == User.id)
        .join(MemberCard, MemberCard.member_id == Member.id)
        .where(
            User.role == Role.MEMBER,
            User.active.is_(True),
            User.deleted_at.is_(None),
            MemberCard.status == CardStatus.ACTIVE,
            ~exists().where(
                ContactCorrection.member_id == Member.id, ContactCorrection.status == "open"
            ),
        )
        .order_by(User.id)
    ).all()
    # Each login below has a session of its own: this one's read must not hold the database.
    db.session.close()
    if not ids:
        raise click.ClickException("No owner with an active card: seed the database first.")
    step = len(ids) / min(owner_count, len(ids))
    chosen = [ids[int(k * step)] for k in range(min(owner_count, len(ids)))]
    app = current_app._get_current_object()
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    lines = []
    for user_id in chosen:
        # A context of its own for each login, as each request has (``g`` keeps the CSRF
        # token and the user of the app context).
        with (
            app.app_context(),
            app.test_request_context(
                "/login",
                method="POST",
                headers={"User-Agent": agent},
                environ_base={"REMOTE_ADDR": "127.0.0.1"},
            ),
        ):
            generate_csrf()
            start_session(db.session.get(User, user_id))
            db.session.commit()
            lines.append(f"{name}={serializer.dumps(dict(session))}\n")
    # As autovacuum would after the logins (the bench's server runs without it): with the seed's
    # statistics PostgreSQL takes user_sessions for empty and plans the session lookup as a walk
    # of the users' key — 31 ms for a late owner at 100,000, a scale gap of the bench's own.
    analyze_tables()
    output_path.parent.mkdir(parents=True, exist_ok=True)
    # Each line signs an owner in: readable by its owner only.
    fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.writelines(lines)
    click.echo(f"Signed in {len(lines):,} of {len(ids):,} owners: {output_path}.")
