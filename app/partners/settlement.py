"""Each partner's monthly settlement (R9): the perks it honoured, by perk and by tier, and its
CSV."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core.clock import local_date, local_midnight, utcnow
from app.core.csvfile import csv_text
from app.core.errors import ValidationFailed
from app.extensions import db
from app.loyalty.services import tier_label
from app.loyalty.tiers import tier_ranks
from app.partners.models import Partner, Perk, PerkClaim

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str | None, *, now: datetime | None = None) -> date:
    """The first day of ``YYYY-MM`` (default: this month); ValidationFailed otherwise."""
    if not text:
        return local_date(now or utcnow()).replace(day=1)
    found = _MONTH_RE.match(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise ValidationFailed(_l("Choose a month, e.g. 2026-11."), field="month")
    return date(int(found.group(1)), int(found.group(2)), 1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


@dataclass(frozen=True)
class SettlementLine:
    """Perks honoured in the month: one perk, one tier."""

    perk_title: str
    tier_code: str
    count: int


@dataclass(frozen=True)
class Settlement:
    """What a partner honoured in a month (club time), by perk and tier."""

    partner: Partner
    month: date
    lines: list[SettlementLine]
    by_tier: dict[str, int]
    total: int


def settlement_for(partner: Partner, month: date) -> Settlement:
    """The perks ``partner`` honoured in ``month`` (its first day), by perk and by tier."""
    start, end = local_midnight(month), local_midnight(_next_month(month))
    ranks = tier_ranks()
    rows = db.session.execute(
        select(Perk.id, Perk.title, PerkClaim.tier_code, func.count(PerkClaim.id))
        .join(Perk, Perk.id == PerkClaim.perk_id)
        .where(
            Perk.partner_id == partner.id,
            PerkClaim.honoured_at >= start,
            PerkClaim.honoured_at < end,
        )
        .group_by(Perk.id, Perk.title, PerkClaim.tier_code)
    ).all()
    rows.sort(key=lambda r: (r[1], r[0], ranks.get(r[2], 0)))
    lines = [SettlementLine(title, tier, count) for _id, title, tier, count in rows]
    by_tier: dict[str, int] = defaultdict(int)
    for line in lines:
        by_tier[line.tier_code] += line.count
    ordered = {code: by_tier[code] for code in sorted(by_tier, key=lambda c: ranks.get(c, 0))}
    return Settlement(partner, month, lines, ordered, sum(ordered.values()))


def settlement_csv(settlement: Settlement) -> bytes:
    """The settlement as CSV in UTF-8 with a BOM (so spreadsheet programs read the Chinese)."""
    month = settlement.month.strftime("%Y-%m")
    name = settlement.partner.name
    rows = [
        [name, month, line.perk_title, tier_label(line.tier_code), line.count]
        for line in settlement.lines
    ]
    rows += [
        [name, month, str(_l("All perks")), tier_label(code), count]
        for code, count in settlement.by_tier.items()
    ]
    rows.append([name, month, str(_l("All perks")), str(_l("All tiers")), settlement.total])
    header = (_l("Partner"), _l("Month"), _l("Perk"), _l("Tier"), _l("Perks honoured"))
    return csv_text(header, rows).encode("utf-8")
