"""What a failed data collection write means, in the words of the person who has to fix it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sentinelkit.errors import AzureCallError

ROLE_ADVICE = (" Data collection rules, endpoints and associations need the Monitoring Contributor role (or "
               "Contributor) on their resource group, and an association also needs write access to the target "
               "resource; for a customer tenant, add that role to the Azure Lighthouse delegation.")
INVALID_ADVICE = (" Azure Monitor rejected the rule: check each data flow's streams, destinations, transformKql "
                  "(it must start with 'source' and be valid KQL for the input stream) and outputStream, then "
                  "retry; dcr_get shows the current rule.")


@contextmanager
def explained() -> Iterator[None]:
    """Re-raise Azure failures of a data collection write with advice specific to data collection."""
    try:
        yield
    except AzureCallError as exc:
        message = str(exc)
        if exc.status == 403:
            message += ROLE_ADVICE
        elif exc.status == 400 and exc.code == "InvalidPayload":
            message += INVALID_ADVICE
        else:
            raise
        raise AzureCallError(message, status=exc.status, code=exc.code, correlation_id=exc.correlation_id) from None
