"""Answers: hybrid retrieval, the learnt answer decision, the composed answer, the optional language model."""
