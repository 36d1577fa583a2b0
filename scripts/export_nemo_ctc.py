#!/usr/bin/env python3
"""Export a NeMo CTC model (or the CTC head of a hybrid RNNT/TDT-CTC model) for streamsx-stt's OnnxSTT.

NOT RUNNABLE IN THIS REPOSITORY'S TEST ENVIRONMENT: it needs NeMo (pip install "nemo_toolkit[asr]") and
the model (a .nemo file, or a name NeMo downloads). Run it where NeMo is installed:

    python3 scripts/export_nemo_ctc.py --model stt_en_fastconformer_hybrid_large_streaming_80ms --out my-model/
    python3 scripts/export_nemo_ctc.py --model path/to/model.nemo --out my-model/ --offline

It writes my-model/model.onnx and my-model/tokens.txt as sherpa-onnx's NeMo scripts do, so the folder
works with `--model my-model` (sample), `model: my-model/model.onnx` (graphs) and sherpa-onnx alike:

  * streaming (default, cache-aware encoders): cache support on, the CTC head, and the metadata OnnxSTT
    reads: window_size = chunk_size + pre_encode_cache_size, chunk_shift = chunk_size (mel frames, from the
    encoder's streaming_cfg), cache_last_channel_dim1..3 = layers, last_channel_cache_size, d_model,
    cache_last_time_dim1..3 = layers, d_model, conv_context_size[0], plus normalize_type,
    subsampling_factor, vocab_size, feat_dim;
  * --offline: the whole-utterance export (no caches), with normalize_type, subsampling_factor, vocab_size
    and feat_dim;
  * tokens.txt: "<piece> <id>" per line, the blank last as "<blk> <vocab size>" (NeMo's CTC blank id).
  * --int8 also writes model.int8.onnx (dynamic int8 weights, onnxruntime.quantization).
"""
import argparse
import os

import onnx


def add_metadata(path, metadata):
    model = onnx.load(path)
    del model.metadata_props[:]
    for key, value in metadata.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, str(value)
    onnx.save(model, path)


def second_if_list(value):
    """streaming_cfg values are [first chunk, later chunks] or one number; the later chunks' value counts."""
    return value[1] if isinstance(value, (list, tuple)) else value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a .nemo file or a NeMo pretrained model name")
    parser.add_argument("--out", required=True, help="folder to write model.onnx and tokens.txt into")
    parser.add_argument("--offline", action="store_true", help="whole-utterance export (no cache inputs)")
    parser.add_argument("--int8", action="store_true", help="also write model.int8.onnx")
    args = parser.parse_args()

    import torch
    import nemo.collections.asr as nemo_asr

    if args.model.endswith(".nemo"):
        model = nemo_asr.models.ASRModel.restore_from(args.model, map_location="cpu")
    else:
        model = nemo_asr.models.ASRModel.from_pretrained(model_name=args.model, map_location="cpu")
    model.eval()
    os.makedirs(args.out, exist_ok=True)

    hybrid = hasattr(model, "ctc_decoder")
    ctc = model.ctc_decoder if hybrid else model.decoder
    if hybrid:
        # The CTC head of a hybrid RNNT/TDT-CTC model; without this NeMo exports the encoder only.
        model.change_decoding_strategy(decoder_type="ctc")
    vocabulary = list(ctc.vocabulary)
    with open(os.path.join(args.out, "tokens.txt"), "w", encoding="utf-8") as f:
        for i, piece in enumerate(vocabulary):
            f.write(f"{piece} {i}\n")
        f.write(f"<blk> {len(vocabulary)}\n")

    config = {"decoder_type": "ctc"} if hybrid else {}
    encoder = model.encoder
    metadata = {
        "vocab_size": len(vocabulary),
        "normalize_type": "" if model.cfg.preprocessor.normalize == "NA" else model.cfg.preprocessor.normalize,
        "subsampling_factor": model.cfg.encoder.get("subsampling_factor", 8),
        "feat_dim": model.cfg.preprocessor.features,
        "model_type": type(model).__name__,
        "model_author": "NeMo",
        "version": "1",
        "comment": f"exported by streamsx-stt scripts/export_nemo_ctc.py from {os.path.basename(args.model)}"
        + (" (CTC head)" if hybrid else ""),
    }
    if not args.offline:
        if getattr(encoder, "streaming_cfg", None) is None:
            encoder.setup_streaming_params()
        cfg = encoder.streaming_cfg
        chunk = second_if_list(cfg.chunk_size)
        layers = len(encoder.layers)
        metadata.update({
            "window_size": chunk + second_if_list(cfg.pre_encode_cache_size),
            "chunk_shift": chunk,
            "cache_last_channel_dim1": layers,
            "cache_last_channel_dim2": cfg.last_channel_cache_size,
            "cache_last_channel_dim3": encoder.d_model,
            "cache_last_time_dim1": layers,
            "cache_last_time_dim2": encoder.d_model,
            "cache_last_time_dim3": encoder.conv_context_size[0],
        })
        config["cache_support"] = True
    if config:
        model.set_export_config(config)

    path = os.path.join(args.out, "model.onnx")
    with torch.no_grad():
        model.export(path)
    add_metadata(path, metadata)
    if args.int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(model_input=path, model_output=os.path.join(args.out, "model.int8.onnx"), weight_type=QuantType.QUInt8)
    print(f"wrote {args.out}: model.onnx, tokens.txt ({len(vocabulary)} pieces + blank); metadata {metadata}")


if __name__ == "__main__":
    main()
