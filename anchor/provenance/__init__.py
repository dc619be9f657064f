"""Provenance: signed outputs (C2PA), the pixel watermark, `verify`, the content policy, the as-run record.

A stage between studio and streaming plus its tools. Modules: keys (local CA, signer, watermark
key), c2pa_sign (manifests, signing, the Mp4Sink finalize hook), payload + watermark (embed and
detect), verify (one verdict), policy + gate (the content policy and the speech backstop), asrun
(the signed, hash-chained log), sinks (watermarking sink, air-check recorder), index (content
numbers back to content ids), house (all of it built from `ProvenanceSettings`).
"""
