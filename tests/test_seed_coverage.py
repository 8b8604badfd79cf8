"""Every dataset named in the seed documents resolves, by id or alias, to its card.

The names are written as the seeds write them (../shared/seeds): the headings and table names of
seed 002's list of about thirty lung datasets (Chinese names included), and the titles of the five
datasets the other seeds describe in detail. Each must resolve through ``covidct.load_card`` to the
card the project assigned to it, so an alias on the wrong card fails as loudly as a missing card.
"""

from __future__ import annotations

import pytest

import covidct
from covidct.registry import UnknownCard

# (name as written in the seed, card id)
SEED_DATASETS: list[tuple[str, str]] = [
    # 000: CNCB, with its two sub-datasets
    ("CNCB数据集", "cncb"),
    ("CNCB 分割数据集", "cncb"),
    ("CNCB 分类数据集", "cncb"),
    # 001: Tianchi dataset 93666
    ("COVID-19-CT SCAN IMAGES", "tianchi-covid19-ct-scan-images"),
    # 003 and 004
    ("COVID-CTset", "covid-ctset"),
    ("COVID-CT-MD", "covid-ct-md"),
    # 002: 肺 (lung)
    ("MSD肺癌分割", "msd-lung"),
    ("LoLa11肺叶分割", "lola11"),
    ("LoLa11", "lola11"),
    ("StructSeg2019", "structseg2019"),
    ("肺部多病智能诊断", "tianchi-lung-multi-disease"),
    ("CheXpert", "chexpert"),
    ("NIHChest Xray", "nih-chestxray14"),
    ("QIN Lung CT", "qin-lung-ct"),
    ("4D-Lung", "4d-lung"),
    ("NSCLC-Radiomics", "nsclc-radiomics"),
    ("vessel12 肺部血管分割", "vessel12"),
    # 002: 肺结核 (tuberculosis)
    ("Shenzhen Hospital X-ray Set", "shenzhen-cxr"),
    ("Montgomery County X-ray Set", "montgomery-cxr"),
    # 002: 肺炎 (pneumonia)
    ("Ieee8023", "covid-chestxray-dataset"),
    ("covid19-ct-scans", "covid19-ct-scans"),
    ("COVID-CT", "covid-ct"),
    ("Figure1-COVID-chestxray-dataset", "figure1-covid-chestxray"),
    ("RSNA肺炎检测", "rsna-pneumonia"),
    ("CovidX", "covidx"),
    ("Flyai Covid", "flyai-covid"),
    ("covid19-radiography-database", "covid19-radiography-database"),
    ("COVID-19-AR", "covid-19-ar"),
    ("CT Images in COVID-19", "ct-images-in-covid-19"),
    # 002: 肺结节 (lung nodules)
    ("LIDC-IDRI", "lidc-idri"),
    ("LUNA16", "luna16"),
    ("天池肺部结节", "tianchi-lung-nodule"),
    ("LNDB", "lndb"),
    ("Lung Nodule Malignancy", "lung-nodule-malignancy"),
    ("Data Science Bowl 17", "dsb2017"),
    ("Lung-PET-CT-Dx", "lung-pet-ct-dx"),
    # 002: 气胸 (pneumothorax)
    ("SIIM-ACR Pneumothorax Segmentation", "siim-acr-pneumothorax"),
]


def test_the_list_names_each_dataset_once() -> None:
    names = [n.casefold() for n, _ in SEED_DATASETS]
    assert len(names) == len(set(names))
    # thirty datasets in seed 002 plus four more described in detail (COVID-CT is in both): 34 cards
    assert len({cid for _, cid in SEED_DATASETS}) == 34


@pytest.mark.parametrize(("name", "card_id"), SEED_DATASETS, ids=[n for n, _ in SEED_DATASETS])
def test_seed_dataset_resolves_to_its_card(name: str, card_id: str) -> None:
    try:
        card = covidct.load_card(name)
    except UnknownCard as exc:
        pytest.fail(f"seed dataset {name!r} has no card (expected cards/{card_id}.yaml): {exc}")
    assert card.id == card_id, f"{name!r} resolves to {card.id!r}, expected {card_id!r}"
    assert covidct.load_card(card_id) is card
