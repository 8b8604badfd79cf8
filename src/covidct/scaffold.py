"""``covidct new ID [--from-folder DIR]``: the first draft of a card, written from the model.

The scaffold holds every required field of :class:`~covidct.card.model.Card` (and the few optional
ones a reviewer asks for: sources, counts, citation), each under a comment taken from the model's
field description, so the documentation of a field lives in one place. Unknown facts are ``TODO``:
``covidct validate`` refuses a card that still has one (code C313) and lists each.

With a local copy of the data (``--from-folder``) the scaffold fills in what the files show:
formats sniffed from their bytes (not their extensions), files per folder, image sizes and bit depth,
mask values, archives with their checksums, and a guess of the layout such as ``{label}/{image}.png``.
Everything it writes is rendered through a YAML serialiser, and comment text is flattened to one
printable line, so odd file names (quotes, newlines, braces) cannot change the card's structure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import stat
import statistics
import textwrap
import typing
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any

import yaml

from covidct.card import model as M
from covidct.card.vocab import FileFormat, Vocab
from covidct.errors import CovidctError
from covidct.fsutil import UnsafePath, kind_of, open_regular
from covidct.readers import ReadError
from covidct.readers import sniff as readers_sniff
from covidct.readers.formats import all_formats, format_of, suffix_guess

TODO = "TODO"
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/card.schema.json"
WIDTH = 100

# --------------------------------------------------------------------------------------------- YAML writer


@dataclass
class F:
    """One ``key: value`` of a mapping in the scaffold, with the comment printed above it."""

    key: str
    value: Any  # scalar | list of scalars | list[F] (mapping) | Seq (list of mappings)
    comment: str | None = None
    blank: bool = False  # an empty line before (between sections)


@dataclass
class Seq:
    """A block sequence of mappings (each a list of :class:`F`)."""

    items: list[list[F]]
    comments: list[str | None] = field(default_factory=list)  # one per item, above its dash


def _one_line(text: str) -> str:
    """Comment text as one printable line: control characters (newlines included) are escaped."""
    out = []
    for ch in text:
        if ch == "\t":
            out.append(" ")
        elif ord(ch) < 32 or ord(ch) == 127 or ch in "\u2028\u2029\x85":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def _comment_lines(text: str, indent: str) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        para = _one_line(para)
        wrapped = textwrap.wrap(para, width=max(40, WIDTH - len(indent) - 2), break_long_words=False,
                                break_on_hyphens=False) or [""]
        lines.extend(f"{indent}# {w}".rstrip() for w in wrapped)
    return lines


def _scalar(value: Any) -> str:
    """A scalar (or flow list of scalars) as YAML text, quoted by the serialiser where needed."""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=1 << 30)
    text = text.strip()
    assert text.startswith("[") and text.endswith("]"), text
    text = text[1:-1]
    if isinstance(value, str) and any(c in text for c in "\n\r\x85\u2028\u2029"):
        # a line break inside a value would depend on the surrounding indentation: write it as a
        # double-quoted one-line scalar with escapes instead
        text = _double_quoted(value)
    return text


def _double_quoted(value: str) -> str:
    """A YAML double-quoted scalar on one line. (Not JSON: YAML reads JSON's surrogate pairs for
    characters beyond U+FFFF as two lone surrogates.)"""
    out = ['"']
    for ch in value:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif o < 0x20 or 0x7F <= o <= 0x9F or o in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF):
            out.append(f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _flow(values: list[Any]) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


def render(fields: list[F], indent: int = 0) -> list[str]:
    ind = " " * indent
    lines: list[str] = []
    for f in fields:
        if f.blank and lines:
            lines.append("")
        if f.comment:
            lines.extend(_comment_lines(f.comment, ind))
        key = _scalar(f.key)
        v = f.value
        if isinstance(v, Seq):
            if not v.items:
                lines.append(f"{ind}{key}: []")
                continue
            lines.append(f"{ind}{key}:")
            for i, item in enumerate(v.items):
                c = v.comments[i] if i < len(v.comments) else None
                if c:
                    lines.extend(_comment_lines(c, ind + "  "))
                sub = render(item, indent + 4)
                first = next(j for j, s in enumerate(sub) if not s.lstrip().startswith("#"))
                sub[first] = f"{ind}  - " + sub[first][indent + 4:]
                for j in range(first):  # comments of the first field sit at the dash's indentation
                    sub[j] = f"{ind}  " + sub[j][indent + 4:]
                lines.extend(sub)
        elif isinstance(v, list) and v and all(isinstance(x, F) for x in v):
            lines.append(f"{ind}{key}:")
            lines.extend(render(v, indent + 2))
        elif isinstance(v, list):
            lines.append(f"{ind}{key}: {_flow(v)}")
        elif isinstance(v, dict) and not v:
            lines.append(f"{ind}{key}: {{}}")
        else:
            lines.append(f"{ind}{key}: {_scalar(v)}")
    return lines


# --------------------------------------------------------------------------------------------- model docs

_NOTES = {
    ("Card", "license"): "License of the data as distributed (not of the paper).",
    ("Card", "access"): "How a person obtains the files.",
    ("Card", "downloads"): "Files to download, with checksums where published. "
    "Layouts name them in `archives`.",
    ("Card", "citation"): "How the authors ask to be cited.",
    ("Card", "caveats"): "Known errata, biases, leakage risks, and sources that disagree.",
    ("Config", "description"): "What this config holds, in a sentence or two.",
}


def _vocab_in(tp: Any) -> type[Vocab] | None:
    if isinstance(tp, type) and issubclass(tp, Vocab):
        return tp
    for arg in typing.get_args(tp):
        found = _vocab_in(arg)
        if found is not None:
            return found
    return None


def doc(model: type[M.BaseModel], name: str, extra: str | None = None) -> str:
    """The comment for ``model.name``: its description, allowed values, and whether it is optional."""
    f = model.model_fields[name]
    text = f.description or _NOTES.get((model.__name__, name), "")
    vocab = _vocab_in(f.annotation)
    if vocab is not None:
        text += " Allowed: " + ", ".join(m.value for m in vocab) + "."
    if not f.is_required():
        text += " (optional)"
    if extra:
        text += " " + extra
    return text.strip()


def required_fields(model: type[M.BaseModel]) -> list[str]:
    return [n for n, f in model.model_fields.items() if f.is_required()]


def _is_list(model: type[M.BaseModel], name: str) -> bool:
    tp = model.model_fields[name].annotation
    for _ in range(4):
        origin = typing.get_origin(tp)
        if origin is list:
            return True
        if origin in (typing.Union, UnionType, typing.Annotated):
            tp = typing.get_args(tp)[0]
            continue
        return False
    return False


# --------------------------------------------------------------------------------------------- survey

# archives are not file formats of the registry: covidct new lists them under `downloads`
ARCHIVE_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"7z\xbc\xaf\x27\x1c", "archive:7z"),
    (0, b"Rar!\x1a\x07", "archive:rar"),
    (257, b"ustar", "archive:tar"),
]
IMAGE_FORMATS = {f.value for f in all_formats() if f.image}
VOLUME_FORMATS = {f.value for f in all_formats() if f.volume}
TABLE_FORMATS = {f.value for f in all_formats() if f.table}
SPLIT_WORDS = {"train", "training", "val", "valid", "validation", "test", "testing", "dev", "eval"}
MASK_WORDS = {"mask", "masks", "seg", "segs", "segmentation", "segmentations", "gt", "groundtruth",
              "ground_truth", "annotation", "annotations", "infection", "lesion", "lesions", "label",
              "labels"}
IMAGE_WORDS = {"image", "images", "img", "imgs", "ct", "cts", "scan", "scans", "frame", "frames", "data",
               "volume", "volumes", "slices", "raw"}
MAX_FILES = 1_000_000
SNIFF_PER_EXT = 64
SIZE_SAMPLE = 200
MASK_SAMPLE = 16
HASH_LIMIT = 4 << 30


class ScaffoldError(CovidctError):
    """An expected problem (bad id, existing card, unreadable folder); the message says what to do."""


def sniff(path: Path) -> str:
    """File format from the first bytes, as the loader's reader sniffs it (covidct.readers.formats); else an
    archive kind; the extension decides only for text and headerless DICOM or MetaImage headers."""
    try:
        with open_regular(path) as fh:
            head = fh.read(512)
    except (OSError, UnsafePath):
        return "unreadable"
    for off, magic, kind in ARCHIVE_MAGIC:
        if head[off: off + len(magic)] == magic:
            return kind
    try:
        fmt = readers_sniff(path)
    except ReadError:
        return "unreadable"
    if fmt is not FileFormat.OTHER:
        return fmt.value
    name = path.name.lower()
    if head[:4] == b"PK\x03\x04":
        import zipfile

        try:
            with open_regular(path) as raw, zipfile.ZipFile(raw) as zf:
                names = set(zf.namelist()[:2000])
        except (zipfile.BadZipFile, OSError, UnsafePath):
            return "archive:zip"
        return FileFormat.XLSX.value if "xl/workbook.xml" in names else "archive:zip"
    if head[:2] == b"\x1f\x8b":
        return "archive:tar.gz" if name.endswith((".tar.gz", ".tgz")) else "archive:gz"
    guess = suffix_guess(path.name)
    if guess is not None:
        return guess.value
    return "raw" if name.endswith(".raw") else "other"


def _ext(name: str) -> str:
    low = name.lower()
    for compound in (".nii.gz", ".tar.gz"):
        if low.endswith(compound):
            return name[-len(compound):]
    return os.path.splitext(name)[1]


@dataclass
class ImageInfo:
    size: tuple[int, ...]
    bits: int | None
    channels: int | None = None
    spacing: tuple[float, ...] | None = None
    thickness: float | None = None
    intensity: str | None = None
    modality: str | None = None


def image_info(path: Path, fmt: str) -> ImageInfo | None:
    """Header facts of one image; None when the reader is missing or the file does not open."""
    try:
        if fmt in ("png", "jpeg", "bmp", "tiff"):
            return _pil_info(path)
        if fmt == "dicom":
            return _dicom_info(path)
        if fmt == "nifti":
            return _nifti_info(path)
        if fmt in ("metaimage", "nrrd"):
            return _itk_info(path, fmt)
    except ImportError:
        return None
    except Exception:  # a broken or exotic file: its facts stay TODO
        return None
    return None


_PIL_BITS = {"1": 1, "L": 8, "P": 8, "RGB": 8, "RGBA": 8, "LA": 8, "CMYK": 8, "YCbCr": 8, "I": 32, "F": 32}
_PIL_CHANNELS = {"1": 1, "L": 1, "P": 1, "I": 1, "F": 1, "LA": 2, "RGB": 3, "YCbCr": 3, "RGBA": 4, "CMYK": 4}


def _pil_info(path: Path) -> ImageInfo:
    from PIL import Image

    with Image.open(path) as im:  # lazy: reads the header only
        mode = im.mode
        bits = 16 if mode.startswith("I;16") else _PIL_BITS.get(mode)
        return ImageInfo(size=tuple(im.size), bits=bits, channels=_PIL_CHANNELS.get(mode.split(";")[0], 1))


def _dicom_info(path: Path) -> ImageInfo:
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    rows, cols = int(ds.get("Rows", 0)), int(ds.get("Columns", 0))
    spacing = tuple(float(x) for x in ds.get("PixelSpacing", []) or []) or None
    thick = ds.get("SliceThickness")
    intensity = "stored-with-rescale" if "RescaleSlope" in ds or "RescaleIntercept" in ds else None
    return ImageInfo(size=(cols, rows), bits=int(ds.get("BitsStored", 0)) or None,
                     channels=int(ds.get("SamplesPerPixel", 1)), spacing=spacing,
                     thickness=float(thick) if thick not in (None, "") else None, intensity=intensity,
                     modality=str(ds.get("Modality", "")) or None)


def _nifti_info(path: Path) -> ImageInfo:
    import nibabel

    img = nibabel.load(str(path))
    hdr = img.header
    shape = tuple(int(x) for x in hdr.get_data_shape())
    zooms = tuple(float(z) for z in hdr.get_zooms())
    dtype = hdr.get_data_dtype()
    return ImageInfo(size=shape, bits=dtype.itemsize * 8, spacing=zooms[:2] if len(zooms) >= 2 else None,
                     thickness=zooms[2] if len(zooms) >= 3 else None,
                     intensity="float" if dtype.kind == "f" else None)


def _itk_info(path: Path, fmt: str) -> ImageInfo | None:
    """MetaImage or NRRD: the header as the loader's reader reads it (SimpleITK, data file checked)."""
    meta = format_of(fmt).read_header(path)
    dims = tuple(int(x) for x in meta["size_xyz"]) or None  # type: ignore[attr-defined]
    if not dims:
        return None
    sp = tuple(float(x) for x in meta["spacing_xyz"]) or None  # type: ignore[attr-defined]
    bits = re.match(r"(\d+)-bit", str(meta.get("pixel_type", "")))
    return ImageInfo(size=dims, bits=int(bits.group(1)) if bits else None, spacing=sp[:2] if sp else None,
                     thickness=sp[2] if sp and len(sp) > 2 else None)


