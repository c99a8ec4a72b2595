"""The QC report of a data set version: figures computed over Arrow batches, plots, HTML and JSON.

``build.build_reports(store, refs, ...)`` scans each version once (``scan``), samples rows for the
text-heavy figures (``terms``, ``topics``), and returns one ``model.VersionReport`` per version with
shared histogram bins, so ``--against`` puts every figure side by side. ``html.write_report``
renders report.html (self-contained: plots inline as SVG, no network) and report.json.
"""
