FAST: list = []
SLOW: list = []
