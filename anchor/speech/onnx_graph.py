"""ONNX graph surgery the voices share: exposing an inner tensor (the token durations) as an output."""

from __future__ import annotations

from typing import Any

from anchor.errors import BackendError


def with_output(graph: Any, tensor: str, missing: str) -> bytes:
    """`graph` (an onnx ModelProto) serialised with `tensor` added as a graph output; BackendError
    `missing` if no node produces it."""
    import onnx

    if tensor not in {o for n in graph.graph.node for o in n.output}:
        raise BackendError(missing)
    graph.graph.output.append(onnx.ValueInfoProto(name=tensor))
    return bytes(graph.SerializeToString())
