"""Typed httpx clients, one per external system (ERP, POS, WMS, channels, store tasks, fraud)."""
