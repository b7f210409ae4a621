# pytester's in-process runs remove modules first imported inside them; re-importing torch
# in one process crashes it. Import the heavy modules here, once, outside those runs.
import torch  # noqa: F401
import transformer_lens.model_bridge  # noqa: F401
import transformers  # noqa: F401

import neurospec.claims.expect  # noqa: F401
import neurospec.models.bridge  # noqa: F401
import neurospec.models.loading  # noqa: F401
import neurospec.report.html  # noqa: F401
