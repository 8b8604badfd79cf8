"""Hostile annotation files: entity bombs and external entities in XML, oversize and overlong files, non-finite
coordinates, contour floods, SEG headers declaring gigabytes. Each gets one ReadError naming the file.

Each file is read in a subprocess with a timeout, so a regression shows as a killed child or a wrong message
instead of taking the test run's memory or time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need
from covidct import fixtures as F
from covidct.readers import ReadError
from covidct.readers import annotation_files as A

SRC = str(Path(__file__).resolve().parents[2] / "src")
RUNNER = """
import sys
from covidct.readers import ReadError
from covidct.readers.annotation_files import read_annotations
try:
    read_annotations(sys.argv[1], sys.argv[2])
except ReadError as exc:
    print(exc)
    sys.exit(3)
print("read")
"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<LidcReadMessage xmlns="http://www.nih.gov"><ResponseHeader><SeriesInstanceUid>&lol9;</SeriesInstanceUid>
</ResponseHeader></LidcReadMessage>
"""
EXTERNAL = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE LidcReadMessage [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<LidcReadMessage xmlns="http://www.nih.gov"><ResponseHeader><SeriesInstanceUid>&secret;</SeriesInstanceUid>
</ResponseHeader></LidcReadMessage>
"""
DECLARED = "has a DOCTYPE or entity declaration"
ROOT = '<?xml version="1.0" encoding="UTF-8"?>\n<LidcReadMessage xmlns="http://www.nih.gov">'


def run(path: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run([sys.executable, "-c", RUNNER, str(path), fmt], capture_output=True, text=True,
                          timeout=60, env=env)


def refused(path: Path, fmt: str, message: str) -> None:
    done = run(path, fmt)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(path)), lines
    assert message in lines[0]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("billion-laughs.xml", BILLION_LAUGHS, DECLARED),
    ("external-entity.xml", EXTERNAL, DECLARED),
    # ways around the check: lower case, a declaration without a DOCTYPE, one in UTF-16 or another encoding
    ("lowercase.xml", EXTERNAL.replace("<!DOCTYPE", "<!doctype"), DECLARED),
    ("bare-entity.xml", ROOT + '<!ENTITY x "y"></LidcReadMessage>', DECLARED),
    ("in-comment-is-fine-but-not-this.xml", ROOT + "<!-- c --><!ELEMENT a ANY></LidcReadMessage>", DECLARED),
    ("utf16.xml", None, "not UTF-8 XML"),
    ("utf7.xml", EXTERNAL.replace("UTF-8", "UTF-7"), "declares the encoding utf-7"),
    ("not-xml.xml", "<LidcReadMessage><roi>", "not well-formed XML"),
    ("nan.xml", ROOT + "<readingSession><unblindedReadNodule><roi><edgeMap><xCoord>nan</xCoord><yCoord>1</yCoord>"
     "</edgeMap></roi></unblindedReadNodule></readingSession></LidcReadMessage>", "is not a finite position"),
    ("huge.xml", ROOT + "<readingSession><unblindedReadNodule><roi><imageZposition>1e400</imageZposition></roi>"
     "</unblindedReadNodule></readingSession></LidcReadMessage>", "is not a finite position"),
    ("rating.xml", ROOT + "<readingSession><unblindedReadNodule><characteristics><malignancy>1e300</malignancy>"
     "</characteristics></unblindedReadNodule></readingSession></LidcReadMessage>", "is not a small whole number"),
    ("half-point.xml", ROOT + "<readingSession><unblindedReadNodule><roi><edgeMap><xCoord>1</xCoord></edgeMap>"
     "</roi></unblindedReadNodule></readingSession></LidcReadMessage>", "lacks xCoord or yCoord"),
])
def test_hostile_xml_is_refused(tmp_path, name, text, message):
    path = tmp_path / name
    if text is None:
        path.write_bytes(EXTERNAL.replace("UTF-8", "UTF-16").encode("utf-16"))
    else:
        path.write_text(text)
    refused(path, "lidc-xml", message)


def test_tag_flood_is_refused_before_parsing(tmp_path):
    path = tmp_path / "flood.xml"
    path.write_text(ROOT + "<a/>" * A.MAX_XML_MARKUP + "</LidcReadMessage>")
    assert path.stat().st_size < A.MAX_XML_BYTES
    refused(path, "lidc-xml", f"tags, more than the {A.MAX_XML_MARKUP:,} an annotation file may have")


