"""Label tables and text: CSV, TSV, TXT, JSON, XML (told by their suffix: it is all they have), XLS, XLSX.

Their writers are the fixture synthesizer's table writer (covidct.fixtures), which needs the card's
table spec, not pixels.
"""

from __future__ import annotations

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import BY_SUFFIX, MAGIC, Format, Sniffer, magic


def _suffix(*suffixes: str) -> Sniffer:
    def test(head: bytes, name: str) -> bool:
        return bool(name) and name.lower().endswith(suffixes)

    return test


def _xlsx(head: bytes, name: str) -> bool:
    return head.startswith(b"PK\x03\x04") and name.lower().endswith((".xlsx", ".xlsm"))


def _text(fmt: FileFormat, mime: str, suffix: str, table: bool = True) -> Format:
    return Format(fmt, mime, (suffix,), table=table, suffix_guess=True, sniffers=((BY_SUFFIX, _suffix(suffix)),))


FORMATS = [
    _text(FileFormat.CSV, "text/csv", ".csv"),
    _text(FileFormat.TSV, "text/tab-separated-values", ".tsv"),
    _text(FileFormat.TXT, "text/plain", ".txt"),
    _text(FileFormat.JSON, "application/json", ".json"),
    _text(FileFormat.XML, "application/xml", ".xml", table=False),
    Format(FileFormat.XLS, "application/vnd.ms-excel", (".xls",), table=True,
           sniffers=((MAGIC, magic(0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),)),
    Format(FileFormat.XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx", ".xlsm"),
           table=True, sniffers=((MAGIC, _xlsx),)),
]
