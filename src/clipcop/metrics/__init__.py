"""Metrics as plain functions over arrays: retrieval top-k, classification, question answering."""
