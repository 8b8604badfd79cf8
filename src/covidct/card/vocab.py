"""Controlled vocabularies of the card model.

Each is a ``StrEnum``-like ``str`` Enum so that the YAML holds plain strings, the JSON Schema lists
the allowed values, and the docs site can print them with their descriptions.
"""

from __future__ import annotations

from enum import Enum


class Vocab(str, Enum):
    """A string vocabulary whose members carry a one-line description (``describe``)."""

    def __str__(self) -> str:  # so f-strings print the value, not the member name
        return self.value

    @classmethod
    def describe(cls) -> dict[str, str]:
        return {m.value: _DESCRIPTIONS.get((cls.__name__, m.value), "") for m in cls}


class Modality(Vocab):
    CT = "CT"
    LOW_DOSE_CT = "low-dose CT"
    HRCT = "HRCT"
    CT_4D = "4D CT"
    CBCT = "cone-beam CT"
    CHEST_XRAY = "chest X-ray"
    PET_CT = "PET/CT"
    PET = "PET"
    MR = "MR"
    OTHER = "other"


class Task(Vocab):
    """Hugging Face task categories where they fit."""

    IMAGE_CLASSIFICATION = "image-classification"
    IMAGE_SEGMENTATION = "image-segmentation"
    OBJECT_DETECTION = "object-detection"
    KEYPOINT_DETECTION = "keypoint-detection"
    IMAGE_FEATURE_EXTRACTION = "image-feature-extraction"
    IMAGE_TO_IMAGE = "image-to-image"
    IMAGE_TO_TEXT = "image-to-text"
    TABULAR_REGRESSION = "tabular-regression"
    OTHER = "other"


class Dimensionality(Vocab):
    D2 = "2D"
    D3 = "3D"
    D4 = "4D"


class Unit(Vocab):
    """What one example (or one counted thing) is."""

    IMAGE = "image"
    SLICE = "slice"
    PATCH = "patch"
    SCAN = "scan"
    SERIES = "series"
    STUDY = "study"
    PATIENT = "patient"


class CountLevel(Vocab):
    PATIENTS = "patients"
    STUDIES = "studies"
    SCANS = "scans"
    SERIES = "series"
    IMAGES = "images"
    SLICES = "slices"
    PATCHES = "patches"
    NODULES = "nodules"
    LESIONS = "lesions"
    BOXES = "boxes"


class Granularity(Vocab):
    PATIENT = "patient"
    STUDY = "study"
    SCAN = "scan"
    SLICE = "slice"
    IMAGE = "image"
    LOBE = "lobe"
    PIXEL = "pixel"
    VOXEL = "voxel"
    BOX = "box"
    POINT = "point"
    CONTOUR = "contour"


class LabelSource(Vocab):
    RT_PCR = "rt-pcr"
    RADIOLOGISTS = "radiologists"
    CLINICIANS = "clinicians"
    CLINICAL_RECORDS = "clinical-records"
    PATHOLOGY = "pathology"
    NLP_MINED = "nlp-mined"
    FOLLOW_UP = "follow-up"
    ALGORITHM = "algorithm"
    PUBLICATIONS = "publications"
    CONSENSUS = "consensus"
    UNKNOWN = "unknown"
    OTHER = "other"


class CodeSystem(Vocab):
    """Terminologies a class may be coded in (each has its own code format, checked by `covidct validate`)."""

    SNOMED_CT = "SNOMED CT"
    RADLEX = "RadLex"
    UMLS = "UMLS"


class Assertion(Vocab):
    """What a class asserts about an example, beside the concept it is coded with."""

    DIAGNOSIS = "diagnosis"
    FINDING = "finding"
    NORMAL = "normal"
    ABSENT = "absent"
    UNCERTAIN = "uncertain"
    ANATOMY = "anatomy"
    BACKGROUND = "background"
    OTHER = "other"


class Match(Vocab):
    """How a class relates to a concept or a target class (the SSSOM predicates, seen from the class)."""

    EXACT = "exact"
    NARROWER = "narrower"
    BROADER = "broader"
    RELATED = "related"


class LabelKind(Vocab):
    CLASS = "class"
    MULTI_LABEL = "multi-label"
    MASK = "mask"
    SLICE_CLASS = "slice-class"
    SLICE_MULTI_LABEL = "slice-multi-label"
    BOXES = "boxes"
    POINTS = "points"
    NUMBER = "number"
    TEXT = "text"


class FileFormat(Vocab):
    JPEG = "jpeg"
    PNG = "png"
    BMP = "bmp"
    TIFF = "tiff"
    DICOM = "dicom"
    NIFTI = "nifti"
    METAIMAGE = "metaimage"
    NRRD = "nrrd"
    NPY = "npy"
    HDF5 = "hdf5"
    CSV = "csv"
    TSV = "tsv"
    XLS = "xls"
    XLSX = "xlsx"
    TXT = "txt"
    JSON = "json"
    XML = "xml"
    OTHER = "other"


