"""What agents learn of their world: tabular models with the same shape as exact ones."""

from dynaplan.models.distribution import (
    DistributionModel,
    distribution_model_update,
    expected_target,
    new_distribution_model,
    to_tabular,
)
from dynaplan.models.sample import (
    SampleModel,
    new_sample_model,
    predecessors,
    sample_model_update,
    sample_observed_pair,
)

__all__ = [
    "DistributionModel",
    "SampleModel",
    "distribution_model_update",
    "expected_target",
    "new_distribution_model",
    "new_sample_model",
    "predecessors",
    "sample_model_update",
    "sample_observed_pair",
    "to_tabular",
]
