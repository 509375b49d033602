"""sentinelkit-devkit: what developers and demos need and a production install does not: ``sentinelkit
demo``, ``--emulator`` for ``serve``/``call``/``config check``, and the pytest plugin (fixtures backed by
the emulator) with the contract tests every pack reuses (``sentinelkit_devkit.contract.PackContract``).

Installed beside ``sentinelkit``, it adds its commands through the core's ``register_commands`` hook;
``pip install sentinelkit`` alone installs no pytest plugin and never imports the emulator.
"""

__version__ = "0.1.0"
