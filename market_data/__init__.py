"""Getting prices in, clean: loaders for the formats users have, validation that names the bad
row, merging of sources, trading calendars and the embedded reference market."""

from market_data.calendar import TradingCalendar, calendar_for
from market_data.errors import DataError, DataWarning, Problem, ValidationReport
from market_data.icap import icap_systems
from market_data.merge import Merged, basis_changes, merge_sources
from market_data.reference import REFERENCE_SEED, ReferenceSpec, reference_market
from market_data.sources import FORMATS, REFERENCE, SourceOptions, check, detect_format, load
from market_data.summary import Summary, summarise
from market_data.validate import validate_frame

__all__ = [
    "FORMATS",
    "REFERENCE",
    "REFERENCE_SEED",
    "DataError",
    "DataWarning",
    "Merged",
    "Problem",
    "ReferenceSpec",
    "SourceOptions",
    "Summary",
    "TradingCalendar",
    "ValidationReport",
    "basis_changes",
    "calendar_for",
    "check",
    "detect_format",
    "icap_systems",
    "load",
    "merge_sources",
    "reference_market",
    "summarise",
    "validate_frame",
]
