"""Command-line tools: `flask seed-demo` (demo/), `flask staff create|reset-second-factor`,
`flask totp-code` (development), `flask keys generate`,
`flask api-keys create|revoke|list`, and `flask bench` (bench/)."""

import os

import click
from flask import Flask
from flask.cli import with_appcontext

from app.core.errors import DomainError
from app.core.permissions import Role
from app.extensions import db


@click.command("seed-demo")
@click.option("--members", "member_count", default=50, show_default=True, help="Owners to create.")
@with_appcontext
def seed_demo_command(member_count: int) -> None:
    """Load demo dealers, staff and owners (idempotent)."""
    from demo.seed import DEMO_PASSWORD, seed_demo

    created = seed_demo(member_count)
    db.session.commit()
    click.echo(
        "Demo data: {dealers} dealers, {staff} staff, {members} members, {vehicles} cars created. "
        "Password for every demo account: {pw}".format(**created, pw=DEMO_PASSWORD)
    )


@click.command("totp-code")
@click.argument("mobile")
@with_appcontext
def totp_code_command(mobile: str) -> None:
    """Development only: print the current second-factor code of an enrolled account."""
    from flask import current_app

    from app.auth.second_factor import code_at
    from app.auth.services import get_user_by_mobile
    from app.core.clock import utcnow
    from app.core.identifiers import normalize_mobile

    if (
        current_app.config.get("TESTING") is not True
        and os.environ.get("CARCLUB_ENV", "development") != "development"
    ):
        raise click.ClickException("flask totp-code works in development only (CARCLUB_ENV).")
    user = get_user_by_mobile(normalize_mobile(mobile) or "")
    if user is None or not user.totp_secret:
        raise click.ClickException(f"No account with a second factor has the number {mobile}.")
    click.echo(code_at(user.totp_secret, utcnow()))


@click.group("staff")
def staff_group() -> None:
    """Manage staff and partner accounts."""


@staff_group.command("create")
@click.option("--mobile", required=True)
@click.option("--name", required=True)
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role if r != Role.MEMBER])
)
@click.option("--dealer", "dealer_code", help="Dealer code; required for dealer staff.")
@click.password_option()
@with_appcontext
def create_staff_command(mobile, name, role, dealer_code, password) -> None:
    """Create a staff or partner account."""
    from app.members.registration import create_staff

    try:
        user = create_staff(
            None,
            mobile=mobile,
            password=password,
            name=name,
            role=Role(role),
            dealer_code=dealer_code,
        )
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    click.echo(f"Created {role} account {user.mobile}.")


@staff_group.command("reset-second-factor")
@click.argument("mobile")
@with_appcontext
def reset_second_factor_command(mobile: str) -> None:
    """Forget a staff member's authenticator app (lost phone): they set it up at next login."""
    from app.auth.second_factor import reset_second_factor
    from app.auth.services import get_user_by_mobile
    from app.core.identifiers import normalize_mobile

    user = get_user_by_mobile(normalize_mobile(mobile) or "")
    if user is None:
        raise click.ClickException(f"No account has the number {mobile}.")
    reset_second_factor(None, user)
    db.session.commit()
    click.echo(f"Second factor of {user.mobile} reset; their sessions are ended.")


@click.group("keys")
def keys_group() -> None:
    """Signing keys for QR tokens."""


@keys_group.command("generate")
@click.option("--key-id", default=1, show_default=True, type=click.IntRange(0, 255))
def generate_key_command(key_id: int) -> None:
    """Print a new TOKEN_SIGNING_KEY value (keep it secret)."""
    from app.core.tokens import generate_key_spec

    click.echo(generate_key_spec(key_id))


@click.group("loyalty")
def loyalty_group() -> None:
    """Daily loyalty jobs."""


@loyalty_group.command("expire")
@with_appcontext
def expire_command() -> None:
    """Expire points older than 24 months (daily; safe to rerun)."""
    from app.loyalty.ledger import expire_points

    expired = expire_points()
    db.session.commit()
    click.echo(f"Expired {expired} points.")


