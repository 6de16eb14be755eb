"""Billing errors. Each says what was refused and why, in words a billing clerk can act on."""

from __future__ import annotations


class BillingError(Exception):
    """Base class: callers that only need to know "billing refused" catch this one."""


class CatalogueError(BillingError):
    """The catalogue file is missing, unreadable or invalid; the message names the entry."""


class NotBillable(BillingError):
    """The exam or report may not be charged (not final, failed QC/analysis, no catalogue service)."""


class NotReversible(BillingError):
    """A reversal was asked for an exam that has not been retracted."""


class ClaimConflict(BillingError):
    """A concurrent transaction wrote the same claim entry and it is not yet visible to this one.

    The caller's transaction is still usable (the failed insert was confined to a savepoint); the
    entry exists or will exist once the other transaction commits, so retrying later is safe.
    """
