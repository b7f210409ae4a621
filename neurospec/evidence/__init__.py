"""Evidence records, their JSON files, and the per-test sink."""

from neurospec.evidence.jsonio import read_frame, read_results, write_results
from neurospec.evidence.record import SCHEMA, Record
from neurospec.evidence.results import Results
from neurospec.evidence.sink import collecting, emit, session_records

__all__ = ["SCHEMA", "Record", "Results", "collecting", "emit", "read_frame", "read_results",
           "session_records", "write_results"]