@loyalty_group.command("daily")
@with_appcontext
def daily_command() -> None:
    """The daily loyalty job: announced tier changes due today, expiry, annual reviews, the
    anniversary gift codes of the day, then announced rule changes told to every owner.

    Each account is its own transaction, in id order: owners are never blocked for long, and
    two hosts running the job at once queue on the same rows instead of deadlocking.
    """
    from app.loyalty.ledger import accounts_with_expired_lots, expire_account
    from app.loyalty.services import apply_due_tier_changes
    from app.loyalty.tiers import accounts_due_for_review, review_account

    applied = apply_due_tier_changes()
    db.session.commit()
    expired = changed = 0
    for account_id in accounts_with_expired_lots():
        expired += expire_account(account_id)
        db.session.commit()
    for account_id in accounts_due_for_review():
        changed += review_account(account_id)
        db.session.commit()
    click.echo(
        f"Applied {applied} announced tier changes; expired {expired} points; "
        f"{changed} tiers changed at annual reviews."
    )
    from app.loyalty.member_benefits.anniversary import issue_anniversary_codes

    # After the reviews: the gift is the tier's the owner holds on the anniversary.
    codes = issue_anniversary_codes()
    db.session.commit()
    click.echo(f"Sent {codes} anniversary gift codes.")
    from app.members.announcements import tell_members

    told, retracted = tell_members()
    click.echo(f"Told owners of announced changes: {told} messages, {retracted} withdrawals.")


@loyalty_group.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print the breaches as JSON.")
@with_appcontext
def reconcile_command(as_json: bool) -> None:
    """Check the ledger's invariants (daily); exit 1 and list each breach if any is broken."""
    import json

    from app.loyalty.reconcile import CHECKS, reconcile_ledger

    breaches = reconcile_ledger()
    if as_json:
        click.echo(json.dumps({"breaches": [b.as_dict() for b in breaches]}, indent=2))
    else:
        for b in breaches:
            click.echo(
                f"BREACH {b.check}: account {b.account_id}, member {b.member_id}: {b.detail}"
            )
        click.echo(
            f"Checked {', '.join(CHECKS)}: "
            + (f"{len(breaches)} breaches." if breaches else "the books agree.")
        )
    if breaches:
        raise SystemExit(1)


@click.group("events")
def events_group() -> None:
    """Event jobs."""


@events_group.command("tick")
@with_appcontext
def events_tick_command() -> None:
    """Lapse unconfirmed waiting-list offers and unpaid places, passing them on, and, once an
    event is over, its waiting list, returning the deposits (every few minutes; safe to rerun
    and to run on two hosts at once: each event is locked in turn)."""
    from app.events.closing import lapse_after_event
    from app.events.services import expire_offers
    from app.payments.services import expire_unpaid

    lapsed = expire_offers()
    db.session.commit()
    unpaid = expire_unpaid()
    db.session.commit()
    ended = lapse_after_event()
    db.session.commit()
    click.echo(
        f"{lapsed} offers lapsed; {unpaid} unpaid places freed; "
        f"{ended} waiting places lapsed after their event."
    )


@click.group("api-keys")
def api_keys_group() -> None:
    """API keys of dealer systems (DMS)."""


@api_keys_group.command("create")
@click.option("--dealer", "dealer_code", required=True, help="Dealer code, e.g. SZ01.")
@click.option("--name", required=True, help="A label: which system uses the key.")
@with_appcontext
def create_api_key_command(dealer_code: str, name: str) -> None:
    """Make a key for a dealer's system; the key is the last line printed (only once)."""
    from app.api.auth import create_api_key

    try:
        api_key, key = create_api_key(None, dealer_code=dealer_code, name=name)
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    click.echo(
        f"Created API key {api_key.prefix} ({api_key.name}) for dealer {api_key.dealer.code}. "
        "Copy it now: only its hash is stored, it cannot be shown again."
    )
    click.echo(key)


@api_keys_group.command("revoke")
@click.argument("prefix")
@with_appcontext
def revoke_api_key_command(prefix: str) -> None:
    """Stop the key with PREFIX (the part before the dot) from working."""
    from app.api.auth import revoke_api_key

    try:
        api_key = revoke_api_key(None, prefix)
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    click.echo(f"Revoked API key {api_key.prefix} ({api_key.name}).")