def test_deepest_nesting_under_the_bound_reads(tmp_path):
    """Half the markup bound of nested elements (the deepest tree that passes the count) parses and frees."""
    path = tmp_path / "deep.xml"
    depth = A.MAX_XML_MARKUP // 2 - 2
    path.write_text(ROOT + "<a>" * depth + "</a>" * depth + "</LidcReadMessage>")
    done = run(path, "lidc-xml")
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "read", "")


def test_oversize_files_are_refused_from_their_size(tmp_path):
    for fmt, limit in (("lidc-xml", A.MAX_XML_BYTES), ("rtstruct", A.MAX_FILE_BYTES)):
        path = tmp_path / f"big.{fmt}"
        with open(path, "wb") as fh:
            fh.truncate(limit + 1)  # sparse: no disk used
        refused(path, fmt, "an annotation file may have; refused")


def test_a_fifo_is_refused(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "pipe.xml"
    os.mkfifo(path)
    refused(path, "lidc-xml", "")


@pytest.fixture
def series(tmp_path: Path) -> F.SynthSeries:
    need("pydicom")
    return F.write_ct_series(tmp_path / "data", "hostile", n_slices=3, rows=16, cols=16)


def _rtstruct(series: F.SynthSeries, tmp_path: Path, edit) -> Path:
    import pydicom

    path = tmp_path / "rt.dcm"
    path.write_bytes(F.rtstruct_bytes(series, {"GTV": [(0, [(1, 1), (5, 1), (5, 5)])]}))
    ds = pydicom.dcmread(path)
    edit(ds.ROIContourSequence[0].ContourSequence[0])
    ds.save_as(path)
    return path


@pytest.mark.filterwarnings("ignore:Invalid value for VR DS")
@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: setattr(c, "ContourData", ["1", "2", "nan"] * 3), "not a finite position"),
    (lambda c: setattr(c, "ContourData", ["1", "2", "1e308"] * 3), "not a finite position"),
    (lambda c: setattr(c, "ContourData", ["1", "2"]), "not a multiple of 3"),
])
def test_hostile_rtstruct_contours_are_refused(series, tmp_path, edit, message):
    refused(_rtstruct(series, tmp_path, edit), "rtstruct", message)


def test_contour_and_point_budgets_hold(series, tmp_path, monkeypatch):
    path = _rtstruct(series, tmp_path, lambda c: None)
    monkeypatch.setattr(A, "MAX_POINTS", 2)
    with pytest.raises(ReadError, match="more than 2 contour points"):
        A.read_rtstruct(path)
    monkeypatch.setattr(A, "MAX_POINTS", 100)
    monkeypatch.setattr(A, "MAX_CONTOURS", 0)
    with pytest.raises(ReadError, match="more than 0 contours"):
        A.read_rtstruct(path)


def test_truncated_rtstruct_is_one_message(series, tmp_path):
    path = _rtstruct(series, tmp_path, lambda c: None)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    done = run(path, "rtstruct")
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stdout + done.stderr


def test_seg_declaring_gigabytes_is_refused_before_decoding(series, tmp_path):
    need("highdicom")
    import numpy as np
    import pydicom

    path = tmp_path / "seg.dcm"
    path.write_bytes(F.seg_bytes(series, {"nodule": np.ones((3, 16, 16), bool)}))
    ds = pydicom.dcmread(path)
    ds.NumberOfFrames, ds.Rows, ds.Columns = 60000, 65535, 65535
    ds.save_as(path)
    refused(path, "seg", "refused before decoding")


def test_one_huge_contour_is_refused_before_it_is_parsed(series, tmp_path, monkeypatch):
    """The point bound is checked from the value count of the raw ContourData, before numbers are parsed."""
    path = _rtstruct(series, tmp_path, lambda c: setattr(c, "ContourData", ["1.5", "2.5", "-100"] * 5000))
    parsed = []
    import numpy as np

    monkeypatch.setattr(A, "MAX_POINTS", 4999)
    original = np.fromstring
    monkeypatch.setattr(np, "fromstring", lambda *a, **k: parsed.append(1) or original(*a, **k))
    with pytest.raises(ReadError, match="more than 4,999 contour points"):
        A.read_rtstruct(path)
    assert parsed == []


