"""Publishing a promotion's prices to the sales channels (ERP, POS, e-commerce, marketplace).

`contract` holds the workflow types, ids, messages and activity specs; `prices` the one
price-line type; `rules` batching, keys and merging; `batch` the per-target progress of one
batch workflow.
"""
