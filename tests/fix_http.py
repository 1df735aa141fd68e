"""HTTP fixtures (placeholder until the vendor clients land)."""
