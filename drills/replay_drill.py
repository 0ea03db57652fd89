FAST: list = []