@dataclass
class Survey:
    """What a local copy of a dataset shows."""

    root: Path
    files: list[tuple[str, str]] = field(default_factory=list)  # (relative posix path, sniffed format)
    per_folder: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)  # symlinks and unreadable entries
    truncated: bool = False
    sizes: dict[str, int] = field(default_factory=dict)  # relative path -> bytes (archives, tables)

    def by_format(self) -> Counter[str]:
        return Counter(f for _, f in self.files)


def _walk(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    """(relative posix path, absolute path, why it is skipped or None) of every non-hidden file.

    Links are never followed, and nothing but a regular file is ever opened: a FIFO named
    ``a/1.png`` or ``data.zip`` would block the sniffer forever.
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            try:
                mode = p.lstat().st_mode
            except OSError as exc:
                yield rel, p, f"cannot be read: {exc.strerror or exc}"
                continue
            if stat.S_ISLNK(mode):
                yield rel, p, "symbolic link, not followed"
            elif not stat.S_ISREG(mode):
                yield rel, p, f"{kind_of(mode)}, not a regular file: not read"
            else:
                yield rel, p, None
        for d in list(dirnames):
            if (Path(dirpath) / d).is_symlink():
                dirnames.remove(d)
                rel = (d if rel_dir == "." else f"{rel_dir}/{d}") + "/"
                yield rel, Path(dirpath) / d, "symbolic link, not followed"


def survey(folder: str | os.PathLike[str]) -> Survey:
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ScaffoldError(f"--from-folder {folder}: not a folder")
    sv = Survey(root=root)
    entries: list[tuple[str, Path]] = []
    for rel, p, skip in _walk(root):
        if skip:
            sv.skipped.append(f"{rel} ({skip})")
            continue
        if len(entries) >= MAX_FILES:
            sv.truncated = True
            break
        entries.append((rel, p))
        parent = rel.rsplit("/", 1)[0] if "/" in rel else "."
        sv.per_folder[parent] += 1
    # sniff a spread sample of each extension per top folder; the rest share the majority format
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (rel, _) in enumerate(entries):
        top = rel.split("/", 1)[0] if "/" in rel else ""
        groups[(top, _ext(rel).lower())].append(i)
    formats: list[str] = [""] * len(entries)
    for idx in groups.values():
        step = max(1, len(idx) // SNIFF_PER_EXT)
        seen = Counter(sniff(entries[i][1]) for i in idx[::step][:SNIFF_PER_EXT])
        majority = seen.most_common(1)[0][0]
        for i in idx:
            formats[i] = majority
        if len(seen) > 1:  # extensions that lie: sniff every file of the group
            for i in idx:
                formats[i] = sniff(entries[i][1])
    for (rel, p), fmt in zip(entries, formats, strict=True):
        sv.files.append((rel, fmt))
        if fmt.startswith("archive:") or fmt in TABLE_FORMATS:
            with contextlib.suppress(OSError):
                sv.sizes[rel] = p.stat().st_size
    return sv


# --------------------------------------------------------------------------------------------- layout guess


@dataclass
class Guess:
    """A guessed layout: the pattern per file role and what the named parts seem to be."""

    roles: dict[str, tuple[str, str]]  # role -> (pattern, format)
    parts: dict[str, tuple[str, str]]  # name -> (regex, type)
    values: dict[str, list[str]]  # part -> distinct values (labels, splits)
    label_part: str | None = None
    split_part: str | None = None
    id_parts: list[str] = field(default_factory=list)
    image_files: list[str] = field(default_factory=list)
    mask_files: list[str] = field(default_factory=list)
    examples: list[dict[str, str]] = field(default_factory=list)  # part values of each image file
    other_depths: int = 0
    notes: list[str] = field(default_factory=list)


def _escape_literal(seg: str) -> str | None:
    """A folder or file name as literal pattern text, or None when a pattern cannot spell it."""
    if "*" in seg or "\\" in seg or seg in (".", "..") or any(ord(c) < 32 for c in seg):
        return None
    return seg.replace("{", "{{").replace("}", "}}")


def _rx_escape(text: str) -> str:
    """Escape regex metacharacters only (``re.escape`` also escapes spaces and dashes, which reads badly)."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


def _alternation(values: Iterable[str]) -> str | None:
    alt = "|".join(_rx_escape(v) for v in sorted(values, key=lambda s: (-len(s), s)))
    return alt if len(alt) <= 200 else None


def _part_regex(values: set[str]) -> tuple[str, str]:
    if values and all(v.isdigit() for v in values):
        return "[0-9]+", "int"
    return "[^/]+", "str"


def _split_roles(images: list[tuple[str, str]]) -> tuple[dict[str, list[tuple[str, str]]], str | None, str | None]:
    """The image files per role, and the top folders of images and masks (both None unless both are found).

    Masks are a top folder named like masks beside one named like images.
    """
    tops = Counter(rel.split("/", 1)[0] for rel, _ in images if "/" in rel)
    mask_top = next((t for t in tops if t.lower() in MASK_WORDS), None)
    image_top = next((t for t in tops if t.lower() in IMAGE_WORDS), None)
    if mask_top and not image_top and len(tops) == 2:
        image_top = next(t for t in tops if t != mask_top)
    if not (mask_top and image_top):
        mask_top = image_top = None
    roles_files: dict[str, list[tuple[str, str]]] = {}
    if mask_top and image_top:
        roles_files["image"] = [(r, f) for r, f in images if r.startswith(image_top + "/")]
        roles_files["mask"] = [(r, f) for r, f in images if r.startswith(mask_top + "/")]
    else:
        fmt_major = Counter(f for _, f in images).most_common(1)[0][0]
        # extensions that lie (jpeg bytes in .png files) stay in the group: group by extension family
        raster = ("png", "jpeg", "bmp")
        roles_files["image"] = [(r, f) for r, f in images
                                if f == fmt_major or (f in raster and fmt_major in raster)]
    return roles_files, image_top, mask_top


def _folder_tokens(g: Guess, segs_by_role: dict[str, list[list[str]]], start: int,
                   depth: int) -> tuple[list[str], dict[str, int]]:
    """Pattern tokens for the folder positions ``start..depth-1`` (shared by the roles), and the position of
    each named part; the parts' regexes, values and meanings (split, label, ids) go into ``g``."""
    main_segs = segs_by_role["image"]
    n = len(main_segs)
    tokens: list[str] = []
    id_names = ["patient", "scan"] if sum(1 for _ in range(start, depth)) >= 2 else ["scan"]
    used: set[str] = set()
    values_at: dict[str, int] = {}
    for pos in range(start, depth):
        vals = {s[pos] for s in main_segs} | {s[pos] for segs in segs_by_role.values() for s in segs}
        if len(vals) == 1:
            lit = _escape_literal(next(iter(vals)))
            if lit is not None:
                tokens.append(lit)
                continue
        name = _folder_part_name(g, vals, n, used, id_names, pos)
        used.add(name)
        values_at[name] = pos
        if name in ("split", "label"):
            alt = _alternation(vals)
            g.parts[name] = (alt, "str") if alt else ("[^/]+", "str")
            g.values[name] = sorted(vals)
        else:
            g.parts[name] = _part_regex(vals)
        tokens.append("{" + name + "}")
    return tokens, values_at


def _folder_part_name(g: Guess, vals: set[str], n: int, used: set[str], id_names: list[str], pos: int) -> str:
    """What a folder level that varies seems to be: the split, the label, or an id (recorded in ``g``)."""
    low = {v.lower() for v in vals}
    if low <= SPLIT_WORDS and "split" not in used:
        g.split_part = "split"
        return "split"
    if len(vals) <= 20 and n >= 2 * len(vals) and "label" not in used and not all(v.isdigit() for v in vals):
        g.label_part = "label"
        return "label"
    name = next((x for x in id_names if x not in used), f"dir{pos + 1}")
    g.id_parts.append(name)
    return name


def _role_patterns(g: Guess, roles_files: dict[str, list[tuple[str, str]]],
                   segs_by_role: dict[str, list[list[str]]], tops: dict[str, str | None], tokens: list[str],
                   depth: int) -> None:
    """The pattern and format of each role in ``g``: its top folder, the shared folder tokens, the file name."""
    main = roles_files["image"]
    stems = {_stem(s[depth]) for s in segs_by_role["image"]}
    main_fmt = Counter(f for _, f in main).most_common(1)[0][0]
    slices = main_fmt == "dicom" or (g.id_parts and all(x.isdigit() for x in stems))
    stem_name = "slice" if slices else "image"
    g.parts[stem_name] = _part_regex(stems)
    for role, segs in segs_by_role.items():
        exts = sorted({_ext(s[depth]) for s in segs})
        top = tops[role]
        prefix = [_escape_literal(top) or TODO] if top else []
        if len(exts) == 1:
            tail = "{" + stem_name + "}" + (_escape_literal(exts[0]) or "")
        else:
            pname = "ext" if role == "image" else f"{role}_ext"
            alt = _alternation(e.lstrip(".") for e in exts)
            g.parts[pname] = (alt or "[^/.]+", "str")
            tail = "{" + stem_name + "}.{" + pname + "}"
        fmt = Counter(f for r, f in roles_files[role]).most_common(1)[0][0]
        g.roles[role] = ("/".join([*prefix, *tokens, tail]), fmt)


def guess_layout(sv: Survey) -> Guess | None:
    images = [(rel, fmt) for rel, fmt in sv.files if fmt in IMAGE_FORMATS]
    if not images:
        return None
    roles_files, image_top, mask_top = _split_roles(images)
    main = roles_files["image"]
    depth_counts = Counter(r.count("/") for r, _ in main)
    depth = depth_counts.most_common(1)[0][0]
    g = Guess(roles={}, parts={}, values={})
    g.other_depths = sum(n for d, n in depth_counts.items() if d != depth)
    segs_by_role = {role: [r.split("/") for r, _ in files if r.count("/") == depth]
                    for role, files in roles_files.items()}
    start = 1 if image_top else 0
    tokens, values_at = _folder_tokens(g, segs_by_role, start, depth)
    _role_patterns(g, roles_files, segs_by_role, {"image": image_top, "mask": mask_top}, tokens, depth)
    g.image_files = [r for r, _ in main if r.count("/") == depth]
    g.mask_files = [r for r, _ in roles_files.get("mask", [])]
    for s in segs_by_role["image"]:
        g.examples.append({name: s[pos] for name, pos in values_at.items()})
    if g.other_depths:
        g.notes.append(f"{g.other_depths} image file(s) sit at another folder depth and are not described")
    return g


def _stem(name: str) -> str:
    ext = _ext(name)
    return name[: -len(ext)] if ext else name


# --------------------------------------------------------------------------------------------- card draft


def _todo_list() -> list[str]:
    return [TODO]


def _source_field(model: type[M.BaseModel] = M.Count) -> F:
    return F("source", _todo_list(), "Ids of `sources` entries that support these facts, e.g. [paper].")


def _choose(vocab: type[Vocab], value: str | None) -> str:
    return value if value is not None and value in {m.value for m in vocab} else TODO


def draft(card_id: str, sv: Survey | None = None, today: dt.date | None = None) -> list[F]:
    """The scaffold as a tree of fields (rendered by :func:`scaffold_text`)."""
    guess = guess_layout(sv) if sv is not None else None
    infos = _sample_infos(sv, guess) if sv is not None and guess is not None else []
    modality_hint = Counter(i.modality for i in infos if i.modality).most_common(1)
    modality = ["CT"] if modality_hint and modality_hint[0][0] == "CT" else [TODO]

    card: list[F] = [
        F("id", card_id, doc(M.Card, "id")),
        F("name", TODO, doc(M.Card, "name")),
        F("aliases", [], doc(M.Card, "aliases")),
        F("summary", TODO, doc(M.Card, "summary")),
        F("description", TODO, doc(M.Card, "description")),
        F("modality", modality, doc(M.Card, "modality")),
        F("anatomy", [TODO], doc(M.Card, "anatomy")),
        F("tags", [], doc(M.Card, "tags")),
        F("homepage", TODO, doc(M.Card, "homepage", "Delete the line if there is none.")),
        F("license", [
            F("id", TODO, doc(M.License, "id")),
            F("name", TODO, doc(M.License, "name", "Needed when id is `other`.")),
            F("url", TODO, doc(M.License, "url")),
            F("redistribution", TODO, doc(M.License, "redistribution")),
            F("requires_agreement", False, doc(M.License, "requires_agreement")),
            _source_field(),
        ], doc(M.Card, "license"), blank=True),
        F("access", [
            F("kind", TODO, doc(M.Access, "kind")),
            F("url", TODO, doc(M.Access, "url")),
            F("instructions", TODO,
              doc(M.Access, "instructions", "Say where to unpack the files (DATA_DIR).")),
            _source_field(),
        ], doc(M.Card, "access"), blank=True),
        F("downloads", Seq([]) if sv is None else _downloads(sv), doc(M.Card, "downloads"), blank=True),
        F("configs", Seq([_config(sv, guess, infos)]), doc(M.Card, "configs"), blank=True),
        F("citation", [
            F("doi", TODO, doc(M.Citation, "doi", "Delete the line if there is none.")),
            F("bibtex", TODO, doc(M.Citation, "bibtex")),
        ], doc(M.Card, "citation"), blank=True),
        F("lineage", Seq([]), doc(M.Card, "lineage", "Items: {relation: ..., card: other-id, note: ...}."),
          blank=True),
        F("caveats", Seq([]), doc(M.Card, "caveats", "Items: {text: ..., source: [...]}.")),
        F("sources", Seq([[F("id", "paper", doc(M.Source, "id")),
                            F("title", TODO, doc(M.Source, "title")),
                            F("url", TODO, doc(M.Source, "url"))]]), doc(M.Card, "sources"), blank=True),
        F("last_reviewed", today or dt.date.today(), doc(M.Card, "last_reviewed"), blank=True),
    ]
    return card


def _sample_infos(sv: Survey, g: Guess) -> list[ImageInfo]:
    fmt_of = dict(sv.files)
    files = g.image_files
    step = max(1, len(files) // SIZE_SAMPLE)
    out = []
    for rel in files[::step][:SIZE_SAMPLE]:
        info = image_info(sv.root / rel, fmt_of[rel])
        if info is not None:
            out.append(info)
    return out


def _size_stats(infos: list[ImageInfo]) -> list[F] | None:
    sizes = [i.size for i in infos if i.size]
    if not sizes:
        return None
    dims = Counter(len(s) for s in sizes).most_common(1)[0][0]
    sizes = [s for s in sizes if len(s) == dims]
    mins = [min(s[k] for s in sizes) for k in range(dims)]
    maxs = [max(s[k] for s in sizes) for k in range(dims)]
    meds = [int(statistics.median_low([s[k] for s in sizes])) for k in range(dims)]
    out = [F("min", mins)]
    if mins != maxs:
        out.append(F("median", meds))
    out.append(F("max", maxs))
    return out


def _range(values: list[float]) -> list[F] | None:
    if not values:
        return None
    out = [F("min", round(min(values), 4))]
    if min(values) != max(values):
        out.append(F("median", round(statistics.median(values), 4)))
    out.append(F("max", round(max(values), 4)))
    return out


def _image_props(sv: Survey | None, g: Guess | None, infos: list[ImageInfo]) -> list[F]:
    if g is None:
        fields = [F("formats", [TODO], doc(M.ImageProperties, "formats")),
                  F("bit_depth", [TODO], doc(M.ImageProperties, "bit_depth"))]
        fields.append(F("intensity", TODO, doc(M.ImageProperties, "intensity")))
        fields.append(_source_field())
        return fields
    assert sv is not None
    fmt_of = dict(sv.files)
    formats = sorted(Counter(fmt_of[r] for r in g.image_files), key=lambda f: f)
    bits = sorted({i.bits for i in infos if i.bits})
    sample = f"(from {len(infos)} of {len(g.image_files)} files in the local copy)"
    fields = [
        F("formats", formats, doc(M.ImageProperties, "formats", "(sniffed from the file bytes)")),
        F("bit_depth", bits or [TODO], doc(M.ImageProperties, "bit_depth", sample if bits else "")),
    ]
    channels = sorted({i.channels for i in infos if i.channels})
    if len(channels) == 1:
        fields.append(F("channels", channels[0], doc(M.ImageProperties, "channels", sample)))
    size = _size_stats(infos)
    if size:
        fields.append(F("size", size, doc(M.ImageProperties, "size", sample)))
    spacing = _range([i.spacing[0] for i in infos if i.spacing])
    if spacing:
        fields.append(F("pixel_spacing_mm", spacing, doc(M.ImageProperties, "pixel_spacing_mm", sample)))
    thick = _range([i.thickness for i in infos if i.thickness])
    if thick:
        fields.append(F("slice_thickness_mm", thick, doc(M.ImageProperties, "slice_thickness_mm", sample)))
    intens = {i.intensity for i in infos}
    guess = next(iter(intens)) if len(intens) == 1 else None
    hint = ""
    if guess is None and bits == [8]:
        hint = "8-bit files: windowed-8bit for CT exports, photometric-8bit for radiographs."
    elif guess is None and bits and max(bits) >= 16:
        hint = "16-bit files: raw-16bit, or hounsfield if the values are already HU."
    fields.append(F("intensity", _choose(M.Intensity, guess), doc(M.ImageProperties, "intensity", hint)))
    fields.append(_source_field())
    return fields


def _split_name(raw: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9]+", "_", raw).strip("_")
    return clean or "split"


def _config(sv: Survey | None, g: Guess | None, infos: list[ImageInfo]) -> list[F]:
    dim = "3D" if g is not None and any(fmt in VOLUME_FORMATS for _, fmt in g.roles.values()) else None
    if g is not None and dim is None:
        dim = "2D"
    example = None
    if g is not None:
        example = "scan" if dim == "3D" else ("slice" if "slice" in g.parts else "image")
    tasks = [TODO]
    if g is not None and "mask" in g.roles:
        tasks = ["image-segmentation"]
    elif g is not None and g.label_part:
        tasks = ["image-classification"]
    cfg: list[F] = [
        F("name", "default", doc(M.Config, "name")),
        F("description", TODO, doc(M.Config, "description")),
        F("tasks", tasks, doc(M.Config, "tasks")),
        F("dimensionality", _choose(M.Dimensionality, dim), doc(M.Config, "dimensionality")),
        F("example", _choose(M.Unit, example), doc(M.Config, "example")),
        F("labels", Seq(*_labels(sv, g)), doc(M.Config, "labels")),
        F("counts", Seq(*_counts(g, dim)), doc(M.Config, "counts",
                                                "Give every level the sources state (patients, scans, "
                                                "slices), per class and per split, each with its source.")),
        F("image", _image_props(sv, g, infos), doc(M.Config, "image")),
    ]
    if g is not None and sv is not None:
        cfg.append(F("layout", _layout(sv, g), doc(M.Config, "layout", _layout_note(sv, g))))
    else:
        cfg.append(F("layout", None, doc(M.Config, "layout", "Describe it, or run `covidct new ID "
                                          "--from-folder DIR` on a local copy to get a first guess.")))
    return cfg


def _labels(sv: Survey | None, g: Guess | None) -> tuple[list[list[F]], list[str | None]]:
    items: list[list[F]] = []
    notes: list[str | None] = []
    if g is not None and g.label_part:
        classes = Seq([[F("name", v), F("value", i), F("description", TODO)]
                       for i, v in enumerate(g.values[g.label_part])])
        items.append([
            F("name", "label", doc(M.LabelDef, "name")),
            F("kind", "class", doc(M.LabelDef, "kind")),
            F("granularity", TODO, doc(M.LabelDef, "granularity")),
            F("source", [TODO], doc(M.LabelDef, "source")),
            F("classes", classes, doc(M.LabelDef, "classes", "(from the folder names)")),
        ])
        notes.append(None)
    if g is not None and "mask" in g.roles and sv is not None:
        values = _mask_values(sv, g)
        mv = Seq([[F("value", v), F("name", TODO)] for v in values]) if values else Seq(
            [[F("value", 0), F("name", "background")], [F("value", TODO), F("name", TODO)]])
        items.append([
            F("name", "mask", doc(M.LabelDef, "name")),
            F("kind", "mask", doc(M.LabelDef, "kind")),
            F("granularity", "voxel" if any(f in VOLUME_FORMATS for _, f in g.roles.values()) else "pixel",
              doc(M.LabelDef, "granularity")),
            F("source", [TODO], doc(M.LabelDef, "source")),
            F("mask_values", mv, doc(M.LabelDef, "mask_values",
                                     "(values found in a sample of the masks)" if values else "")),
        ])
        notes.append(None)
    if not items:
        items.append([
            F("name", "label", doc(M.LabelDef, "name")),
            F("kind", TODO, doc(M.LabelDef, "kind")),
            F("granularity", TODO, doc(M.LabelDef, "granularity")),
            F("source", [TODO], doc(M.LabelDef, "source")),
            F("classes", Seq([[F("name", TODO), F("value", 0)]]), doc(M.LabelDef, "classes")),
        ])
        notes.append(None)
    return items, notes


def _mask_values(sv: Survey, g: Guess) -> list[int]:
    try:
        import numpy as np
        from PIL import Image
    except ImportError:
        return []
    files = g.mask_files
    step = max(1, len(files) // MASK_SAMPLE)
    found: set[int] = set()
    for rel in files[::step][:MASK_SAMPLE]:
        try:
            with Image.open(sv.root / rel) as im:
                if im.size[0] * im.size[1] > 50_000_000:
                    continue
                found.update(int(x) for x in np.unique(np.asarray(im)))
        except Exception:  # not a raster mask (e.g. NIfTI): leave the values TODO
            return []
        if len(found) > 64:
            return []
    return sorted(found)


def _counts(g: Guess | None, dim: str | None) -> tuple[list[list[F]], list[str | None]]:
    if g is None:
        return [[F("level", TODO, doc(M.Count, "level")), F("total", TODO, doc(M.Count, "total")),
                 _source_field()]], [None]
    level = "scans" if dim == "3D" else ("slices" if "slice" in g.parts else "images")
    note = "counted in the local copy by `covidct new`: cite a source that publishes the number"
    items: list[list[F]] = []
    comments: list[str | None] = []

    def add(level_: str, rows: list[dict[str, str]], split: str | None, ids: tuple[str, ...] = ()) -> None:
        def n(rs: list[dict[str, str]]) -> int:
            return len({tuple(r[i] for i in ids) for r in rs}) if ids else len(rs)

        item = [F("level", level_), F("total", n(rows))]
        if g.label_part:
            by: dict[str, list[dict[str, str]]] = defaultdict(list)
            for r in rows:
                by[r[g.label_part]].append(r)
            item.append(F("by_class", [F(k, n(v)) for k, v in sorted(by.items())]))
        if split is not None:
            item.append(F("split", split))
        item.append(_source_field())
        items.append(item)
        comments.append(note if not items[:-1] else None)

    add(level, g.examples, None)
    if "patient" in g.id_parts:
        add("patients", g.examples, None, ids=("patient",))
    if "scan" in g.id_parts and dim != "3D":
        add("scans", g.examples, None, ids=tuple(p for p in ("patient", "scan") if p in g.id_parts))
    if g.split_part:
        by_split: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in g.examples:
            by_split[r[g.split_part]].append(r)
        for s, rows in sorted(by_split.items()):
            add(level, rows, _split_name(s))
    return items, comments


def _layout(sv: Survey, g: Guess) -> list[F]:
    parts = [F(name, [F("regex", rx)] + ([F("type", "int")] if typ == "int" else []))
             for name, (rx, typ) in g.parts.items()]
    files = [F(role, [F("pattern", pat), F("format", fmt)]) for role, (pat, fmt) in g.roles.items()]
    out = [
        F("parts", parts, doc(M.Layout, "parts", "Guessed from the folder names: rename them to what "
                                                 "they are.")),
        F("files", files, doc(M.Layout, "files")),
    ]
    labels: list[F] = []
    if g.label_part:
        labels.append(F("label", [F("part", g.label_part)]))
    if labels:
        out.append(F("labels", labels, doc(M.Layout, "labels")))
    if "patient" in g.id_parts:
        out.append(F("patient", [F("part", "patient")], doc(M.Layout, "patient")))
    if "scan" in g.id_parts:
        out.append(F("scan", [F("part", "scan")], doc(M.Layout, "scan")))
    if g.split_part:
        split_map = {v: _split_name(v) for v in g.values[g.split_part]}
        by = [F("part", g.split_part)]
        if any(k != v for k, v in split_map.items()):
            by.append(F("map", [F(k, v) for k, v in split_map.items()]))
        out.append(F("splits", [F("by", by)], doc(M.Layout, "splits")))
    return out


def _layout_note(sv: Survey, g: Guess) -> str:
    lines = [f"Guessed from {sv.root.name or sv.root}: check it with `covidct fixture` and `covidct load`."]
    for note in g.notes:
        lines.append(f"Note: {note}.")
    tables = [r for r, f in sv.files if f in TABLE_FORMATS - {"txt"}]
    if tables:
        lines.append("Tables found (label tables go under `tables:`): " + ", ".join(_table_desc(sv, t)
                                                                                   for t in tables[:10]))
    return "\n".join(lines)


def _table_desc(sv: Survey, rel: str) -> str:
    if rel.lower().endswith((".csv", ".tsv")):
        try:
            with open_regular(sv.root / rel) as raw:
                header = raw.readline(4096).decode("utf-8", errors="replace").strip()
            return f"{rel} (columns: {header[:120]})"
        except (OSError, UnsafePath):
            pass
    return rel


def _downloads(sv: Survey) -> Seq:
    items: list[list[F]] = []
    for rel, fmt in sv.files:
        if not fmt.startswith("archive:"):
            continue
        kind = fmt.split(":", 1)[1]
        name = rel.rsplit("/", 1)[-1]
        item = [F("name", name), F("url", TODO)]
        size = sv.sizes.get(rel)
        if size is not None and size <= HASH_LIMIT:
            item.append(F("sha256", _sha256(sv.root / rel)))
        if size is not None:
            item.append(F("size_bytes", size))
        if kind in {m.value for m in M.ArchiveFormat}:
            item.append(F("archive", kind))
        item.append(_source_field())
        items.append(item)
    return Seq(items)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- text


def _folder_summary(sv: Survey) -> list[str]:
    fmts = ", ".join(f"{f} {n:,}" for f, n in sv.by_format().most_common())
    lines = [f"Local copy surveyed by `covidct new --from-folder`: {len(sv.files):,} files ({fmts})."]
    if sv.truncated:
        lines.append(f"Stopped after {MAX_FILES:,} files.")
    lines.append("Files per folder:")
    shown = sorted(sv.per_folder.items())
    for folder, n in shown[:40]:
        lines.append(f"  {folder}: {n:,}")
    if len(shown) > 40:
        lines.append(f"  ... and {len(shown) - 40:,} more folders")
    for s in sv.skipped[:10]:
        lines.append(f"Skipped: {s}")
    return lines


def scaffold_text(card_id: str, folder: str | os.PathLike[str] | None = None,
                  today: dt.date | None = None) -> str:
    """The text of ``cards/<card_id>.yaml`` as ``covidct new`` writes it."""
    if not re.fullmatch(M.SLUG_RE, card_id) or len(card_id) > 64:
        raise ScaffoldError(f"{card_id!r} is not a valid card id: use lower-case letters, digits and single "
                            "dashes (e.g. `covid-ct-md`), at most 64 characters")
    sv = survey(folder) if folder is not None else None
    head = [SCHEMA_LINE,
            f"# Dataset card {card_id}: replace every TODO with a fact from a public source and cite it in",
            "# `sources`. `covidct validate` lists what is still missing; CONTRIBUTING.md has the steps."]
    if sv is not None:
        head += [f"# {_one_line(line)}" for line in _folder_summary(sv)]
    body = render(draft(card_id, sv, today))
    text = "\n".join([*head, "", *body]) + "\n"
    return text


def write_scaffold(card_id: str, out: Path, folder: str | os.PathLike[str] | None = None,
                   force: bool = False) -> Path:
    from covidct.fsutil import atomic_write_text

    if out.exists() and not force:
        raise ScaffoldError(f"{out} already exists; edit it, or pass --force to overwrite it")
    atomic_write_text(out, scaffold_text(card_id, folder))
    return out


__all__ = ["ScaffoldError", "draft", "guess_layout", "scaffold_text", "sniff", "survey", "write_scaffold"]
