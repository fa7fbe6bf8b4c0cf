"""What a decision-time search asks of a model: the model protocol (``models.protocol``).

Searches call ``model_known``, ``model_sample`` (rollouts, MCTS) and ``model_width`` /
``model_outcome`` (lookahead) on any registered model type: the env's exact ``TabularModel``,
a learned ``SampleModel`` or ``DistributionModel``, or a user's own (``register_model``).

Unknown pairs of a learned model are not simulated: planners value them with the agent's
action-value table, ``q[s, a]`` (its initial value ``q_init`` until the agent learns
otherwise; an optimistic ``q_init`` makes search seek unknown pairs).
"""

from __future__ import annotations

from typing import Any

from dynaplan.models.protocol import check_model as _check
from dynaplan.models.protocol import model_known, model_outcome, model_sample, model_sizes, model_width

__all__ = ["check_model", "model_known", "model_outcome", "model_sample", "model_sizes", "model_width"]


def check_model(model: Any, *, expected: bool = False) -> None:
    """ValueError unless ``model`` is a registered model type (with outcome slots if ``expected``)."""
    _check(model, needs=("outcome",) if expected else (), what="a search")
