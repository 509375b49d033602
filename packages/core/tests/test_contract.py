"""The pack-author contract, applied to the built-in pack and to the pip-installed sample pack."""

from __future__ import annotations

import pytest
from sentinelkit_devkit.contract import PackContract


class TestCorePackContract(PackContract):
    pack = "core"


@pytest.mark.usefixtures("sample_packs")
class TestSamplePackContract(PackContract):
    pack = "sample"
    destructive_examples = {"sample_tag_remove": {"workspace": "law-fabrikam-prod", "tag": "owner"}}
