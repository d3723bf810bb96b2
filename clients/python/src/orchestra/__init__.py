"""Python client of Orchestra, an orchestration layer over Bittensor subnets: one objective and
a target schema in, one result validated against the schema out.

    from orchestra import Client
    result = Client(api_key="...", base_url="http://127.0.0.1:8080").execute(
        objective="Find recent arxiv papers on mixture of experts",
        target_schema={"papers": [{"title": "str", "url": "str", "summary": "str"}]},
    )
    print(result.papers[0].title)
"""

from .client import DEFAULT_URL, Client
from .errors import (
    BudgetExhausted,
    DeadlineExceeded,
    OrchestraError,
    PaymentRequired,
    ResultInvalid,
    SchemaError,
)
from .models import Call, Cost, Payment, Plan, Run, Synthesis, Task, Timings
from .schema import model_from_schema, validate_result

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "BudgetExhausted",
    "Call",
    "Client",
    "Cost",
    "DeadlineExceeded",
    "OrchestraError",
    "Payment",
    "PaymentRequired",
    "Plan",
    "ResultInvalid",
    "Run",
    "SchemaError",
    "Synthesis",
    "Task",
    "Timings",
    "model_from_schema",
    "validate_result",
]
