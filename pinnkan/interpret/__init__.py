"""Looking inside a trained KAN: its edge functions, pruning, and symbolic formulas."""
