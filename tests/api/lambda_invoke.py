"""Invoke a function's Mangum handler the way AWS Lambda does, in a process of its own.

    python -m tests.api.lambda_invoke functions.query_api.main < events.json > responses.json

The module is imported exactly as the Lambda runtime imports it (its module-level ``handler``,
settings from the environment); each event of the JSON list on stdin is one invocation with a
fresh context; the handler's return values are printed as one JSON list.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from dataclasses import dataclass


@dataclass
class LambdaContext:
    """The attributes Mangum and the runtime's callers read from a Lambda context."""

    aws_request_id: str
    function_name: str = "causal-organism"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:causal-organism"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def main() -> None:
    handler = importlib.import_module(sys.argv[1]).handler
    events = json.load(sys.stdin)
    print(json.dumps([handler(event, LambdaContext(uuid.uuid4().hex)) for event in events]))


if __name__ == "__main__":
    main()