# ------------------------------------------------------------------------ PASCAL VOC boxes (voc-xml)

VOC_NAME = "1.2.826.0.1.3680043.8.498.1.xml"  # a VOC file is read only when its name is a SOPInstanceUID
VOC_ROOT = '<?xml version="1.0" encoding="UTF-8"?>\n<annotation verified="no">'
VOC_BOX = "<object><name>A</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>"


# ids are the names: a test id holding the 900 KB box flood reached PYTEST_CURRENT_TEST, and the subprocess that
# reads the file could not start ("Argument list too long")
@pytest.mark.parametrize(("name", "text", "message"), [
    ("billion-laughs", BILLION_LAUGHS.replace("LidcReadMessage", "annotation"), DECLARED),
    ("external-entity", EXTERNAL.replace("LidcReadMessage", "annotation"), DECLARED),
    ("lowercase", EXTERNAL.replace("<!DOCTYPE LidcReadMessage", "<!doctype annotation"), DECLARED),
    ("bare-entity", VOC_ROOT + '<!ENTITY x "y"></annotation>', DECLARED),
    ("element-after-comment", VOC_ROOT + "<!-- c --><!ELEMENT a ANY></annotation>", DECLARED),
    ("utf16", None, "not UTF-8 XML"),
    ("utf7", VOC_ROOT.replace("UTF-8", "UTF-7") + "</annotation>", "declares the encoding utf-7"),
    ("not-xml", "<annotation><object>", "not well-formed XML"),
    ("nan", VOC_ROOT + VOC_BOX.replace("<xmin>1<", "<xmin>nan<") + "</annotation>", "is not a finite position"),
    ("huge", VOC_ROOT + VOC_BOX.replace("<xmax>2<", "<xmax>1e400<") + "</annotation>", "is not a finite position"),
    ("far", VOC_ROOT + VOC_BOX.replace("<xmax>2<", "<xmax>1e9<") + "</annotation>", "is not a finite position"),
    ("inverted", VOC_ROOT + VOC_BOX.replace("<xmax>2<", "<xmax>-5<") + "</annotation>", "xmax < xmin"),
    # the most objects 1 MB holds (without names): the object count is a bound of its own
    ("box-flood", VOC_ROOT + VOC_BOX.replace("<name>A</name>", "") * (A.MAX_BOXES + 1) + "</annotation>",
     f"more than {A.MAX_BOXES:,} objects"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 and "<" not in v else "")
def test_hostile_voc_xml_is_refused(tmp_path, name, text, message):
    path = tmp_path / name / VOC_NAME
    path.parent.mkdir()
    if text is None:
        path.write_bytes((VOC_ROOT.replace("UTF-8", "UTF-16") + "</annotation>").encode("utf-16"))
    else:
        path.write_text(text)
    refused(path, "voc-xml", message)


def test_voc_files_have_a_slice_sized_bound(tmp_path):
    """The VOC reader goes through the LIDC reader's front end with a bound for one slice's boxes (1 MB): a tag
    flood or a deep nesting is refused from its size before expat; the deepest nesting under it reads."""
    for name, text in (("flood", VOC_ROOT + "<a/>" * A.MAX_XML_MARKUP + "</annotation>"),
                       ("deep", VOC_ROOT + "<a>" * 200_000 + "</a>" * 200_000 + "</annotation>")):
        path = tmp_path / name / VOC_NAME
        path.parent.mkdir()
        path.write_text(text)
        refused(path, "voc-xml", f"more than the {A.MAX_VOC_BYTES:,} an annotation file may have; refused")
    deep = tmp_path / "deepest" / VOC_NAME
    deep.parent.mkdir()
    depth = (A.MAX_VOC_BYTES - 100) // 7
    deep.write_text(VOC_ROOT + "<a>" * depth + "</a>" * depth + "</annotation>")
    done = run(deep, "voc-xml")
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "read", "")
    big = tmp_path / "big" / VOC_NAME
    big.parent.mkdir()
    with open(big, "wb") as fh:
        fh.truncate(A.MAX_XML_BYTES + 1)
    refused(big, "voc-xml", "an annotation file may have; refused")


def test_a_voc_fifo_is_refused(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / VOC_NAME
    os.mkfifo(path)
    refused(path, "voc-xml", "")
