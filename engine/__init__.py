"""The numerical core: market rules, volatility models, the path simulator, the optimiser and
risk measures. Pure and fast: no files, no printing, and no imports from the other packages."""
