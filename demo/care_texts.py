"""The demo's care texts and broadcasts (issue 20): SZ01's care manager has rewritten the
first-maintenance call script, sent a holiday greeting this month and scheduled a weather
warning for tomorrow morning. Made by the services, once (a rerun adds nothing)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.auth.services import get_user_by_mobile
from app.campaigns.broadcasts.models import Broadcast
from app.campaigns.broadcasts.sending import send_due_broadcasts
from app.campaigns.broadcasts.services import (
    BroadcastData,
    create_broadcast,
    schedule_broadcast,
)
from app.campaigns.calls.targeting import TargetFilters
from app.care.texts.kinds import TextKind
from app.care.texts.services import own_version, save_text
from app.core.clock import local_date
from app.extensions import db

SCRIPT = (
    "{name}您好，我是{dealer}客服{agent}。您的{car}交车快两个月了，最近开得怎么样？"
    "首次保养请在交车后三个月内或5,000公里内进行，现在预约可送空调滤芯检查一次。"
    "到店请带保养手册和行驶证。您看哪天方便？"
)


def _greeting(kind: str, send_at: datetime, zh: tuple[str, str], en: tuple[str, str]):
    return BroadcastData(
        kind=kind,
        send_at=send_at,
        title_zh=zh[0],
        body_zh=zh[1],
        title_en=en[0],
        body_en=en[1],
        filters=TargetFilters(),
    )


def seed_care_texts(dealer, manager_mobile: str, now: datetime) -> int:
    """SZ01's script and broadcasts, unless it has broadcasts already: how many were made."""
    if db.session.scalar(select(Broadcast.id).where(Broadcast.dealer_id == dealer.id)):
        return 0
    manager = get_user_by_mobile(manager_mobile)
    kind = TextKind.FIRST_MAINTENANCE_SCRIPT
    base = own_version(dealer.id, kind, "zh")
    save_text(manager, dealer.id, kind, "zh", title="", body=SCRIPT, base_version=base, now=now)
    greeting = create_broadcast(
        manager,
        _greeting(
            "holiday_greeting",
            now + timedelta(minutes=1),
            ("{name}，节日快乐！", "{dealer}全体同仁祝您和家人节日快乐，出行平安。"),
            ("Happy holidays, {name}!", "Everyone at {dealer} wishes you safe travels."),
        ),
        dealer_id=dealer.id,
        now=now,
    )
    schedule_broadcast(manager, greeting.id, now=now)
    db.session.commit()
    send_due_broadcasts(now=now + timedelta(minutes=1))
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    tomorrow = datetime.combine(local_date(now) + timedelta(days=1), time(9), tzinfo=zone)
    warning = create_broadcast(
        manager,
        _greeting(
            "weather_warning",
            tomorrow,
            ("暴雨预警", "{name}，明天有暴雨，请避开积水路段；车辆需要救援请致电{dealer}。"),
            ("Heavy rain tomorrow", "{name}, keep off flooded roads; {dealer} is a call away."),
        ),
        dealer_id=dealer.id,
        now=now,
    )
    schedule_broadcast(manager, warning.id, now=now)
    return 2
