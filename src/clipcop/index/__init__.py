"""FAISS indexes over L2-normalised features: cosine similarity by inner product (Sec. IV-B)."""
