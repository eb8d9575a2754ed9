"""The flow-matching transformer and the tensor side of its conditioners."""
from .conditioners import ConditionInputs, ConditionProvider, ConditionTensors, concat_inputs, null_inputs
from .build import build_model
from .config import ModelConfig
from .flow_matching import FlowMatchingModel, PreparedConditions

__all__ = ["ConditionInputs", "ConditionProvider", "ConditionTensors", "FlowMatchingModel", "ModelConfig",
           "PreparedConditions", "build_model", "concat_inputs", "null_inputs"]
