"""The approvals inbox: a small web app where approvers log in, see what waits for one of
their roles (promotions, returns, rebalancing plans, from Temporal visibility), read what
they decide on and approve or reject it. Each decision is signed by the inbox's issuer key
(`demo-inbox` in the embedded stack), vouching for the person logged in.

    python -m inbox          # RETAIL_INBOX_PORT (8302), RETAIL_HOST, RETAIL_INBOX_KEY, ...

See `inbox.config` for every setting: local accounts (`inbox.accounts`) and, for
production, OpenID Connect (`inbox.oidc`).
"""
