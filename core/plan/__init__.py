"""The plan stage: what a tier asks to train. ``specs`` expands innovations × arms ×
budgets × sizes × seeds into run specs; ``tuning`` plans each recipe's learning-rate
sweep and chooses its rate."""
