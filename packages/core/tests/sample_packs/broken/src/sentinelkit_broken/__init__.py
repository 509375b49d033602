"""A pack whose import fails, as a pack with a missing dependency would."""

import sentinelkit_dependency_that_is_not_installed  # noqa: F401