class Intensity(Vocab):
    HOUNSFIELD = "hounsfield"
    STORED_WITH_RESCALE = "stored-with-rescale"
    RAW_16BIT = "raw-16bit"
    WINDOWED_8BIT = "windowed-8bit"
    PHOTOMETRIC_8BIT = "photometric-8bit"
    FLOAT = "float"
    UNKNOWN = "unknown"


class AccessKind(Vocab):
    OPEN = "open"
    REGISTRATION = "registration"
    REQUEST = "request"
    COMPETITION = "competition"
    UNAVAILABLE = "unavailable"


class DerivedMatch(Vocab):
    NAME = "name"
    STEM = "stem"


class UnavailableReason(Vocab):
    WITHDRAWN = "withdrawn"
    HOST_GONE = "host-gone"
    COMPETITION_CLOSED = "competition-closed"
    UNKNOWN = "unknown"


class Redistribution(Vocab):
    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    UNKNOWN = "unknown"


class Relation(Vocab):
    DERIVED_FROM = "derived-from"
    SUBSET_OF = "subset-of"
    SUPERSET_OF = "superset-of"
    OVERLAPS = "overlaps"
    SAME_SOURCE = "same-source"
    SUCCEEDED_BY = "succeeded-by"


class ArchiveFormat(Vocab):
    """What a download is, as its bytes say (covidct checks): an archive to unpack, or a file used as it is."""

    ZIP = "zip"
    TAR = "tar"
    TAR_GZ = "tar.gz"
    TAR_BZ2 = "tar.bz2"
    TAR_XZ = "tar.xz"
    GZ = "gz"
    BZ2 = "bz2"
    XZ = "xz"
    SEVEN_Z = "7z"
    RAR = "rar"
    NONE = "none"


class CheckResult(Vocab):
    """What `covidct check` found when a layout was run on a real listing of the dataset's files."""

    MATCH = "match"
    DIFFERENCES = "differences"


class SortKey(Vocab):
    """How slices of one scan are ordered."""

    SLICE_LOCATION = "SliceLocation"
    IMAGE_POSITION_Z = "ImagePositionPatient"
    INSTANCE_NUMBER = "InstanceNumber"


class HeaderKeyword(Vocab):
    """DICOM attributes a layout may take values from (`layout.headers`) or filter files by (`layout.where`)."""

    PATIENT_ID = "PatientID"
    STUDY_INSTANCE_UID = "StudyInstanceUID"
    SERIES_INSTANCE_UID = "SeriesInstanceUID"
    STUDY_ID = "StudyID"
    STUDY_DATE = "StudyDate"
    STUDY_DESCRIPTION = "StudyDescription"
    SERIES_NUMBER = "SeriesNumber"
    SERIES_DESCRIPTION = "SeriesDescription"
    ACQUISITION_NUMBER = "AcquisitionNumber"
    MODALITY = "Modality"
    IMAGE_TYPE = "ImageType"
    SOP_CLASS_UID = "SOPClassUID"
    BODY_PART_EXAMINED = "BodyPartExamined"
    PROTOCOL_NAME = "ProtocolName"
    CONVOLUTION_KERNEL = "ConvolutionKernel"
    MANUFACTURER = "Manufacturer"
    PATIENT_SEX = "PatientSex"
    PATIENT_AGE = "PatientAge"
    TEMPORAL_POSITION_INDEX = "TemporalPositionIndex"


_DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("Modality", "CT"): "Computed tomography.",
    ("Modality", "low-dose CT"): "Low-dose CT, as used for lung cancer screening.",
    ("Modality", "HRCT"): "High-resolution CT of the lungs.",
    ("Modality", "4D CT"): "Respiratory-correlated (4D) CT.",
    ("Modality", "cone-beam CT"): "Cone-beam CT, e.g. for radiotherapy positioning.",
    ("Modality", "chest X-ray"): "Projection radiography of the chest (CXR).",
    ("Modality", "PET/CT"): "Positron emission tomography combined with CT.",
    ("Unit", "image"): "A 2D image (e.g. one radiograph, or one exported CT slice without a scan).",
    ("Unit", "slice"): "One slice of a CT scan.",
    ("Unit", "scan"): "One CT scan (a series of slices, or one volume file).",
    ("Unit", "patient"): "Everything of one patient.",
    ("Intensity", "hounsfield"): "Values are Hounsfield units (signed), rescale already applied.",
    ("Intensity", "stored-with-rescale"): "Stored values; RescaleSlope/Intercept give Hounsfield units.",
    ("Intensity", "raw-16bit"): "Unwindowed 16-bit values exported from the scanner.",
    ("Intensity", "windowed-8bit"): "8-bit images after a display window: HU are lost.",
    ("Intensity", "photometric-8bit"): "8-bit radiograph pixel values.",
    ("AccessKind", "open"): "Anyone can download without an account.",
    ("AccessKind", "registration"): "Download after creating an account or accepting terms online.",
    ("AccessKind", "request"): "Data is sent after a request is approved.",
    ("AccessKind", "competition"): "Released to competition entrants only.",
    ("AccessKind", "unavailable"): "No longer downloadable from any official source.",
    ("DerivedMatch", "name"): "The row's file name equals the source example's file name.",
    ("DerivedMatch", "stem"): "The names agree without their extensions (the derived dataset converted the files).",
    ("UnavailableReason", "withdrawn"): "The distributor took the files down.",
    ("UnavailableReason", "host-gone"): "The site that distributed the files no longer exists or no longer answers.",
    ("UnavailableReason", "competition-closed"): "The files went to a competition's entrants only, and it has ended.",
    ("UnavailableReason", "unknown"): "The files cannot be found, and no one has said why.",
    ("LabelKind", "class"): "One class per example.",
    ("LabelKind", "multi-label"): "Any number of classes per example.",
    ("LabelKind", "mask"): "A label image with one value per pixel/voxel.",
    ("LabelKind", "slice-class"): "For scan examples: one class per slice.",
    ("LabelKind", "slice-multi-label"): "For scan examples: flags for each class on each slice.",
    ("LabelKind", "boxes"): "Bounding boxes with a class each.",
    ("LabelKind", "points"): "Points (e.g. nodule centres) with an optional size.",
    ("LabelSource", "consensus"): "Agreement of several readers (a consensus reading).",
    ("CodeSystem", "SNOMED CT"): "SNOMED CT concept id (SCTID): 6-18 digits ending in a Verhoeff check digit.",
    ("CodeSystem", "RadLex"): "RadLex term id, `RID` and digits (e.g. RID1301, lung).",
    ("CodeSystem", "UMLS"): "UMLS concept unique identifier (CUI): `C` and 7 digits.",
    ("Assertion", "diagnosis"): "A disease or condition of the patient (COVID-19, pneumonia, tuberculosis).",
    ("Assertion", "finding"): "An imaging finding or appearance (opacity, consolidation, nodule), not a diagnosis.",
    ("Assertion", "normal"): "Normal, or no finding.",
    ("Assertion", "absent"): "The coded concept is absent (`negative`, `NonCOVID`): others may be present.",
    ("Assertion", "uncertain"): "The coded concept may be present (e.g. an uncertain mention in a report).",
    ("Assertion", "anatomy"): "An anatomical structure (a mask value such as left lung or heart).",
    ("Assertion", "background"): "A mask's background: no structure or finding.",
    ("Assertion", "other"): "Anything else (a rating, a follow-up status).",
    ("Match", "exact"): "The class means the concept (SSSOM skos:exactMatch).",
    ("Match", "narrower"): "The class is a kind of the concept, e.g. COVID-19 pneumonia of COVID-19 (skos:broadMatch).",
    ("Match", "broader"): "The class includes the concept and more (skos:narrowMatch).",
    ("Match", "related"): "The class is related to the concept but neither includes the other (skos:relatedMatch).",
    ("Relation", "derived-from"): "Built from the other dataset's images (possibly re-annotated).",
    ("Relation", "subset-of"): "All of this dataset's images are in the other dataset.",
    ("Relation", "superset-of"): "Contains all of the other dataset's images.",
    ("Relation", "overlaps"): "Some patients or images are in both.",
    ("Relation", "same-source"): "Different images of the same patients or institution.",
    ("ArchiveFormat", "zip"): "A zip archive, unpacked by covidct.",
    ("ArchiveFormat", "tar"): "An uncompressed tar archive, unpacked by covidct.",
    ("ArchiveFormat", "tar.gz"): "A gzip-compressed tar archive (.tar.gz, .tgz), unpacked by covidct.",
    ("ArchiveFormat", "tar.bz2"): "A bzip2-compressed tar archive, unpacked by covidct.",
    ("ArchiveFormat", "tar.xz"): "An xz-compressed tar archive, unpacked by covidct.",
    ("ArchiveFormat", "gz"): "One gzip-compressed file, unpacked to its name without .gz (a file read compressed, "
                             "such as .nii.gz, is `none`).",
    ("ArchiveFormat", "bz2"): "One bzip2-compressed file, unpacked to its name without .bz2.",
    ("ArchiveFormat", "xz"): "One xz-compressed file, unpacked to its name without .xz.",
    ("ArchiveFormat", "7z"): "A 7z archive: users extract it themselves.",
    ("ArchiveFormat", "rar"): "A RAR archive: users extract it themselves.",
    ("ArchiveFormat", "none"): "Not an archive: the file is used as it is.",
}


# The nine ratings an LIDC-IDRI reader gives each nodule >= 3 mm (readers/annotation_files reads them into its
# records); per annotation format, the record fields a class label of the config may take (`annotations.*.labels`).
LIDC_CHARACTERISTICS = ("subtlety", "internalStructure", "calcification", "sphericity", "margin", "lobulation",
                        "spiculation", "texture", "malignancy")
RECORD_CLASS_FIELDS: dict[str, tuple[str, ...]] = {"lidc-xml": LIDC_CHARACTERISTICS}