@api_keys_group.command("list")
@with_appcontext
def list_api_keys_command() -> None:
    """Every key: prefix, dealer, name, created, last used, revoked."""
    from app.api.auth import list_api_keys

    def when(moment) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"

    for api_key in list_api_keys():
        state = f"revoked {when(api_key.revoked_at)}" if api_key.revoked_at else "active"
        click.echo(
            f"{api_key.prefix}  {api_key.dealer.code:<6} {api_key.name:<24} "
            f"created {when(api_key.created_at)}  last used {when(api_key.last_used_at)}  "
            f"{state}"
        )


@click.command("housekeeping")
@with_appcontext
def housekeeping_command() -> None:
    """Delete finished idempotency keys past their replay window, long-expired SMS codes and
    long-ended device sessions (daily; safe to rerun)."""
    from app.auth.housekeeping import purge

    purged = purge()
    db.session.commit()
    click.echo(
        f"Deleted {purged.keys} idempotency keys, {purged.codes} SMS codes, "
        f"{purged.sessions} ended sessions."
    )


def register_cli(app: Flask) -> None:
    """Attach the commands to the app."""
    # The data generators live beside app/, not in it (bench/, demo/): only the composition
    # root names them.
    from bench.cli import bench_group

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(staff_group)
    app.cli.add_command(totp_code_command)
    app.cli.add_command(keys_group)
    app.cli.add_command(loyalty_group)
    app.cli.add_command(housekeeping_command)
    app.cli.add_command(api_keys_group)
    app.cli.add_command(events_group)
    app.cli.add_command(care_group)
    app.cli.add_command(bench_group)


@click.group("care")
def care_group() -> None:
    """Owner care: the daily reminders and the outbox sender."""


@care_group.command("run-daily")
@with_appcontext
def care_run_daily_command() -> None:
    """Create today's care reminders and call tasks, remind owners of tomorrow's events, then
    send what is due (daily; safe to rerun and to run on two hosts at once)."""
    from app.care.schedule import run_daily
    from app.members.outbox import send_due

    report = run_daily()
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(report.created.items())) or "none"
    click.echo(
        f"Created {report.total} care reminders ({kinds}); "
        f"closed {report.tasks_closed} call tasks (the owner came in, or a birthday passed); "
        f"escalated {report.complaints_escalated} overdue complaints to their dealer admin."
    )
    click.echo(
        f"Recall: {report.recalls_made} lost owners to call; "
        f"{report.recalls_closed} recalls closed as the owner came back."
    )
    if report.failed:
        click.echo(f"Failed (see the log; retried tomorrow): {', '.join(report.failed)}", err=True)
    _send_broadcasts()
    _send_event_reminders()
    _echo_sent(send_due())


def _send_event_reminders() -> None:
    from app.events.reminders import send_reminders

    reminded = send_reminders()
    db.session.commit()
    click.echo(f"Events: {reminded} owners reminded of tomorrow's event.")


@care_group.command("send")
@click.option("--limit", default=1000, show_default=True, help="Messages to send at most.")
@with_appcontext
def care_send_command(limit: int) -> None:
    """Send due e-mails and SMS of the outbox (every few minutes; retries with back-off;
    safe on several hosts: each message is claimed before it is sent)."""
    from app.members.outbox import send_due

    _send_broadcasts(quiet=True)
    _echo_sent(send_due(limit=limit))


@care_group.command("send-broadcasts")
@with_appcontext
def care_send_broadcasts_command() -> None:
    """Send the greetings and weather warnings whose time has come (run by run-daily and
    send; safe to rerun and on several hosts: each owner gets a broadcast once)."""
    _send_broadcasts()


def _send_broadcasts(*, quiet: bool = False) -> None:
    from app.campaigns.broadcasts.sending import send_due_broadcasts

    report = send_due_broadcasts()
    if report.sent or report.queued or report.skipped_consent or not quiet:
        click.echo(
            f"Broadcasts: {report.sent} finished; {report.queued} owners sent to, "
            f"{report.skipped_consent} left out without marketing consent."
        )


def _echo_sent(report) -> None:
    click.echo(
        f"Sent {report.sent} messages; {report.retried} to retry later, {report.failed} failed, "
        f"{report.skipped} skipped, {report.interrupted} interrupted sends marked failed."
    )
