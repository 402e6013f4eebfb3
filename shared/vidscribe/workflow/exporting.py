"""``vidscribe export``: every selected transcript rendered in one format and written as one file
per video, named by its id. A file that already holds exactly what would be written is skipped, so
an export that was stopped resumes where it was, and a second export writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..export import render
from ..models import TranscriptFilter
from ..ports import ExportTarget, Reports

#: Transcripts read from the database at once: a keyset page (memory stays flat in the catalogue).
EXPORT_BATCH = 200


@dataclass
class ExportTally:
    total: int
    written: int = 0
    current: int = 0

    @property
    def done(self) -> int:
        return self.written + self.current


def export_transcripts(
    reports: Reports,
    selection: TranscriptFilter,
    fmt: str,
    target: ExportTarget,
    name_of: Callable[[str, str], str],
    on_file: Callable[[ExportTally], None] = lambda tally: None,
) -> ExportTally:
    """Render and write every transcript ``selection`` picks; ``on_file`` is told after each one."""
    tally = ExportTally(total=reports.transcript_count(selection))
    after: str | None = None
    while page := reports.transcript_page(selection, after, EXPORT_BATCH):
        for transcript in page:
            assert transcript.video_id is not None  # the store's transcripts carry their id
            data = render(transcript, fmt).encode("utf-8")
            name = name_of(transcript.video_id, fmt)
            if target.is_current(name, data):
                tally.current += 1
            else:
                target.write(name, data)
                tally.written += 1
            on_file(tally)
        after = page[-1].video_id
    return tally
