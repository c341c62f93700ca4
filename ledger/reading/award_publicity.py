"""The 公示 lists as the reports and the public page read them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.awards.publicity import AwardPublication, PublicationView, get_publication
from ledger.programmes.programme import programme_row

__all__ = ["PublicationView", "publication", "publications_starting"]


def publication(session: Session, publication_id: int) -> PublicationView:
    """One publication with its awards and objections, or NotFound."""
    return get_publication(session, publication_id)


def publications_starting(session: Session, programme: str, start: dt.date,
                          end: dt.date) -> list[PublicationView]:
    """The programme's publications whose period starts within `start`..`end`, oldest first
    (none for a voucher programme)."""
    prog = programme_row(session, programme)
    ids = session.scalars(select(AwardPublication.id).where(
        AwardPublication.programme_id == prog.id, AwardPublication.starts_on >= start,
        AwardPublication.starts_on <= end).order_by(AwardPublication.id))
    return [get_publication(session, i) for i in ids]
