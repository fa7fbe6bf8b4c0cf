"""What agents learn of their world: tabular models with the same shape as exact ones."""

from dynaplan.models.sample import (
    SampleModel,
    new_sample_model,
    predecessors,
    sample_model_update,
    sample_observed_pair,
)

__all__ = [
    "SampleModel",
    "new_sample_model",
    "predecessors",
    "sample_model_update",
    "sample_observed_pair",
]
