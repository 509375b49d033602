"""The contract every pack honours (loads, documented, safety declared, light start-up)."""

from sentinelkit_devkit.contract import PackContract


class TestHealthPackContract(PackContract):
    pack = "health"
