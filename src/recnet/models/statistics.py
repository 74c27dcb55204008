"""Aggregate statistics: reported observations, and the cube published from them.

``observations`` holds what member states reported, exactly (tenant-owned). ``statistics_cube`` is
derived from it after every import, one partition (an indicator and a year) at a time: the
reported cells plus the regional totals and the years rolled up from quarters or months, each with
its exact value and the value published to readers below member-state level after disclosure
control. Every read path uses the cube, so every format and endpoint gives the same protected
figures. ``statistics_cube_history`` keeps the values earlier releases published and a later one
changed or removed: disclosure control judges a new release together with them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Index, Integer, PrimaryKeyConstraint, String
from sqlmodel import Field, SQLModel

from recnet.models.types import UTCDateTime


class Observation(SQLModel, table=True):
    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_updated", "updated_at"),
        Index("ix_observations_partition", "indicator", "time_period"),
    )

    ref_area: str = Field(sa_column=Column(String(3), primary_key=True))
    indicator: str = Field(sa_column=Column(String(32), primary_key=True))
    sex: str = Field(sa_column=Column(String(3), primary_key=True))
    age: str = Field(sa_column=Column(String(8), primary_key=True))
    counterpart_area: str = Field(sa_column=Column(String(3), primary_key=True))
    time_period: str = Field(sa_column=Column(String(7), primary_key=True))
    obs_value: int = Field(sa_column=Column(Integer, nullable=False))
    obs_status: str = Field(default="A", max_length=1)
    unit_measure: str = Field(default="PS", max_length=8)
    source: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CubeCell(SQLModel, table=True):
    __tablename__ = "statistics_cube"
    __table_args__ = (
        Index("ix_statistics_cube_indicator", "indicator", "ref_area", "time_period"),
        Index("ix_statistics_cube_updated", "updated_at"),
    )

    ref_area: str = Field(sa_column=Column(String(3), primary_key=True))
    indicator: str = Field(sa_column=Column(String(32), primary_key=True))
    sex: str = Field(sa_column=Column(String(3), primary_key=True))
    age: str = Field(sa_column=Column(String(8), primary_key=True))
    counterpart_area: str = Field(sa_column=Column(String(3), primary_key=True))
    time_period: str = Field(sa_column=Column(String(7), primary_key=True))
    # A (annual), Q or M: aggregates pick a frequency without parsing periods.
    frequency: str = Field(max_length=1)
    # False for what a member state reported; True for totals and roll-ups computed here.
    derived: bool = Field(default=False)
    exact_value: int = Field(sa_column=Column(Integer, nullable=False))
    # Null when withheld by disclosure control.
    published_value: int | None = Field(default=None, sa_column=Column(Integer))
    # F (published) or C (withheld): readers below the owner are not told why.
    conf_status: str = Field(max_length=1)
    # The release of its partition in which this exact value was first published.
    since: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    obs_status: str | None = Field(default=None, max_length=1)
    unit_measure: str = Field(default="PS", max_length=8)
    source: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CubeHistory(SQLModel, table=True):
    """A value a cube cell had from release ``since`` until (not including) release ``until`` of
    its partition, when an import changed or removed it; and whether it was withheld."""

    __tablename__ = "statistics_cube_history"
    __table_args__ = (
        PrimaryKeyConstraint(
            "indicator", "ref_area", "sex", "age", "counterpart_area", "time_period", "since"
        ),
        Index("ix_statistics_cube_history_partition", "indicator", "time_period"),
    )

    ref_area: str = Field(sa_column=Column(String(3), nullable=False))
    indicator: str = Field(sa_column=Column(String(32), nullable=False))
    sex: str = Field(sa_column=Column(String(3), nullable=False))
    age: str = Field(sa_column=Column(String(8), nullable=False))
    counterpart_area: str = Field(sa_column=Column(String(3), nullable=False))
    time_period: str = Field(sa_column=Column(String(7), nullable=False))
    since: int = Field(sa_column=Column(Integer, nullable=False))
    until: int = Field(sa_column=Column(Integer, nullable=False))
    exact_value: int = Field(sa_column=Column(Integer, nullable=False))
    withheld: bool = Field(sa_column=Column(Boolean, nullable=False))
