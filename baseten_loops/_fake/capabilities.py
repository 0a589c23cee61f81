"""The models Loops can train: ``/v1/loops/capabilities`` (private)."""

from __future__ import annotations

from ._checks import Call, Field
from ._routing import Answer, Route
from ._state import FakeState


def list_capabilities(state: FakeState, call: Call) -> Answer:
    wanted, seq_len = call.query["model"], call.query["max_seq_len"]
    models = []
    for model in state.capabilities:
        if wanted is not None and model["model_name"] != wanted:
            continue
        if seq_len is not None and seq_len > model.get("max_enabled_seq_len", 0):
            model = {
                **model,
                "enabled": False,
                "enablement_details": {
                    "reason": "sequence_length_unsupported",
                    "reason_detail": f"{model['model_name']} cannot train at {seq_len}",
                    "remediation": "Lower max_seq_len or contact Baseten support.",
                },
            }
        models.append(model)
    return {"supported_models": models}


ROUTES = (
    Route(
        "GET",
        "/v1/loops/capabilities",
        "get_loops_capabilities",
        list_capabilities,
        query=(
            Field("model"),
            Field("use_case", choices=("rl", "sft")),
            Field("max_seq_len", int, minimum=1),
        ),
    ),
)
