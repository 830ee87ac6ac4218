"""Word vectors: train Word2Vec/FastText, read pretrained files, start embeddings from them.

``store`` (the :class:`~seqlab.vectors.store.WordVectors` table and its neighbours and
analogies), ``files`` (reading and writing vector files), ``training`` (gensim) and
``embedding`` (a model's start matrix and its coverage report).
"""
