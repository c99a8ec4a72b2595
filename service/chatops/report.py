"""The QC report of a data set version for a chat: built off the event loop, bounded, delivered as a file.

``report <ref>`` builds the same report as ``dialogforge report`` (``graph.datasets.qc``) without
the topic map (no embedder in the chat path, so it takes seconds), on versions of at most
:data:`MAX_REPORT_ROWS` rows (larger ones are refused with a pointer to the CLI). The HTML is
kept in ``data_dir/chat-reports/<name>-v<N>/`` for the download link of platforms that take no
files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agents.styles import StylePack
from graph.datasets.manifest import Manifest
from graph.datasets.qc import model
from graph.datasets.store import DatasetStore
from service.chatops.errors import ChatOpsError
from service.report_inputs import JobRejections, most_common_pack, share_cores_politely

MAX_REPORT_ROWS = 50_000
MAX_CONCURRENT_REPORTS = 1  # more wait their turn
MAX_QUEUED_REPORTS = 4  # built or waiting; more are refused with a message
TEXT_SAMPLE = 2_000
REPORTS_FOLDER = "chat-reports"


@dataclass(frozen=True)
class ChatReport:
    """A built report: the version, its HTML, and where the HTML is kept (for a download link)."""

    ref: str
    html: bytes
    path: Path
    headline: str

    @property
    def filename(self) -> str:
        """Return the file name the chat shows: ``<name>-v<N>-report.html``."""
        return f"{self.path.parent.name}-report.html"


def report_folder(datasets: DatasetStore, manifest: Manifest) -> Path:
    """Return where a version's chat report is kept."""
    return datasets.root.parent / REPORTS_FOLDER / f"{manifest.name}-v{manifest.version}"


def headline(version: model.VersionReport) -> str:
    """Return the figures the chat shows beside the file: rows, origins, the top warning."""
    origins = ", ".join(f"{share.name} {share.count}" for share in version.by_origin[:4]) or "none recorded"
    lines = [
        f"*QC report of `{version.ref}`*: {version.rows} rows · language {version.language}",
        f"Origins: {origins}",
    ]
    if version.warnings:
        more = f" (+{len(version.warnings) - 1} more)" if len(version.warnings) > 1 else ""
        lines.append(f"Top warning: {version.warnings[0]}{more}")
    else:
        lines.append("No warnings.")
    return "\n".join(lines)


def build_chat_report(
    datasets: DatasetStore, manifest: Manifest, pack: StylePack | None, rejections: JobRejections | None = None
) -> ChatReport:
    """Build and write a version's report (blocking: run it in a worker thread).

    Raises:
        ChatOpsError: The version is above :data:`MAX_REPORT_ROWS` rows, or the report cannot be written.
    """
    from graph.datasets.qc.build import ReportOptions, build_reports
    from graph.datasets.qc.html import write_report

    if manifest.rows > MAX_REPORT_ROWS:
        raise ChatOpsError(
            f"{manifest.ref} has {manifest.rows:,} rows; the chat reports on versions of up to {MAX_REPORT_ROWS:,}. "
            f"Run `dialogforge report {manifest.ref}` on the server instead."
        )
    share_cores_politely()
    options = ReportOptions(text_sample=TEXT_SAMPLE, map_sample=0)
    report = build_reports(datasets, [manifest], embedder=None, pack=pack, options=options, job_rejections=rejections)
    folder = report_folder(datasets, manifest)
    try:
        html_path, _ = write_report(report, folder)
    except OSError as exc:
        raise ChatOpsError(f"the report could not be written: {exc.strerror}") from None
    return ChatReport(manifest.ref, html_path.read_bytes(), html_path, headline(report.versions[0]))


async def chat_report(
    datasets: DatasetStore, manifest: Manifest, packs: Mapping[str, StylePack], rejections: JobRejections
) -> ChatReport:
    """Build a version's report in a worker thread (the event loop keeps serving)."""
    pack = most_common_pack([manifest], packs.get)
    return await asyncio.to_thread(build_chat_report, datasets, manifest, pack, rejections)
