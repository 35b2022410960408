"""The index: embeddings, BM25 and vectors, the ``Index`` protocol and its in-memory implementation,
building, and the versions kept in folders or in PostgreSQL."""
