"""Schemathesis against each HTTP function's OpenAPI, over real HTTP, with valid tokens.

Each function runs in its own uvicorn process on the real stack. Every generated request is
sent with an admin token (every permission) and the response goes through schemathesis'
default checks: no 5xx, documented status code, content type, headers and body schema.
Together the functions receive at least MIN_TOTAL requests.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from ops.processes import serve, settings_env
from shared.platform.settings import Settings
from tests.api.conftest import Mint, http_function_modules

MIN_TOTAL = 1000
# Excluded checks, each for a reason that is not a defect of the response:
# - positive_data_acceptance: semantics the schema cannot express (timestamps relative to now and
#   the retention window, ids that must exist, minimum group sizes) rightly turn some schema-valid
#   requests into 404/422;
# - negative_data_rejection: pydantic's lax mode accepts some schema-invalid input by coercing it
#   (``false`` for a number becomes 0, an empty query value for an optional string), which this
#   check counts as "accepted invalid data". Responses are still checked: no 5xx, documented
#   status, content type, headers and body schema.
EXCLUDED_CHECKS = [positive_data_acceptance, negative_data_rejection]
EXAMPLES_PER_OPERATION_AND_MODE = 150  # hypothesis stops earlier when an operation's input space is small
FUNCTIONS = [m for m in http_function_modules() if m != "functions.dev_server.main"]


@pytest.fixture(scope="module")
def tally() -> dict[str, int]:
    return {}


def _run_function(module: str, env: dict[str, str], token: str, examples_per_op: int, tally: dict[str, int]) -> None:
    with serve(f"{module}:app", env) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        # HTTP lets clients add query parameters an operation does not know (cache busters...);
        # ignoring them is not a validation failure, so schemathesis should not count it as one
        schema.config.generation.update(allow_extra_parameters=False)
        auth = {"Authorization": f"Bearer {token}"}
        sent = 0
        failures: list[str] = []
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @hsettings(
                    max_examples=examples_per_op,
                    deadline=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def check(case: schemathesis.Case) -> None:
                    nonlocal sent
                    response = case.call(base_url=base, headers=auth)
                    sent += 1
                    assert response.status_code < 500, (
                        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
                    )
                    case.validate_response(response, headers=auth, excluded_checks=EXCLUDED_CHECKS)

                try:
                    check()
                except Unsatisfiable:
                    continue  # no negative variant exists (an operation without inputs)
                except Exception as exc:  # collect per operation, report together
                    failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
        tally[module] = sent
        assert not failures, "\n\n".join(failures)


def _function_env(api_settings: Settings) -> dict[str, str]:
    return settings_env(
        api_settings,
        rate_limit_read=10**7,
        rate_limit_write=10**7,
        rate_limit_analysis=10**7,
        rate_limit_ingest=10**7,
        rate_limit_admin=10**7,
        rate_limit_unauthenticated=10**7,
    )


@pytest.mark.parametrize("module", FUNCTIONS)
def test_function_conforms_to_its_openapi(
    module: str, api_settings: Settings, mint: Mint, tally: dict[str, int], stack_env: dict[str, str]
) -> None:
    examples = EXAMPLES_PER_OPERATION_AND_MODE
    _run_function(module, _function_env(api_settings), mint("admin", subject="schemathesis"), examples, tally)
    assert tally[module] > 0


def test_total_generated_requests(
    tally: dict[str, int], api_settings: Settings, mint: Mint, stack_env: dict[str, str]
) -> None:
    """In the whole module's run the per-function tests have filled the tally; selected on its
    own, this test runs the functions it totals itself (it never relies on others running first)."""
    for module in FUNCTIONS:
        if module not in tally:
            token = mint("admin", subject="schemathesis")
            _run_function(module, _function_env(api_settings), token, EXAMPLES_PER_OPERATION_AND_MODE, tally)
    total = sum(tally.values())
    print(f"schemathesis requests per function: {tally} total={total}")
    assert len(tally) == len(FUNCTIONS), "a function's run did not complete"
    assert total >= MIN_TOTAL, tally
