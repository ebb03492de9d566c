"""Causal Organism's own library: domain, adapters, services and platform concerns."""
