"""The parts of a successful orchestration answer.

Terms:
- **rao**: the smallest unit of TAO (1 TAO = 10^9 rao); every price and balance is in rao.
- **task**: one unit of work in the plan, naming a capability (``web-search``, ``llm-chat``) and
  a query; it becomes one or more subnet calls (retries and fallbacks). A **required** task's
  failure fails the run; a supplementary one's is listed in ``skipped_tasks`` and the result is
  written without it.
- **plan**: the tasks and which planner made them (``llm``, or ``deterministic`` when no LLM
  planner was configured or its answer was unusable, then with a ``fallback_reason``).
- **call**: one request to a subnet endpoint made for a task.
- **receipts**: the signed, hash-linked chain of the calls' receipts, kept exactly as the server
  sent it (a dict) so that it can be verified byte for byte: ``format``, ``nonce``, ``receipts``
  (each with ``index``, ``call`` and ``previous``), ``root``, ``miner`` (SS58) and
  ``signature``; the client has verified it (docs/SPEC.md section 15) before returning.
- **synthesis**: how the result document was assembled from the calls' outputs (``llm`` or
  ``deterministic``) and in how many attempts.

Fields the server adds beyond these are ignored.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Task(_Part):
    """One task of the plan; ``depends_on`` lists the ids of the tasks whose outputs it needs."""

    id: str
    capability: str
    query: str
    subject: Optional[str] = None
    depends_on: List[str] = []
    required: bool = True


class Plan(_Part):
    planner: str
    tasks: List[Task]
    fallback_reason: Optional[str] = None


class Call(_Part):
    """One subnet call: ``status`` is the HTTP status of the subnet's answer, ``outcome`` what
    became of the call, ``started_ms`` a Unix time in milliseconds."""

    task: str
    subnet: int
    endpoint: str
    attempt: int
    status: int
    outcome: str
    error: Optional[str] = None
    started_ms: int
    offset_ms: float
    duration_ms: float
    cost_rao: int
    cost_usd_micros: Optional[int] = None


class TaoPrice(_Part):
    """The TAO price subnets' dollar prices were converted at, and where it came from (a
    price feed and when it was read, or the node's static price and why)."""

    usd: float
    source: str


class Cost(_Part):
    """What the run cost: the subnet calls plus the node's fee make the total."""

    subnet_calls_rao: int
    fee_rao: int
    total_rao: int
    budget_rao: Optional[int] = None
    tao_price: TaoPrice


class Timings(_Part):
    """Where the run's time went, in milliseconds: planning, execution and synthesis; the time
    spent inside subnet calls, the node's own overhead, and the longest chain of dependent
    calls (the critical path)."""

    total_ms: float
    plan_ms: float
    execute_ms: float
    synthesis_ms: float
    in_calls_ms: float
    overhead_ms: float
    critical_path_ms: float


class Synthesis(_Part):
    method: str
    attempts: int
    fallback_reason: Optional[str] = None


class SkippedTask(_Part):
    """A supplementary task that failed; the result was written without it."""

    task: str
    capability: str
    reason: str


class Payment(_Part):
    """What the run cost the payer and what is left; paid on chain (x402), also the settled
    ``transaction``, the ``paid_rao`` it carried and the hotkey whose credit the rest is
    (``credit_of``)."""

    cost_rao: int
    balance_rao: int
    transaction: Optional[str] = None
    paid_rao: Optional[int] = None
    credit_of: Optional[str] = None


class Run(_Part):
    """One orchestration: the result as an instance of the target schema's model, how it was
    produced and what it cost, and ``raw``, the server's whole answer as a dict. ``payment`` is
    ``None`` on a node that charged nothing; ``replayed`` is true when the node answered an
    ``idempotency_key`` it had already run; ``ledger_version`` is the ledger version routing
    read, and ``ledger_basis`` why (``head``, or ``final`` on a ledger with validators).
    ``provenance`` is every value's citation when the node's grounded writer wrote the result
    (docs/SPEC.md section 18), and ``evidence`` the response bodies, when asked for; the client
    has checked the citations against them."""

    result: Any
    plan: Plan
    calls: List[Call]
    receipts: Dict[str, Any]
    cost: Cost
    timings: Timings
    synthesis: Synthesis
    provenance: Optional[Dict[str, Any]] = None
    evidence: Optional[List[Dict[str, Any]]] = None
    skipped_tasks: List[SkippedTask]
    ledger_version: int
    ledger_basis: str
    payment: Optional[Payment] = None
    replayed: bool = False
    raw: Dict[str, Any]
