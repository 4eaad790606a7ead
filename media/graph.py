"""The FFmpeg command as ffmpeg-python's node graph.

Stream labels are allocated by the graph and every filter argument is escaped in one place
(ffmpeg-python's FilterNode escapes each option for the option parser, then the whole filter for
the graph parser), so keyframe expressions full of commas and parentheses, font paths and
colours reach FFmpeg as the values they are. Source filters (`color`) have no input; ffmpeg-python
only knows filters with inputs, so `source` adds a FilterNode that takes none.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import ffmpeg
from ffmpeg._run import _get_filter_arg, _get_input_args, _get_output_args, topo_sort
from ffmpeg._utils import get_hash_int
from ffmpeg.nodes import FilterableStream, FilterNode, InputNode, Node, get_stream_spec_nodes

Stream = Any  # an ffmpeg-python FilterableStream: ffmpeg-python ships no type hints


@dataclass(frozen=True)
class Filter:
    """One filter of a chain: its name, positional arguments and named options."""

    name: str
    args: tuple[object, ...] = ()
    options: dict[str, object] = field(default_factory=dict)


def f(name: str, *args: object, **options: object) -> Filter:
    return Filter(name, args, options)


class _SourceNode(FilterNode):
    def __init__(self, name: str, options: dict[str, object]) -> None:
        Node.__init__(
            self,
            stream_spec=None,
            name=name,
            incoming_stream_types={FilterableStream},
            outgoing_stream_type=FilterableStream,
            min_inputs=0,
            max_inputs=0,
            args=[],
            kwargs=options,
        )


_serial = itertools.count()


def _distinct(node: Any) -> Any:
    """ffmpeg-python merges nodes of equal content (two text canvases of one size, one file
    opened for two elements) into one, which then feeds two filters without a split. Sources
    and inputs are things of their own: each gets a hash no other node has."""
    node._KwargReprNode__hash = get_hash_int([hash(node), next(_serial)])
    return node


def source(name: str, **options: object) -> Stream:
    """A source filter's output stream (`color=c=...:s=...`), inside the filter graph."""
    return _distinct(_SourceNode(name, options)).stream()


def chain(stream: Stream, filters: list[Filter]) -> Stream:
    for item in filters:
        stream = stream.filter(item.name, *item.args, **item.options)
    return stream


def join(streams: list[Stream], name: str, **options: object) -> Stream:
    """A filter with several inputs (overlay, xfade, amix, sidechaincompress)."""
    return ffmpeg.filter(streams, name, **options)


def split(stream: Stream, count: int, *, audio: bool = False) -> list[Stream]:
    """`count` copies of a stream (ffmpeg-python sizes the split by its uses)."""
    node = stream.asplit() if audio else stream.split()
    return [node[n] for n in range(count)]


def media_input(path: str, **options: object) -> Any:
    """An input file; options are its input options (`ss`, `t`, `stream_loop`, `threads`)."""
    stream = ffmpeg.input(path, **options)
    _distinct(stream.node)
    return stream


def command(outputs: list[tuple[list[Stream], str, dict[str, object]]], global_args: list[str]) -> list[str]:
    """argv (without the binary): global options, inputs, -filter_complex, then each output.

    ffmpeg-python's own get_args fails on a graph without input files (a render of only text
    and colours), so its steps are run here with that case allowed.
    """
    nodes = [ffmpeg.output(*streams, target, **options) for streams, target, options in outputs]
    ordered, outgoing = topo_sort(get_stream_spec_nodes(nodes))
    inputs = [node for node in ordered if isinstance(node, InputNode)]
    names = {(node, None): str(n) for n, node in enumerate(inputs)}
    graph = _get_filter_arg([node for node in ordered if isinstance(node, FilterNode)], outgoing, names)
    argv = [*global_args, *(arg for node in inputs for arg in _get_input_args(node))]
    argv += ["-filter_complex", graph] if graph else []
    argv += [arg for node in nodes for arg in _get_output_args(node.node, names)]  # in the order given
    return argv
