# -*- coding: utf-8 -*-
# Copyright: odoo_saas.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module shares: typed errors, the one error boundary, and the before/after diff.

Utility code raises these exceptions; only `run_module()`, called from a module's `main()`,
turns them into `fail_json`. A message says what was wrong, with which value, and what to do.
"""

from __future__ import annotations

import re
import secrets
import string
import traceback


class OdooSaasError(Exception):
    """An error a user can act on. `details` are returned alongside the message."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class InputError(OdooSaasError):
    """Bad input, detected before anything was changed."""


class ServiceError(OdooSaasError):
    """A service refused or failed a call."""


DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_dns_label(option, value):
    if not isinstance(value, str) or not DNS_LABEL.match(value):
        raise InputError(
            f"{option}={value!r} is not a DNS label: use 1-63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit (for example 'acme-shop')."
        )
    return value


def generate_password(length=32):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _index in range(length))


def run_module(module, work):
    """The single error boundary: call `work()` and exit with its result, or fail with a clear message.

    `work()` returns the result dict (with `changed`). Typed errors become `fail_json` with their
    details; anything unexpected is reported with its traceback in `exception`.
    """
    try:
        result = work()
    except OdooSaasError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=f"unexpected error: {type(exc).__name__}: {exc}", exception=traceback.format_exc())
    module.exit_json(**result)
