"""Corpora, prompt sets and their tokenisation."""

from neurospec.data.corpus import Corpus, load_corpus

__all__ = ["Corpus", "load_corpus"]
