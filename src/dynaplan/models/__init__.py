"""What agents learn of their world, and the protocol every model answers to.

``models.protocol`` is the model protocol (``register_model``; the generic ``model_sample``,
``model_backup``... that planners call, also in ``dynaplan.extend``); ``SampleModel`` and
``DistributionModel`` are the learned models, the env's ``TabularModel`` the exact one, all
three registered with it.
"""

from dynaplan.models.distribution import (
    DistributionModel,
    distribution_model_update,
    expected_target,
    new_distribution_model,
    sample_observed_pair_dist,
    to_tabular,
)
from dynaplan.models.protocol import MODELS, register_model
from dynaplan.models.sample import (
    SampleModel,
    new_sample_model,
    predecessors,
    sample_model_update,
    sample_observed_pair,
)

__all__ = [
    "MODELS",
    "DistributionModel",
    "SampleModel",
    "distribution_model_update",
    "expected_target",
    "new_distribution_model",
    "new_sample_model",
    "predecessors",
    "register_model",
    "sample_model_update",
    "sample_observed_pair",
    "sample_observed_pair_dist",
    "to_tabular",
]
