"""Pure measurement functions on a loaded model (no pytest, no reports)."""

from neurospec.measure.ablation import Ablation, AblationEffect, ablation_effect, make_ablation
from neurospec.measure.activations import NeuronActivations, layer_activations, neuron_activations

__all__ = ["Ablation", "AblationEffect", "NeuronActivations", "ablation_effect",
           "layer_activations", "make_ablation", "neuron_activations"]
