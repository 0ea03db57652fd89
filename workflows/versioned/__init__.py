"""The workflows as a versioned worker registers them: each the product class, declaring the
versioning behaviour its contract gives it (`VERSIONING`: pinned or auto-upgrade). One small
module per process, so that a run's sandbox imports only its own workflow
(`workflows.registry` says why there are two lists)."""
