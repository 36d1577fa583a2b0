"""Dynamic int8 quantisation of the exported model's MatMul weights (what onnxruntime's quantize_dynamic
does, written out here because Debian ships no Python onnxruntime): each MatMul whose weight is a
constant becomes DynamicQuantizeLinear(activations, uint8, per tensor, at run time) -> MatMulInteger
with int8 weights (symmetric, one scale per output column) -> Cast -> Mul by the scales; onnxruntime fuses
the pattern into its DynamicQuantizeMatMul kernel. Convolutions, norms and the rest stay float32.
Inputs, outputs, caches and metadata are unchanged, so the toolkit runs it exactly like the float model.

    /usr/bin/python3 quantize_int8.py ../models/stt-en-char-fastconformer-ctc/model.onnx ../models/stt-en-char-fastconformer-ctc/model.int8.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize(src: str, dst: str) -> None:
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    uses = {}
    for n in g.node:
        for x in n.input:
            uses[x] = uses.get(x, 0) + 1
    new_nodes, dropped, added, count, params = [], set(), [], 0, 0
    for n in g.node:
        w_name = n.input[1] if n.op_type == "MatMul" and len(n.input) == 2 else None
        w = inits.get(w_name) if w_name else None
        if w is None or w.data_type != TensorProto.FLOAT or len(w.dims) != 2:
            new_nodes.append(n)
            continue
        W = numpy_helper.to_array(w).astype(np.float32)
        scale = np.maximum(np.abs(W).max(axis=0), 1e-12) / 127.0
        Wq = np.clip(np.round(W / scale), -127, 127).astype(np.int8)
        base = f"{n.name or n.output[0]}_q"
        added += [
            numpy_helper.from_array(Wq, f"{base}_W"),
            numpy_helper.from_array(np.zeros(W.shape[1], np.int8), f"{base}_Wzp"),
            numpy_helper.from_array(scale.astype(np.float32), f"{base}_Wscale"),
        ]
        a = n.input[0]
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [a], [f"{base}_A", f"{base}_As", f"{base}_Azp"], name=f"{base}_dq"),
            helper.make_node("MatMulInteger", [f"{base}_A", f"{base}_W", f"{base}_Azp", f"{base}_Wzp"], [f"{base}_Y32"], name=f"{base}_mm"),
            helper.make_node("Cast", [f"{base}_Y32"], [f"{base}_Yf"], to=TensorProto.FLOAT, name=f"{base}_cast"),
            helper.make_node("Mul", [f"{base}_As", f"{base}_Wscale"], [f"{base}_S"], name=f"{base}_scale"),
            helper.make_node("Mul", [f"{base}_Yf", f"{base}_S"], [n.output[0]], name=f"{base}_out"),
        ]
        uses[w_name] -= 1
        if uses[w_name] == 0:
            dropped.add(w_name)
        count += 1
        params += W.size
    del g.node[:]
    g.node.extend(new_nodes)
    keep = [i for i in g.initializer if i.name not in dropped]
    del g.initializer[:]
    g.initializer.extend(keep + added)
    meta = {p.key: p for p in m.metadata_props}
    note = f"int8 dynamic quantisation of {count} MatMul weights ({params} parameters), training/quantize_int8.py"
    if "comment" in meta:
        meta["comment"].value = f"{meta['comment'].value}; {note}"
    else:
        m.metadata_props.append(helper.make_string_string_entry_proto("comment", note) if hasattr(helper, "make_string_string_entry_proto") else onnx.StringStringEntryProto(key="comment", value=note))
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    print(f"{dst}: {count} MatMuls quantised ({params} weights to int8)")


if __name__ == "__main__":
    quantize(sys.argv[1], sys.argv[2])
