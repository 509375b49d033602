"""What a failed data collection write means, in the words of the person who has to fix it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sentinelkit import ForbiddenError

ROLE_ADVICE = (" Data collection rules, endpoints and associations need the Monitoring Contributor role (or "
               "Contributor) on their resource group, and an association also needs write access to the target "
               "resource; for a customer tenant, add that role to the Azure Lighthouse delegation.")


@contextmanager
def explained() -> Iterator[None]:
    """Re-raise a 403 of a data collection write with the roles data collection needs. (Other failures
    pass unchanged: for 400 ``InvalidPayload`` the core's message already carries Azure Monitor's own
    reasons, from the answer's ``error.details``.)"""
    try:
        yield
    except ForbiddenError as exc:
        raise exc.with_message(str(exc) + ROLE_ADVICE) from None
