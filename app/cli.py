"""Command-line tools: `flask seed-demo`, `flask staff create`, `flask keys generate`."""

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
    from app.demo import DEMO_PASSWORD, seed_demo

    created = seed_demo(member_count)
    db.session.commit()
    click.echo(
        "Demo data: {dealers} dealers, {staff} staff, {members} members, {vehicles} cars created. "
        "Password for every demo account: {pw}".format(**created, pw=DEMO_PASSWORD)
    )


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
    from app.auth.services import create_staff

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


def register_cli(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(staff_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(loyalty_group)
