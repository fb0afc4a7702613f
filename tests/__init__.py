"""Tests for Espresso Maintenance."""
