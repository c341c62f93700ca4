"""The 公示 lists as the reports and the public page read them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.awards.award import award_programme
from ledger.awards.publicity import AwardPublication, PublicationView, get_publication

__all__ = ["PublicationView", "publication", "publications_starting"]


def publication(session: Session, publication_id: int) -> PublicationView:
    """One publication with its awards and objections, or NotFound."""
    return get_publication(session, publication_id)


def publications_starting(session: Session, programme: str, start: dt.date,
                          end: dt.date) -> list[PublicationView]:
    """The programme's publications whose period starts within `start`..`end`, oldest first."""
    prog = award_programme(session, programme)
    ids = session.scalars(select(AwardPublication.id).where(
        AwardPublication.programme_id == prog.id, AwardPublication.starts_on >= start,
        AwardPublication.starts_on <= end).order_by(AwardPublication.id))
    return [get_publication(session, i) for i in ids]
