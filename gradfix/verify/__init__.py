"""The verifier: run the original and the rewritten code, compare forward values and gradients."""
